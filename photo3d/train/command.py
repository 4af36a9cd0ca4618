"""``python -m photo3d.train CONFIG.yml [options]`` (``photo3d train`` parses the same options with
argparse in :mod:`photo3d.cli.train` and calls :func:`run`): train or resume the networks of a
run; export the finished ones.

Options: ``--only edge,depth`` (kinds to train), ``--export DIR`` (after training, write the
finished networks to DIR as shipped weights), ``--export-only`` (no training),
``--partial`` (export unfinished networks from their last checkpoint), ``--calibrate``
(after exporting all three: the edge threshold and whether the edge net's edges are passed
on, measured on validation data and written into the cards), ``--quiet``.
argparse stays in photo3d/cli (the layout rule), so the few options are parsed here.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from .stages import Photo3DError

USAGE = ("usage: python -m photo3d.train CONFIG.yml [--only KINDS] [--export DIR] [--export-only] "
         "[--partial] [--calibrate] [--quiet]")


@dataclass
class Options:
    config: str
    only: list
    export: str | None = None
    export_only: bool = False
    partial: bool = False
    quiet: bool = False
    calibrate: bool = False


def parse(argv: list[str]) -> Options:
    """Options from the command line; Photo3DError with the usage on anything unexpected."""
    args = list(argv)
    flags = {"--export-only": "export_only", "--partial": "partial", "--quiet": "quiet", "--calibrate": "calibrate"}
    values = {"--only": "only", "--export": "export"}
    found: dict = {"only": []}
    positional = []
    while args:
        a = args.pop(0)
        if a in ("-h", "--help"):
            raise SystemExit(print(__doc__ + "\n" + USAGE) or 0)
        if a in flags:
            found[flags[a]] = True
        elif a in values:
            if not args:
                raise Photo3DError(f"{a} needs a value; {USAGE}")
            v = args.pop(0)
            found[values[a]] = [k for k in v.split(",") if k] if a == "--only" else v
        elif a.startswith("-"):
            raise Photo3DError(f"unknown option {a}; {USAGE}")
        else:
            positional.append(a)
    if len(positional) != 1:
        raise Photo3DError(f"expected one training config; {USAGE}")
    return Options(positional[0], **found)


def run(opts: Options) -> None:
    """Train (or resume) the networks of ``opts.config`` and export them as asked.

    Raises:
        Photo3DError: a bad config, data that cannot be found, a run that cannot resume.
    """
    from .config import load_train_config
    from .loop import train

    config = load_train_config(opts.config)
    kinds = opts.only or None
    if not opts.export_only:
        for r in train(config, kinds, progress=not opts.quiet):
            print(f"{r.kind}: {r.steps} steps, loss {r.final_loss:.4f}, {r.seconds / 60:.1f} min -> {r.folder}")
    if opts.export or opts.export_only:
        from .shipped import export_run

        for path in export_run(config, opts.export or "checkpoints", kinds, opts.partial):
            print(f"wrote {path}")
    if opts.calibrate:
        from .shipped import calibrate_shipped

        folder = opts.export or "checkpoints"
        result = calibrate_shipped(folder, config.data.root, crop=int(config.data.crop))
        print(f"calibrated {folder}: edge threshold {result['edge_threshold']}, "
              f"edge net's edges passed on: {result['edge_net_edges']} (depth error "
              f"{result['depth_error_net_edges']:.4f} with them, {result['depth_error_context_edges']:.4f} without)")


def main(argv: list[str] | None = None) -> int:
    """``python -m photo3d.train``: returns the exit code (2 with a one-line message on bad input)."""
    try:
        opts = parse(sys.argv[1:] if argv is None else argv)
        logging.basicConfig(level=logging.WARNING if opts.quiet else logging.INFO, format="%(message)s")
        run(opts)
    except Photo3DError as exc:
        print(f"photo3d: error: {exc}", file=sys.stderr)
        return 2
    return 0
