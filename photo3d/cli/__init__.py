"""Command line: ``photo3d --image IMG [--depth DEPTH] [options]`` (also ``python run.py``),
``photo3d batch INPUTS``, ``photo3d render MESH`` and ``photo3d weights list|download``. A thin
layer over :mod:`photo3d.pipeline`: :mod:`.options` (flags to config keys), :mod:`.single`,
:mod:`.batch` (:mod:`.manifest`, :mod:`.workers`), :mod:`.render`, :mod:`.weights`.

Bad input prints one line ``photo3d: error: <file>: <problem>`` and exits with code 2.
Warnings of every stage reach the ``photo3d`` logger and are printed once as
``photo3d: warning: ...``.
"""
from __future__ import annotations

import logging
import os
import sys

from ..errors import Photo3DError

EXIT_BAD_INPUT = 2
_SUBCOMMANDS = {"batch": ".batch", "render": ".render", "weights": ".weights"}


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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    setup_logging()
    try:
        if argv and argv[0] in _SUBCOMMANDS:
            import importlib

            module = importlib.import_module(_SUBCOMMANDS[argv[0]], __name__)
            return module.main(argv[1:])
        from .single import main as single_main

        return single_main(argv)
    except Photo3DError as exc:
        print(f"photo3d: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # disk full, permissions: the system's problem, not the input's
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"photo3d: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("photo3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
