"""Where ``photo3d batch`` runs its photos: in this process, in local worker processes
(``--jobs N``) or as tasks on a Ray cluster (``--ray [ADDRESS]``).

Every runner calls :func:`run_job` once per photo and hands each result (a dict, see
:func:`run_job`) to a callback as it arrives. A photo that fails for its own reasons (bad
input, any exception in the pipeline) is a result with ``status: failed``, never retried.
A worker that dies (killed, out of memory, its node lost) makes its photo be retried, up to
``batch.max_retries`` times, on another worker; each worker process keeps its GL context and
its loaded networks for all the photos it runs.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import Config
from ..errors import Photo3DError
from .manifest import invalidate, remove_partials, remove_stale_run, write_manifest

STATE_DIR = ".photo3d-batch"  # under --out: one marker file per task start (counts retries), removed at the end


@dataclass(frozen=True)
class Job:
    """One photo of a batch: its image, its depth file (or None) and what that holds
    (``kind``: "disparity"/"depth" from a ``_disparity``/``_depth`` name, None = the config's)."""

    image: Path
    depth: Path | None = None
    kind: str | None = None

    @property
    def name(self) -> str:
        """The output name: the image's file name without suffix."""
        return self.image.stem


def job_config(job: Job, config: Config) -> Config:
    """The config of one photo: the batch's, with the depth kind its depth file's name says."""
    if job.kind is None or job.kind == config.depth.kind:
        return config
    return config.with_changes({"depth.kind": job.kind}, str(job.depth))


class _Collect(logging.Handler):
    """Keeps the warnings of one photo, to report them with its result."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message."""
        self.messages.append(record.getMessage())


def _worker_id() -> str:
    """``host:pid`` of this worker process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job: Job, config: Config, ignored: list[str], inpainter=None) -> dict:
    """Build and write one photo, then its manifest. Never raises for the photo's own problems.

    Returns {"name", "image", "status": "done"|"failed", "reason", "seconds", "stages":
    [[stage, seconds], ...], "warnings", "worker"}.
    """
    from .single import process_one

    start = time.perf_counter()
    cfg = job_config(job, config)
    out_dir = Path(cfg.output.out_dir) / job.name
    invalidate(out_dir)
    remove_partials(out_dir)  # what a worker that died on this photo left
    logger = logging.getLogger("photo3d")
    collect = _Collect()
    logger.addHandler(collect)
    result = {"name": job.name, "image": str(job.image), "status": "done", "reason": None, "stages": [],
              "worker": _worker_id()}
    try:
        summary = process_one(job.image, job.depth, cfg, ignored, inpainter=inpainter, name=job.name)
        write_manifest(out_dir, cfg, job.image, job.depth, summary["files"] + [str(out_dir / "config.yml")])
        result["stages"] = [list(s) for s in summary.get("stages", [])]
    except Photo3DError as exc:
        result.update(status="failed", reason=str(exc))
    except Exception as exc:  # one broken photo must not stop the batch
        result.update(status="failed", reason=f"{job.image}: unexpected {exc.__class__.__name__}: {exc}")
    finally:
        logger.removeHandler(collect)
    if result["status"] == "failed":
        remove_partials(out_dir)
    result["warnings"] = collect.messages
    result["seconds"] = time.perf_counter() - start
    return result


def _died(job: Job, why: str, attempts: int) -> dict:
    """The result of a photo whose worker died on every attempt."""
    return {"name": job.name, "image": str(job.image), "status": "failed", "stages": [], "warnings": [],
            "reason": f"{job.image}: its worker died {attempts} time(s) ({why})", "seconds": 0.0, "worker": None,
            "attempts": attempts}


# -------------------------------------------------------------------- in this process
def run_sequential(jobs: list[Job], config: Config, ignored: list[str], on_result: Callable[[dict], None]) -> None:
    """One photo after another in this process, with one set of networks for all."""
    from ..inpaint import make_inpainter

    inpainter = make_inpainter(config.inpaint, float(config.edges.depth_threshold))
    for job in jobs:
        on_result(run_job(job, config, ignored, inpainter) | {"attempts": 1})


# -------------------------------------------------------------------- local processes
_WORKER: dict = {}


def _init_process(config: Config) -> None:
    """Process-pool initialiser: the networks, loaded once per worker process."""
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    from ..inpaint import make_inpainter
    from . import setup_logging

    setup_logging()
    _WORKER["inpainter"] = make_inpainter(config.inpaint, float(config.edges.depth_threshold))


def _process_task(job: Job, config: Config, ignored: list[str]) -> dict:
    """One photo in a pool worker, with that worker's networks."""
    return run_job(job, config, ignored, _WORKER.get("inpainter"))


def run_processes(jobs: list[Job], config: Config, ignored: list[str], on_result: Callable[[dict], None],
                  processes: int) -> None:
    """``processes`` local worker processes; a photo whose worker died is retried in a new pool."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pending = deque(jobs)
    attempts: dict[Job, int] = {}
    context = multiprocessing.get_context("spawn")  # no inherited GL or torch state
    while pending:
        with ProcessPoolExecutor(processes, mp_context=context, initializer=_init_process,
                                 initargs=(config,)) as pool:
            running: dict = {}
            broken = False
            while (pending and not broken) or running:
                while pending and not broken and len(running) < processes:  # in flight = running
                    job = pending.popleft()
                    attempts[job] = attempts.get(job, 0) + 1
                    running[pool.submit(_process_task, job, config, ignored)] = job
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    job = running.pop(future)
                    try:
                        on_result(future.result() | {"attempts": attempts[job]})
                    except BrokenProcessPool as exc:
                        broken = True
                        if attempts[job] <= int(config.batch.max_retries):
                            pending.appendleft(job)
                        else:
                            remove_stale_run(Path(config.output.out_dir), job.name)
                            on_result(_died(job, str(exc) or "process pool broken", attempts[job]))


# -------------------------------------------------------------------- Ray
def ray_missing_message() -> str:
    """The one line ``--ray`` answers without Ray."""
    return "--ray needs Ray, which is not installed: pip install 'photo3d[ray]'"


def _package_root() -> str:
    """The folder holding this ``photo3d`` package (put on the Ray workers' PYTHONPATH)."""
    return str(Path(__file__).resolve().parents[2])


def _ray_task(job: Job, config: Config, ignored: list[str], state_dir: str) -> dict:
    """One photo on a Ray worker; the worker process keeps its networks between photos."""
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    Path(state_dir).mkdir(parents=True, exist_ok=True)
    (Path(state_dir) / f"{job.name}.{uuid.uuid4().hex}").write_text(_worker_id())  # one per start: retries
    key = repr(config.inpaint)
    if _WORKER.get("key") != key:
        from ..inpaint import make_inpainter
        from . import setup_logging

        setup_logging()
        _WORKER.update(key=key, inpainter=make_inpainter(config.inpaint, float(config.edges.depth_threshold)))
    return run_job(job, config, ignored, _WORKER["inpainter"])


def run_ray(jobs: list[Job], config: Config, ignored: list[str], on_result: Callable[[dict], None],
            address: str) -> None:
    """Each photo a Ray task (CPUs/GPUs as ``batch`` declares), retried when its worker dies.

    ``address``: "local" starts Ray on this machine; "auto", "host:port" or "ray://host:port"
    join a running cluster. The workers write into ``output.out_dir``, which must be storage
    that every node sees.
    """
    try:
        import ray
    except ImportError:
        raise Photo3DError(ray_missing_message()) from None
    env = {"EGL_PLATFORM": os.environ.get("EGL_PLATFORM", "surfaceless"),
           "PYTHONPATH": os.pathsep.join(p for p in (_package_root(), os.environ.get("PYTHONPATH")) if p)}
    local = {"include_dashboard": False} if address == "local" else {}  # only for a Ray this starts
    ray.init(address=None if address == "local" else address, runtime_env={"env_vars": env},
             logging_level=logging.WARNING, log_to_driver=False, **local)
    batch = config.batch
    state_dir = str(Path(config.output.out_dir) / STATE_DIR)
    gpus = batch.gpus_per_task
    if gpus is None:  # auto: share each GPU between two workers (one renders while the other infers)
        gpus = 0.5 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    task = ray.remote(num_cpus=float(batch.cpus_per_task), num_gpus=float(gpus),
                      max_retries=int(batch.max_retries), retry_exceptions=False)(_ray_task)
    try:
        refs = {task.remote(job, config, ignored, state_dir): job for job in jobs}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            for ref in done:
                job = refs.pop(ref)
                starts = [p.read_text() for p in Path(state_dir).glob(f"{job.name}.*")]  # the workers it ran on
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the worker or its node died too often
                    result = _died(job, exc.__class__.__name__, max(len(starts), int(batch.max_retries) + 1))
                    remove_stale_run(Path(config.output.out_dir), job.name)
                on_result(result | {"attempts": max(len(starts), 1), "attempt_workers": starts})
    finally:
        ray.shutdown()
