"""Entry point for ``python -m ganpaint``."""

import sys

from ganpaint.cli import main

sys.exit(main())
