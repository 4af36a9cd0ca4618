"""``python -m photo3d.train CONFIG.yml``."""
import sys

from .cli import main

sys.exit(main())
