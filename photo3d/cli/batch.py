"""Batch video generation over a folder: ``photo3d batch IMAGES [--depth-dir DIR] [options]``.

Each image ``foo.jpg`` takes its depth from ``DEPTH_DIR/foo.{npy,png,pfm,tif,tiff}`` when present
(else it is estimated as on the single-image path). One bad file is reported and skipped;
the batch goes on. Exit code: 0 when all succeed, 2 when any failed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import Photo3DError
from ..io import DEPTH_SUFFIXES, IMAGE_SUFFIXES


def find_jobs(image_dir: Path, depth_dir: Path | None) -> list[tuple[Path, Path | None]]:
    """(image, depth or None) pairs, sorted by image name."""
    if not image_dir.is_dir():
        raise Photo3DError(f"{image_dir}: not a folder")
    if depth_dir is not None and not depth_dir.is_dir():  # else every depth would silently be estimated
        raise Photo3DError(f"{depth_dir}: depth folder not found")
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    jobs = []
    for img in images:
        depth = None
        if depth_dir is not None:
            for suffix in DEPTH_SUFFIXES:
                cand = depth_dir / f"{img.stem}{suffix}"
                if cand.is_file() and cand.resolve() != img.resolve():
                    depth = cand
                    break
        jobs.append((img, depth))
    # With depth maps beside the photos (--depth-dir = the photo folder), a depth PNG/TIFF is
    # some photo's depth, not a photo. (Two files that would be each other's depth stay
    # ambiguous and are caught as a clash below.)
    depth_of = {img.resolve(): d.resolve() for img, d in jobs if d is not None}
    depth_only = {d for img, d in depth_of.items() if depth_of.get(d) != img}
    jobs = [(img, d) for img, d in jobs if img.resolve() not in depth_only]
    # Outputs go to <out>/<stem>/: two photos with one stem would overwrite each other.
    by_stem: dict[str, list[str]] = {}
    for img, _ in jobs:
        by_stem.setdefault(img.stem, []).append(img.name)
    clashes = [" and ".join(names) for names in by_stem.values() if len(names) > 1]
    if clashes:
        raise Photo3DError(f"{image_dir}: {'; '.join(clashes)} would write the same outputs; rename one")
    return jobs


def main(argv: list[str]) -> int:
    from ..inpaint import make_inpainter
    from .options import add_common, effective_config
    from .single import process_one

    ap = argparse.ArgumentParser(prog="photo3d batch", description=__doc__.splitlines()[0])
    ap.add_argument("images", help="folder of photos")
    ap.add_argument("--depth-dir", help="folder of depth maps named like the photos")
    add_common(ap)
    args = ap.parse_args(argv)
    config, ignored = effective_config(args)
    jobs = find_jobs(Path(args.images), Path(args.depth_dir) if args.depth_dir else None)
    if not jobs:
        raise Photo3DError(f"{args.images}: no images found ({', '.join(IMAGE_SUFFIXES)})")
    # one set of networks for the whole batch (loading them per photo costs seconds each)
    inpainter = make_inpainter(config.inpaint, float(config.edges.depth_threshold))
    failed = []
    for i, (img, depth) in enumerate(jobs, 1):
        if not config.output.quiet:
            print(f"[{i}/{len(jobs)}] {img.name}", file=sys.stderr)
        try:
            process_one(img, depth, config, ignored, inpainter=inpainter, name=img.stem)
        except Photo3DError as exc:
            print(f"photo3d: error: {exc}", file=sys.stderr)
            failed.append(img.name)
        except Exception as exc:  # one broken photo must not stop the batch
            print(f"photo3d: error: {img}: unexpected {exc.__class__.__name__}: {exc}", file=sys.stderr)
            failed.append(img.name)
    print(f"batch: {len(jobs) - len(failed)} done, {len(failed)} failed" + (f" ({', '.join(failed)})" if failed else ""))
    return 2 if failed else 0
