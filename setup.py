"""Build hook: copy ``resources/`` and the bundled ``models/`` into the package as data.

All metadata lives in pyproject.toml; this file only extends ``build_py`` so that a wheel
(``pip install .``) carries ``ganpaint/data/resources`` and ``ganpaint/data/models``.
"""

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
        for name in ("resources", "models"):
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
