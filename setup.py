"""Build hook: copy ``resources/`` and the default ``models/`` into the package as data.

All metadata lives in pyproject.toml; this file only extends ``build_py`` so that a wheel
(``pip install .``) carries ``ganpaint/data/resources`` and ``ganpaint/data/models``. Only the
model folders named in ``ganpaint/core/defaults.py`` go in (read with ``runpy``, so the build
needs none of the package's dependencies); another folder of ``models/``, such as a model
kept while it is in training, stays out.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SKIP = shutil.ignore_patterns("cache", "__pycache__", "*.tmp", ".*")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "ganpaint" / "data"
        source = ROOT / "resources"
        if source.is_dir():
            shutil.copytree(source, target / "resources", dirs_exist_ok=True, ignore=SKIP)
        defaults = runpy.run_path(str(ROOT / "ganpaint" / "core" / "defaults.py"))
        for name in defaults["shipped_models"]():
            source = ROOT / "models" / name
            if source.is_dir():
                shutil.copytree(source, target / "models" / name, dirs_exist_ok=True, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
