"""Safe checkpoint I/O for ProGAN generators in the official GAN Dissection layout.

Files are read only through safetensors or ``torch.load(..., weights_only=True)``: a pickle
that would run code is refused before anything in it runs. Keys may use the current naming
(``layer1.conv.weight``, ``output_256x256.wscale.b``) or the older one (``features.0.*``,
``output.*``), optionally wrapped as ``{"state_dict": ...}`` or prefixed with ``module.``.
Every width and the resolution are read from the weights. Any problem raises
:class:`~ganpaint.core.errors.CheckpointError` naming the file and the key.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganpaint.core.errors import CheckpointError
from ganpaint.models.progan import ProGANGenerator
from ganpaint.models.sniff import ZIP_MAGIC, describe_content, looks_like_torch

# safetensors headers of real generators are a few KB; a larger one is hostile or not ours.
MAX_HEADER_BYTES = 16 * 1024 * 1024
# 1024 px ProGAN with 512-wide stages is about 23 M parameters; allow generous headroom.
MAX_TENSOR_ELEMENTS = 200_000_000
# ... and for all of them together (the generator module is built at this size).
MAX_TOTAL_ELEMENTS = MAX_TENSOR_ELEMENTS
SAFETENSORS_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
# Tensor dtypes a checkpoint may hold (float8 and the rest cannot be checked or widened).
WEIGHT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
# Layer numbers are bounded in the patterns: int() of a 5000-digit name raises ValueError.
_LAYER_KEY = re.compile(r"^layer(\d{1,4})\.(conv\.weight|wscale\.b)$")
_OUTPUT_KEY = re.compile(r"^output(?:_(\d{1,5})x(\d{1,5}))?\.(conv\.weight|wscale\.b)$")
_FEATURES_KEY = re.compile(r"^features\.(\d{1,4})\.(.+)$")
NOT_A_CHECKPOINT = "not a PyTorch checkpoint or safetensors file"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a tensor dictionary from ``.safetensors`` or ``.pth``/``.pt``, safely, on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    with path.open("rb") as f:
        head = f.read(64)
    if not head:
        raise CheckpointError(f"{path}: {NOT_A_CHECKPOINT} (the file is empty)")
    if path.suffix == ".safetensors" or _looks_like_safetensors(path, head[:8]):
        return _read_safetensors(path)  # which says why, when it is not one
    if looks_like_torch(head):
        return _read_pickle(path)
    raise CheckpointError(f"{path}: {NOT_A_CHECKPOINT} ({describe_content(head)})")


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    if len(head) < 8:
        return False
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER_BYTES or n + 8 > path.stat().st_size:
        return False
    with path.open("rb") as f:
        f.seek(8)
        return f.read(1) == b"{"


def _impossible_header(head: bytes, n: int, size: int) -> str:
    """Why a header length ``n`` read from the first 8 bytes cannot be: what the file is."""
    if looks_like_torch(head):
        return "not a safetensors file (it is a PyTorch checkpoint)"
    if head[8:9] == b"{" and n + 8 > size:
        return f"a truncated safetensors file (its header needs {n} bytes, the file has {size})"
    return f"not a safetensors file ({describe_content(head)})"


def check_safetensors_header(path: Path) -> dict:
    """Parse and validate a safetensors header before any tensor is read.

    Refuses a header that is oversized, not JSON, declares unknown dtypes, absurd shapes, or
    byte ranges that lie outside the file or disagree with the declared shape.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            what = describe_content(raw) if raw else "the file is empty"
            raise CheckpointError(f"{path}: not a safetensors file ({what})")
        (n,) = struct.unpack("<Q", raw)
        if n > MAX_HEADER_BYTES or n + 8 > size:
            raise CheckpointError(f"{path}: {_impossible_header(raw + f.read(56), n, size)}")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, ValueError, RecursionError):
            # ValueError: also a number of more than 4300 digits; RecursionError: deep nesting
            raise CheckpointError(
                f"{path}: a safetensors file with a broken header (not JSON)"
            ) from None
    if not isinstance(header, dict):
        raise CheckpointError(
            f"{path}: a safetensors file with a broken header (not a JSON object)"
        )
    data_size = size - 8 - n
    end = 0
    for key, info in header.items():
        if key != "__metadata__":
            _check_header_entry(path, key, info, data_size)
            end = max(end, info["data_offsets"][1])
    if end < data_size:  # safetensors itself says "incomplete metadata, file not fully covered"
        raise CheckpointError(
            f"{path}: a damaged safetensors file ({data_size - end} bytes after its last "
            "tensor that no tensor claims)"
        )
    return header


def _header_entry_fields(path: Path, key: str, info: Any) -> tuple[str, list[int], list[int]]:
    """(dtype, shape, data_offsets) of one header entry, each of the right type."""
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
        raise CheckpointError(f"{path}: entry {key!r} of the header is malformed")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
        raise CheckpointError(f"{path}: tensor {key!r} has unsupported dtype {dtype!r}")
    if not (
        isinstance(shape, list)
        and all(isinstance(d, int) and d >= 0 for d in shape)
        and isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) for o in offsets)
    ):
        raise CheckpointError(f"{path}: tensor {key!r} has a malformed shape or offsets")
    return dtype, shape, offsets


def _check_header_entry(path: Path, key: str, info: Any, data_size: int) -> None:
    """Refuse an entry that is malformed, too large, or whose bytes lie outside the data or
    disagree with its shape and dtype."""
    dtype, shape, offsets = _header_entry_fields(path, key, info)
    elements = math.prod(shape)
    if elements > MAX_TENSOR_ELEMENTS:
        raise CheckpointError(f"{path}: tensor {key!r} declares {elements} elements")
    start, end = offsets
    if 0 <= start <= end and end > data_size:
        raise CheckpointError(
            f"{path}: a truncated safetensors file (tensor {key!r} needs {end} bytes of "
            f"data, the file holds {data_size})"
        )
    if not 0 <= start <= end <= data_size or end - start != elements * SAFETENSORS_DTYPES[dtype]:
        raise CheckpointError(f"{path}: tensor {key!r} has byte range {offsets} that lies")


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_safetensors_header(path)
    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None


def _check_torch_archive(path: Path) -> None:
    """Refuse a torch zip archive that is damaged, TorchScript, or has compressed records."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except Exception:  # noqa: BLE001 - zipfile raises many types on a bad archive
        raise CheckpointError(
            f"{path}: a truncated or damaged PyTorch checkpoint (its zip archive is broken)"
        ) from None
    names = [i.filename for i in infos]
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        raise CheckpointError(
            f"{path}: a TorchScript archive, not a state dict; save the weights instead"
        )
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
        # torch.save stores records uncompressed; a compressed one can inflate a small
        # file into gigabytes of tensor data (a zip bomb).
        raise CheckpointError(f"{path}: compressed records (torch.save writes none)")


def _read_pickle(path: Path) -> dict[str, torch.Tensor]:
    with path.open("rb") as f:
        magic = f.read(4)
    if magic == ZIP_MAGIC or zipfile.is_zipfile(path):
        _check_torch_archive(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is the file's fault
        raise CheckpointError(f"{path}: cannot read checkpoint: {_pickle_problem(exc)}") from None
    return _named_tensors(path, obj)


def _pickle_problem(exc: BaseException) -> str:
    """What a failed ``torch.load`` says about the file, without Python's own words."""
    text = str(exc)
    if "weights_only" in text or "Unsupported global" in text:
        return "it contains objects other than tensors (refused: loading could run code)"
    if isinstance(exc, EOFError) or "truncated" in text or "ran out of input" in text.lower():
        return "a truncated PyTorch checkpoint (the file ends too early)"
    return "a damaged PyTorch checkpoint (its data cannot be unpickled)"


def _named_tensors(path: Path, obj: Any) -> dict[str, torch.Tensor]:
    """The loaded object (or its ``state_dict`` entry) as a dict of name -> tensor."""
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a dictionary of tensors")
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: entry {key!r} is not a named tensor")
        out[key] = value
    return out


def normalize_keys(state: Mapping[str, torch.Tensor], source: str = "") -> dict[str, torch.Tensor]:
    """Map older ``features.N.*``/``output.*`` and ``module.``-prefixed names to ``layerN.*``."""
    prefix = f"{source}: " if source else ""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        new = key[len("module.") :] if key.startswith("module.") else key
        m = _FEATURES_KEY.match(new)
        if m:
            new = f"layer{int(m.group(1)) + 1}.{m.group(2)}"
        if new in out:
            raise CheckpointError(f"{prefix}key {key!r} duplicates {new!r}")
        out[new] = value
    return out


def infer_widths(state: Mapping[str, torch.Tensor], source: str = "") -> tuple[list[int], int]:
    """Stage widths and z size of a normalized ProGAN state dict, checking every shape."""
    prefix = f"{source}: " if source else ""
    layers, output_keys = _group_keys(state, prefix)
    count = _layer_count(layers, prefix)
    stages = count // 2
    if not 2 <= stages <= 9:
        raise CheckpointError(f"{prefix}{stages} stages (layer1..layer{count}): need 8..1024 px")
    _check_output_keys(output_keys, 4 * 2 ** (stages - 1), count, prefix)
    widths, z_dim = _stage_widths(state, stages, prefix)
    _expect_shape(state, output_keys["conv.weight"], (3, widths[-1], 1, 1), prefix)
    _expect_shape(state, output_keys["wscale.b"], (3,), prefix)
    return widths, z_dim


def _group_keys(
    state: Mapping[str, torch.Tensor], prefix: str
) -> tuple[dict[int, set[str]], dict[str, str]]:
    """The parts present per block number (``layerN.<part>``) and the output block's keys by
    part; any other key is refused."""
    layers: dict[int, set[str]] = {}
    output_keys: dict[str, str] = {}
    for key in state:
        m = _LAYER_KEY.match(key)
        if m:
            layers.setdefault(int(m.group(1)), set()).add(m.group(2))
            continue
        m = _OUTPUT_KEY.match(key)
        if m:
            output_keys[m.group(3)] = key
            continue
        raise CheckpointError(f"{prefix}unexpected key {key!r}: not a ProGAN generator weight")
    return layers, output_keys


def _layer_count(layers: dict[int, set[str]], prefix: str) -> int:
    """The number of blocks (even: two per stage), each with its weight and bias."""
    if not layers:
        raise CheckpointError(f"{prefix}missing key 'layer1.conv.weight': not a ProGAN generator")
    count = max(layers)
    if count % 2:
        count += 1
    for i in range(1, count + 1):
        for part in ("conv.weight", "wscale.b"):
            if part not in layers.get(i, set()):
                raise CheckpointError(f"{prefix}missing key 'layer{i}.{part}'")
    return count


def _check_output_keys(
    output_keys: dict[str, str], resolution: int, count: int, prefix: str
) -> None:
    """The output block is present, and its name (if sized) matches the blocks' resolution."""
    for part in ("conv.weight", "wscale.b"):
        if part not in output_keys:
            raise CheckpointError(f"{prefix}missing key 'output_{resolution}x{resolution}.{part}'")
        m = _OUTPUT_KEY.match(output_keys[part])
        if m and m.group(1) and (int(m.group(1)), int(m.group(2))) != (resolution, resolution):
            raise CheckpointError(
                f"{prefix}key {output_keys[part]!r} does not match the {resolution} px "
                f"implied by {count} layers"
            )


def _expect_shape(
    state: Mapping[str, torch.Tensor], key: str, shape: tuple[int, ...], prefix: str
) -> None:
    got = tuple(state[key].shape)
    if got != shape:
        raise CheckpointError(f"{prefix}key {key!r} has shape {got}, expected {shape}")


def _stage_widths(
    state: Mapping[str, torch.Tensor], stages: int, prefix: str
) -> tuple[list[int], int]:
    """Each stage's width and the z size, from the first block of each stage; every block's
    weight and bias shape checked against them."""
    w1 = state["layer1.conv.weight"]
    if w1.dim() != 4:
        raise CheckpointError(f"{prefix}key 'layer1.conv.weight' has shape {tuple(w1.shape)}")
    z_dim = int(w1.shape[1])
    if z_dim < 1:
        raise CheckpointError(f"{prefix}key 'layer1.conv.weight' has shape {tuple(w1.shape)}")
    widths: list[int] = []
    in_ch = z_dim
    for s in range(stages):
        a, b = 2 * s + 1, 2 * s + 2
        wkey = f"layer{a}.conv.weight"
        if state[wkey].dim() != 4 or state[wkey].shape[0] < 1:
            raise CheckpointError(f"{prefix}key {wkey!r} has shape {tuple(state[wkey].shape)}")
        w = int(state[wkey].shape[0])
        k = 4 if s == 0 else 3
        _expect_shape(state, wkey, (w, in_ch, k, k), prefix)
        _expect_shape(state, f"layer{a}.wscale.b", (w,), prefix)
        _expect_shape(state, f"layer{b}.conv.weight", (w, w, 3, 3), prefix)
        _expect_shape(state, f"layer{b}.wscale.b", (w,), prefix)
        widths.append(w)
        in_ch = w
    return widths, z_dim


def generator_from_state_dict(
    state: Mapping[str, torch.Tensor], source: str = ""
) -> ProGANGenerator:
    """Build a :class:`ProGANGenerator` from a (possibly older-named) official state dict."""
    prefix = f"{source}: " if source else ""
    state = normalize_keys(state, source)
    total = 0
    for key, value in state.items():
        _check_weight(key, value, prefix)
        total += value.numel()
        if total > MAX_TOTAL_ELEMENTS:
            raise CheckpointError(f"{prefix}more than {MAX_TOTAL_ELEMENTS} weights in all")
    widths, z_dim = infer_widths(state, source)
    for key, value in state.items():
        if not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{prefix}key {key!r} holds NaN or infinite values")
    gen = ProGANGenerator(widths, z_dim=z_dim)
    out_name = gen.output_name
    renamed = {}
    for key, value in state.items():
        m = _OUTPUT_KEY.match(key)
        renamed[f"{out_name}.{m.group(3)}" if m else key] = value.detach().to(torch.float32)
    gen.load_state_dict(renamed, strict=True)
    return gen.eval().requires_grad_(False)


def _check_weight(key: str, value: Any, prefix: str) -> None:
    """Refuse a weight that is not a dense floating tensor of a supported dtype and size."""
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{prefix}key {key!r} is not a tensor")
    if not value.is_floating_point():
        raise CheckpointError(f"{prefix}key {key!r} has dtype {value.dtype}, not floating")
    if value.dtype not in WEIGHT_DTYPES:
        raise CheckpointError(f"{prefix}key {key!r} has unsupported dtype {value.dtype}")
    if value.layout != torch.strided or value.is_meta:
        raise CheckpointError(f"{prefix}key {key!r} is not a dense tensor with data")
    if value.numel() > MAX_TENSOR_ELEMENTS:
        raise CheckpointError(f"{prefix}key {key!r} has {value.numel()} elements")
    # A view larger than its storage (stride 0, overlapping strides) would make a tiny
    # file declare gigabytes of weights; real checkpoints never hold such views.
    if value.numel() * value.element_size() > value.untyped_storage().nbytes():
        raise CheckpointError(f"{prefix}key {key!r} is a view larger than its data")


def load_generator(path: str | Path) -> ProGANGenerator:
    """Open a ProGAN generator from ``.pth``, ``.safetensors`` or a model bundle folder.

    The module returns images in the [-1, 1] scale, unclamped, from z of shape (N, z_dim).
    """
    path = Path(path)
    if path.is_dir():
        candidate = path / "generator.safetensors"
        if not candidate.is_file():
            raise CheckpointError(f"{path}: a folder without generator.safetensors")
        path = candidate
    try:
        return generator_from_state_dict(read_state_dict(path), str(path))
    except CheckpointError:
        other = _other_ganpaint_network(path)
        if other is None:
            raise
        raise CheckpointError(
            f"{path}: this is a GANPaint {other} file, not a generator; open the bundle "
            "folder it belongs to (or its generator.safetensors)"
        ) from None


# The network files a bundle holds beside its generator, by the ``format`` of their
# safetensors metadata (one opened as a model gets a message naming what it is).
_OTHER_NETWORKS = {
    "ganpaint-segmenter": "segmenter",
    "ganpaint-classifier": "scene classifier",
    "ganpaint-encoder": "picture encoder",
}


def _other_ganpaint_network(path: Path) -> str | None:
    """What another GANPaint network file at ``path`` is, from its safetensors metadata, or
    None when it is not one (or not readable as one)."""
    try:
        meta = check_safetensors_header(path).get("__metadata__") or {}
    except (CheckpointError, OSError):
        return None
    return _OTHER_NETWORKS.get(meta.get("format")) if isinstance(meta, dict) else None


def save_generator(
    gen: ProGANGenerator,
    path: str | Path,
    metadata: dict | None = None,
    dtype: torch.dtype = torch.float32,
) -> None:
    """Write generator weights as safetensors in the official key layout.

    ``dtype=torch.float16`` halves the file (the loader widens to float32 again).
    """
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in gen.state_dict().items()}
    meta = {"format": "ganpaint-progan", "widths": json.dumps(list(gen.widths))}
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    save_file(state, str(path), metadata=meta)


def load_checked_state(path: Path, model: torch.nn.Module, what: str) -> torch.nn.Module:
    """Load a safetensors file into ``model`` (CPU, float32, eval mode) after checking that
    its keys are exactly the model's (``num_batches_tracked`` aside), each of the model's
    shape and free of NaN; errors name ``path`` and, for a missing weight, ``what``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None
    expected = {
        k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")
    }
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        raise CheckpointError(f"{path}: missing {what} weight {missing[0]!r}")
    if unexpected:
        raise CheckpointError(f"{path}: unexpected key {unexpected[0]!r}")
    for key, ref in expected.items():
        value = state[key]
        if tuple(value.shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{path}: key {key!r} has shape {tuple(value.shape)}, expected {tuple(ref.shape)}"
            )
        if not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{path}: key {key!r} holds NaN or infinite values")
        state[key] = value.to(torch.float32)
    model.load_state_dict(state, strict=False)
    return model.eval()


def network_config(path: Path, header: dict, fmt: str, what: str) -> tuple[dict, dict[str, Any]]:
    """The ``__metadata__`` of a network's safetensors header (format ``fmt``) and the config
    it holds as JSON text under ``config``; a :class:`CheckpointError` naming ``path`` when
    the metadata is missing, is not all text (safetensors writes only strings) or its config
    is not a JSON object. The caller checks the version and the config's fields."""
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise CheckpointError(f"{path}: not a ganpaint {what} file (no {what} metadata)")
    for key, value in meta.items():
        if not isinstance(value, str):
            raise CheckpointError(f"{path}: {what} metadata {key!r} is not text")
    try:
        cfg = json.loads(meta.get("config", ""))
    except (ValueError, RecursionError):  # ValueError: also a number of 4300+ digits
        raise CheckpointError(f"{path}: {what} config in the metadata is not JSON") from None
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{path}: {what} config in the metadata is not a JSON object")
    return meta, cfg
