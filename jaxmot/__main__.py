"""`python -m jaxmot PROGRAM ARGS`: the `jaxmot` command (jaxmot.cli)."""

import sys

from jaxmot.cli import main

if __name__ == "__main__":
    sys.exit(main())
