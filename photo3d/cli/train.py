"""``photo3d train CONFIG.yml``: train (or resume) photo3d's own inpainting networks from one
recipe, and export them as shipped weights (see :mod:`photo3d.train`)."""
from __future__ import annotations

import argparse


def main(argv: list[str]) -> int:
    from ..train.command import Options, run

    ap = argparse.ArgumentParser(prog="photo3d train", description=__doc__.splitlines()[0])
    ap.add_argument("config", help="training recipe (YAML), e.g. photo3d/train/recipes/cpu.yml")
    ap.add_argument("--only", default="", help="comma-separated networks to train: edge, depth, color (default all)")
    ap.add_argument("--export", metavar="DIR", help="after training, write the finished networks to DIR")
    ap.add_argument("--export-only", action="store_true", help="export only (no training)")
    ap.add_argument("--partial", action="store_true", help="export unfinished networks from their last checkpoint")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--calibrate", action="store_true",
                    help="after exporting, calibrate the edge threshold and the edge hand-over on validation data")
    args = ap.parse_args(argv)
    run(Options(args.config, [k for k in args.only.split(",") if k], args.export, args.export_only, args.partial,
                args.quiet, args.calibrate))
    return 0
