"""Batch video generation: ``photo3d batch INPUTS... [--depth-dir DIR] [--skip-existing]
[--jobs N | --ray [ADDRESS]] [options]``.

INPUTS are folders, glob patterns (``'shots/*.jpg'``) or text files listing photos (one path
a line, relative to the list's folder; ``#`` starts a comment). A photo ``foo.jpg`` takes its
depth from ``--depth-dir``/``foo.{npy,png,pfm,tif,tiff}`` (or ``foo_disparity.*``,
``foo_depth.*`` there), else from ``foo_disparity.*`` or ``foo_depth.*`` beside it; what such a
file holds follows its name (``_disparity``: disparity, ``_depth``: depth; a depth PNG saved
by photo3d says so itself). Those files are never photos. Without one, depth is found as on
the single-photo path. One bad photo is reported and skipped; the batch goes on.

Each finished photo gets ``manifest.json`` (written last); ``--skip-existing`` skips photos whose
manifest matches the config and inputs, so a re-run resumes an interrupted batch. ``--jobs N``
runs N local worker processes, ``--ray [ADDRESS]`` a task per photo on a Ray cluster
(:mod:`.workers`: retries when a worker dies, never for a photo's own errors). At the end:
a summary table (done, skipped, failed with reasons, retried, photos per minute, time per
stage summed over workers) and ``<out>/batch_report.json``. Exit code: 0 when no photo
failed, 2 otherwise.
"""
from __future__ import annotations

import argparse
import datetime
import glob
import json
import logging
import shutil
import sys
import time
from pathlib import Path

from ..errors import Photo3DError
from ..io import DEPTH_SUFFIXES, IMAGE_SUFFIXES, atomic_write
from .manifest import is_complete
from .workers import STATE_DIR, Job, job_config

log = logging.getLogger("photo3d")
DEPTH_TAGS = {"_disparity": "disparity", "_depth": "depth"}  # name ending -> what the file holds
REPORT = "batch_report.json"
LIST_SUFFIXES = (".txt", ".lst", ".list")


def _is_image(path: Path) -> bool:
    """A file with an image suffix."""
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _tag_of(path: Path) -> tuple[str, str | None]:
    """(photo stem, kind) of a depth-file name ``<stem>_disparity.*``/``<stem>_depth.*``; (stem, None) otherwise."""
    for tag, kind in DEPTH_TAGS.items():
        if path.stem.endswith(tag) and len(path.stem) > len(tag):
            return path.stem[: -len(tag)], kind
    return path.stem, None


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Every candidate photo of folders, globs, list files and files, in order, each once."""
    found: list[Path] = []
    for item in map(str, inputs):
        path = Path(item)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if _is_image(p))
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            lines = [ln.split("#", 1)[0].strip() for ln in path.read_text(errors="replace").splitlines()]
            listed = [Path(ln) if Path(ln).is_absolute() else path.parent / ln for ln in lines if ln]
            missing = [str(p) for p in listed if not p.is_file()]
            if missing:
                raise Photo3DError(f"{path}: listed photo(s) not found: {', '.join(missing[:5])}"
                                   + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
            found += listed
        elif path.is_file():
            found.append(path)
        elif glob.has_magic(item):
            found += sorted(p for p in map(Path, glob.glob(item)) if _is_image(p))
        elif len(inputs) == 1 and not path.suffix:
            raise Photo3DError(f"{path}: not a folder")
        else:
            raise Photo3DError(f"{path}: no such file, folder or pattern")
    unique, seen = [], set()
    for p in found:
        if p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique


def _depth_in(folder: Path, stem: str, image: Path, plain: bool) -> tuple[Path | None, str | None]:
    """A depth file of ``stem`` in ``folder``: ``stem.*`` (when ``plain``), ``stem_disparity.*``, ``stem_depth.*``."""
    names = ([(stem, None)] if plain else []) + [(stem + tag, kind) for tag, kind in DEPTH_TAGS.items()]
    for base, kind in names:
        for suffix in DEPTH_SUFFIXES:
            cand = folder / f"{base}{suffix}"
            if cand.is_file() and cand.resolve() != image.resolve():
                return cand, kind
    return None, None


def find_jobs(inputs: list[str | Path] | str | Path, depth_dir: Path | None = None) -> list[Job]:
    """The photos of ``inputs`` with their depth files, sorted by name within each input."""
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if depth_dir is not None and not Path(depth_dir).is_dir():  # else every depth would silently be estimated
        raise Photo3DError(f"{depth_dir}: depth folder not found")
    candidates = expand_inputs(list(inputs))
    # <stem>_disparity.* / <stem>_depth.* beside a photo <stem>.* are depth maps, never photos.
    stems = {(p.parent.resolve(), p.stem) for p in candidates}
    tagged = {p for p in candidates if _tag_of(p)[1] is not None and (p.parent.resolve(), _tag_of(p)[0]) in stems}
    jobs = []
    for img in candidates:
        if img in tagged:
            continue
        depth, kind = (None, None)
        if depth_dir is not None:
            depth, kind = _depth_in(Path(depth_dir), img.stem, img, plain=True)
        if depth is None:
            depth, kind = _depth_in(img.parent, img.stem, img, plain=False)
        jobs.append(Job(img, depth, kind))
    # With depth maps beside the photos (--depth-dir = the photo folder), a depth PNG/TIFF is
    # some photo's depth, not a photo. (Two files that would be each other's depth stay
    # ambiguous and are caught as a clash below.)
    depth_of = {j.image.resolve(): j.depth.resolve() for j in jobs if j.depth is not None}
    depth_only = {d for img, d in depth_of.items() if depth_of.get(d) != img}
    jobs = [j for j in jobs if j.image.resolve() not in depth_only]
    # Outputs go to <out>/<stem>/: two photos with one stem would overwrite each other.
    by_stem: dict[str, list[str]] = {}
    for j in jobs:
        by_stem.setdefault(j.name, []).append(j.image.name)
    clashes = [" and ".join(names) for names in by_stem.values() if len(names) > 1]
    if clashes:
        where = inputs[0] if len(inputs) == 1 else "batch"
        raise Photo3DError(f"{where}: {'; '.join(clashes)} would write the same outputs; rename one")
    return jobs


class Progress:
    """The batch's one progress bar (tqdm with ETA on a terminal; a line per photo otherwise)."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.count, self.quiet, self.start = total, 0, quiet, time.perf_counter()
        self.counted = 0  # photos that took time (not skipped), for the ETA
        self.bar = None
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="batch", unit="photo", file=sys.stderr)

    def eta(self) -> str:
        """Time left at the mean time per photo so far (``-`` before the first or after the last)."""
        left = self.total - self.count
        if not self.counted or not left:
            return "-"
        seconds = (time.perf_counter() - self.start) / self.counted * left
        return str(datetime.timedelta(seconds=round(seconds)))

    def update(self, name: str, status: str, took: bool = True) -> None:
        """One photo finished (``took``: it cost time, i.e. was not skipped)."""
        self.count += 1
        self.counted += took
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name}: {status}")
            self.bar.update(1)
        elif not self.quiet:
            print(f"[{self.count}/{self.total}] {name}: {status} (ETA {self.eta()})", file=sys.stderr)

    def close(self) -> None:
        """End the bar."""
        if self.bar is not None:
            self.bar.close()


def summary_table(results: list[dict], wall: float) -> tuple[str, dict]:
    """The end-of-batch table and the totals it shows."""
    done = [r for r in results if r["status"] == "done"]
    skipped = [r for r in results if r["status"] == "skipped"]
    failed = [r for r in results if r["status"] == "failed"]
    retried = [r for r in results if r.get("attempts", 1) > 1]
    stages: dict[str, float] = {}
    for r in results:
        for stage, seconds in r.get("stages", []):
            stages[stage] = stages.get(stage, 0.0) + float(seconds)
    per_minute = 60.0 * len(done) / wall if wall > 0 else 0.0
    totals = {"done": len(done), "skipped": len(skipped), "failed": len(failed), "retried": len(retried),
              "seconds": round(wall, 3), "photos_per_minute": round(per_minute, 3),
              "stage_seconds": {k: round(v, 3) for k, v in stages.items()}}
    rows = [("done", str(len(done)), ""), ("skipped", str(len(skipped)), "complete outputs found"),
            ("failed", str(len(failed)), ""), ("retried", str(len(retried)),
                                                ", ".join(f"{r['name']} x{r['attempts'] - 1}" for r in retried))]
    rows += [("total time", f"{wall:.1f} s", f"{per_minute:.1f} photos/minute")]
    width = max(len(r[0]) for r in rows)
    lines = ["batch summary"] + [f"  {a:<{width}}  {b:>8}  {c}".rstrip() for a, b, c in rows]
    lines += [f"    {r['name']}: {r['reason']}" for r in failed]
    if stages:
        lines.append("  seconds per stage, summed over workers:")
        lines += [f"    {k:<22} {v:8.2f}" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines), totals


def build_parser() -> argparse.ArgumentParser:
    """``photo3d batch``'s options: the shared ones and the batch's own."""
    from .options import add_common

    ap = argparse.ArgumentParser(prog="photo3d batch", description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="folders, glob patterns or .txt lists of photos")
    ap.add_argument("--depth-dir", help="folder of depth maps named like the photos")
    ap.add_argument("--skip-existing", action="store_true",
                    help="skip photos whose outputs are complete for this config (resume a batch)")
    ap.add_argument("--jobs", type=int, help="photos at once, in local worker processes (default 1)")
    ap.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                    help="run on Ray: a local one, or join ADDRESS ('auto', 'host:port', 'ray://host:port')")
    ap.add_argument("--max-retries", type=int, help="retries of a photo whose worker died (default 2)")
    add_common(ap)
    return ap


def main(argv: list[str]) -> int:
    """Run a batch; returns the exit code (2 when a photo failed)."""
    from .options import effective_config
    from .workers import run_processes, run_ray, run_sequential

    args = build_parser().parse_args(argv)
    config, ignored = effective_config(args)
    changes = {k: v for k, v in (("batch.skip_existing", True if args.skip_existing else None),
                                 ("batch.jobs", args.jobs), ("batch.ray", args.ray),
                                 ("batch.max_retries", args.max_retries)) if v is not None}
    if changes:
        config = config.with_changes(changes, "command line")
    if config.batch.ray is not None:
        try:
            import ray  # noqa: F401
        except ImportError:
            from .workers import ray_missing_message

            raise Photo3DError(ray_missing_message()) from None
    jobs = find_jobs(args.inputs, Path(args.depth_dir) if args.depth_dir else None)
    if not jobs:
        raise Photo3DError(f"{' '.join(args.inputs)}: no images found ({', '.join(IMAGE_SUFFIXES)})")
    out_root = Path(config.output.out_dir)
    start = time.perf_counter()
    progress = Progress(len(jobs), bool(config.output.quiet))
    results: list[dict] = []

    def on_result(result: dict) -> None:
        results.append(result)
        for message in result.get("warnings", []):
            if config.batch.jobs > 1 or config.batch.ray is not None:  # in this process the logger printed them
                log.warning(message)
        if result["status"] == "failed":
            print(f"photo3d: error: {result['reason']}", file=sys.stderr)
        progress.update(result["name"], result["status"], took=result["status"] != "skipped")

    todo = []
    for job in jobs:
        if config.batch.skip_existing and is_complete(out_root / job.name, job_config(job, config), job.image,
                                                      job.depth):
            on_result({"name": job.name, "image": str(job.image), "status": "skipped", "reason": None,
                       "seconds": 0.0, "stages": [], "attempts": 0})
        else:
            todo.append(job)
    try:
        if todo and config.batch.ray is not None:
            run_ray(todo, config, ignored, on_result, config.batch.ray)
        elif todo and config.batch.jobs > 1:
            run_processes(todo, config, ignored, on_result, int(config.batch.jobs))
        elif todo:
            run_sequential(todo, config, ignored, on_result)
    finally:
        progress.close()
        shutil.rmtree(out_root / STATE_DIR, ignore_errors=True)
    wall = time.perf_counter() - start
    table, totals = summary_table(results, wall)
    if not config.output.quiet:
        print(table, file=sys.stderr)
    runner = (f"ray ({config.batch.ray})" if config.batch.ray is not None
              else f"{config.batch.jobs} processes" if config.batch.jobs > 1 else "1 process")
    order = {j.name: i for i, j in enumerate(jobs)}
    report = {"runner": runner, "totals": totals, "photos": sorted(results, key=lambda r: order[r["name"]])}
    out_root.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_root / REPORT) as tmp:
        Path(tmp).write_text(json.dumps(report, indent=1, default=str))
    failed = [Path(r["image"]).name for r in report["photos"] if r["status"] == "failed"]
    print(f"batch: {totals['done']} done, {totals['skipped']} skipped, {len(failed)} failed"
          + (f" ({', '.join(failed)})" if failed else ""))
    return 2 if failed else 0
