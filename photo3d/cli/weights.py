"""``photo3d weights list|download``: which network weights are installed, and fetching them."""
from __future__ import annotations

import argparse
import sys

from ..errors import Photo3DError
from ..weights import (
    REGISTRY,
    cache_dir,
    download,
    find_weights,
    search_dirs,
    weight_status,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photo3d weights",
                                     description="List or download network weights.")
    sub = parser.add_subparsers(dest="command", required=True)
    lst = sub.add_parser("list", help="show which weights are installed and where")
    lst.add_argument("--dir", help="also search this directory first")
    dl = sub.add_parser("download", help="download weights (default: all)")
    dl.add_argument("names", nargs="*", metavar="NAME",
                    help=f"weights to fetch: {', '.join(REGISTRY)} (default: the reference networks and "
                         "Depth Anything V2 Small)")
    dl.add_argument("--dir", help=f"target directory (default: {cache_dir()})")
    dl.add_argument("--url", help="replace the download URL prefix (file name is appended)")
    dl.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _list(checkpoints_dir: str | None) -> int:
    print("search order: " + ", ".join(str(d) for d in search_dirs(checkpoints_dir)))
    missing = []
    for name, spec in REGISTRY.items():
        path = find_weights(name, checkpoints_dir)
        if path is None:
            missing.append(name)
            status, where = "MISSING", ""
        else:  # verified: the pinned or recorded sha256 matches; unverified: none known
            status, where = weight_status(name, path), str(path)
        print(f"{name:24s} {status:10s} {where}    ({spec.description})")
    if missing:
        print("missing: " + " ".join(missing)
              + f"  (fetch with: photo3d weights download {' '.join(missing)})")
    return 0


def main(argv: list[str]) -> int:
    """``photo3d weights list [--dir D]`` / ``photo3d weights download [NAMES...] [--dir D] [--url URL]``.

    Returns the exit code (0 success, 2 on a Photo3DError, reported on stderr).
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list(args.dir)
        for path in download(args.names, args.dir, args.url, progress=not args.quiet):
            print(path)
        return 0
    except (Photo3DError, OSError) as exc:
        text = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
        print(f"photo3d weights: error: {' '.join(text.split())}", file=sys.stderr)
        return 2
