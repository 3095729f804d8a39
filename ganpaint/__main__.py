"""Entry point for ``python -m ganpaint``."""

import sys

from ganpaint.main import main

if __name__ == "__main__":
    sys.exit(main())
