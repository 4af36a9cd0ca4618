#!/usr/bin/env python
"""Run photo3d from a source checkout: ``python run.py --image foo.jpg [--depth foo.png]``."""
import sys

from photo3d.cli import main

if __name__ == "__main__":
    sys.exit(main())
