"""Command line: ``photo3d --image IMG [--depth DEPTH] [options]`` (also ``python run.py``),
``photo3d batch INPUTS``, ``photo3d render MESH``, ``photo3d train RECIPE``, ``photo3d weights list|download`` and
``photo3d view OUT_DIR|file.glb``. A thin layer over :mod:`photo3d.pipeline`: :mod:`.options`
(flags to config keys), :mod:`.single`, :mod:`.batch` (:mod:`.manifest`, :mod:`.workers`),
:mod:`.render`, :mod:`.train`, :mod:`.weights`, :mod:`.view`.

Bad input prints one line ``photo3d: error: <file>: <problem>`` and exits with code 2.
Warnings of every stage reach the ``photo3d`` logger and are printed once as
``photo3d: warning: ...``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading

from ..errors import Photo3DError

EXIT_BAD_INPUT = 2
_SUBCOMMANDS = {"batch": ".batch", "render": ".render", "train": ".train", "weights": ".weights", "view": ".view"}


class _WarningLines(logging.Handler):
    """Prints each record of the ``photo3d`` logger as one ``photo3d: warning: ...`` line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"photo3d: warning: {record.getMessage()}", file=sys.stderr)
        except Exception:  # a broken stderr must not turn a warning into a crash
            self.handleError(record)


def setup_logging() -> None:
    """Route the ``photo3d`` logger to stderr once (idempotent)."""
    logger = logging.getLogger("photo3d")
    if not any(isinstance(h, _WarningLines) for h in logger.handlers):
        handler = _WarningLines(level=logging.WARNING)
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C (KeyboardInterrupt), so that every
    ``finally`` and output transaction cleans up, then the CLI exits with 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame) -> None:
    # Later signals are ignored while the first one unwinds (cleanup must not be cut short).
    for sig in _CLEAN_EXIT_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


_CLEAN_EXIT_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


@contextlib.contextmanager
def clean_exit_signals():
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread while inside."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in _CLEAN_EXIT_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def error_line(exc: BaseException) -> str:
    """One line for an error: Photo3DError as it is, a system error with the file it names."""
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return f"{where}{exc.strerror or exc}"
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    setup_logging()
    try:
        with clean_exit_signals():
            if argv and argv[0] in _SUBCOMMANDS:
                import importlib

                module = importlib.import_module(_SUBCOMMANDS[argv[0]], __name__)
                return module.main(argv[1:])
            from .single import main as single_main

            return single_main(argv)
    except (Photo3DError, OSError) as exc:  # bad input, or a file the system refuses: one line
        print(f"photo3d: error: {error_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("photo3d: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"photo3d: terminated by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())
