"""Entry point for ``python -m ganpaint``."""

import sys

from ganpaint.cli import main

if __name__ == "__main__":
    sys.exit(main())
