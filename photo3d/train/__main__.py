"""``python -m photo3d.train CONFIG.yml``."""
import sys

from .command import main

sys.exit(main())
