"""Sharding dissection over processes started by ``torchrun``: the process group helpers live
in :mod:`ganpaint.core.distributed` (GAN training uses them too) and are named here for the
dissection modules."""

from ganpaint.core.distributed import Dist, State, init_from_env, local_device, shard

__all__ = ["Dist", "State", "init_from_env", "local_device", "shard"]
