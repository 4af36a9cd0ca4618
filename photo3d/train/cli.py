"""``photo3d train CONFIG.yml`` / ``python -m photo3d.train CONFIG.yml``: train (or resume)
the networks of a run; ``--export DIR`` writes the finished networks as shipped weights."""
from __future__ import annotations

import argparse
import logging
import sys

from .stages import Photo3DError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="photo3d train", description=__doc__)
    p.add_argument("config", help="training config (YAML), e.g. photo3d/train/recipes/cpu.yml")
    p.add_argument("--only", default="", help="comma-separated kinds to train (default: all in the config)")
    p.add_argument("--export", metavar="DIR", help="after training, write finished nets to DIR (safetensors + yml)")
    p.add_argument("--export-only", action="store_true", help="do not train; export what is finished")
    p.add_argument("--partial", action="store_true", help="export unfinished nets from their last checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (2 with a one-line message on bad input)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        from .config import load_train_config
        from .loop import train

        config = load_train_config(args.config)
        kinds = [k for k in args.only.split(",") if k] or None
        if not args.export_only:
            for r in train(config, kinds, progress=not args.quiet):
                print(f"{r.kind}: {r.steps} steps, loss {r.final_loss:.4f}, {r.seconds / 60:.1f} min -> {r.folder}")
        if args.export or args.export_only:
            from .shipped import export_run

            for path in export_run(config, args.export or "checkpoints", kinds, args.partial):
                print(f"wrote {path}")
    except Photo3DError as exc:
        print(f"photo3d: error: {exc}", file=sys.stderr)
        return 2
    return 0
