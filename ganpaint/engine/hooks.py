"""One small hooking abstraction over ``register_forward_hook``.

:class:`Trace` captures a module's output, replaces it through an edit function, and can stop
the forward pass right after it; hooks are removed when the ``with`` block exits, also on
error. :func:`layer_shapes` discovers every block's output shape from one forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

EditFn = Callable[[torch.Tensor], torch.Tensor]


class StopForward(Exception):
    """Raised inside a hook to end the forward pass once the traced layer has run."""


class Trace:
    """Context manager hooking one named submodule of ``model``.

    * ``retain_output``: keep the (possibly edited) output in ``self.output``;
    * ``edit_output``: a function ``h -> h'`` whose result replaces the module's output;
    * ``stop``: raise :class:`StopForward` after the layer, which the ``with`` block swallows,
      so ``with Trace(g, "layer4", stop=True) as t: g(z)`` computes only up to layer4.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: str,
        retain_output: bool = True,
        edit_output: EditFn | None = None,
        stop: bool = False,
        detach: bool = True,
    ):
        try:
            module = model.get_submodule(layer)
        except AttributeError:
            raise KeyError(f"model has no layer {layer!r}") from None
        self.layer = layer
        self.output: torch.Tensor | None = None
        self._retain = retain_output
        self._edit = edit_output
        self._stop = stop
        self._detach = detach
        self._handle = module.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor):
        if self._edit is not None:
            output = self._edit(output)
        if self._retain:
            self.output = output.detach() if self._detach else output
        if self._stop:
            raise StopForward
        return output

    def close(self) -> None:
        self._handle.remove()

    def __enter__(self) -> Trace:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close()
        return exc_type is not None and issubclass(exc_type, StopForward)


class TraceDict(dict):
    """Several :class:`Trace` objects at once, keyed by layer name; ``stop`` applies to the
    last layer of the forward order given by ``layers``."""

    def __init__(
        self,
        model: nn.Module,
        layers: Iterable[str],
        retain_output: bool = True,
        edit_output: Callable[[torch.Tensor, str], torch.Tensor] | None = None,
        stop: bool = False,
    ):
        super().__init__()
        layers = list(layers)
        try:
            for i, name in enumerate(layers):
                edit = None
                if edit_output is not None:
                    edit = _bind_layer(edit_output, name)
                self[name] = Trace(
                    model, name, retain_output, edit, stop=stop and i == len(layers) - 1
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for t in self.values():
            t.close()

    def __enter__(self) -> TraceDict:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.close()
        return exc_type is not None and issubclass(exc_type, StopForward)


def _bind_layer(fn: Callable[[torch.Tensor, str], torch.Tensor], name: str) -> EditFn:
    return lambda h: fn(h, name)


def layer_shapes(model: nn.Module, example: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Output shape (without batch) of every direct child of ``model``, in forward order,
    from one instrumented forward pass on ``example``."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, child in model.named_children():
        handles.append(
            child.register_forward_hook(
                lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:]))
            )
        )
    try:
        with torch.inference_mode():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return shapes
