"""`python -m pipeline`: the command line, usable without `dagger call`."""

from __future__ import annotations

import sys

from pipeline.cli import main

if __name__ == "__main__":
    sys.exit(main())
