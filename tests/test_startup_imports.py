"""Start-up (issue 19, item 7): nothing the GUI thread imports to build and show the window
pulls torch in; torch loads beside it (the preload thread) and on the render thread."""

from __future__ import annotations

import subprocess
import sys

BLOCK_TORCH = """
import sys
class Block:
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch imported on the GUI path")
sys.meta_path.insert(0, Block())
import ganpaint.app.views.launch, ganpaint.app.views.main_window
from ganpaint.models import dissection
from ganpaint.engine import document
print("ok")
"""


def test_window_modules_import_without_torch():
    out = subprocess.run([sys.executable, "-c", BLOCK_TORCH], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_lazy_package_exports_still_resolve():
    import ganpaint.dissect as dissect
    import ganpaint.engine as engine
    import ganpaint.models as models

    assert models.load_bundle.__name__ == "load_bundle"
    assert engine.Renderer.__name__ == "Renderer" and dissect.EvalOptions.__name__
    for package in (models, engine, dissect):
        assert all(hasattr(package, name) for name in package.__all__)
