#!/usr/bin/env python3
"""vaec-gpu's training command line; the code is the package train/vaec/."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from vaec.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
