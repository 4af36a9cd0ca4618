"""Shared paths, fixtures and markers of photo3d's tests.

Markers (registered in pyproject.toml):

* ``egl``: the test renders with offscreen OpenGL; skipped, with the reason, where no EGL
  context can be made.
* ``shared_data``: the test reads ``../shared/data``; skipped where that folder is missing.

Helpers that are plain functions (synthetic scenes, the small test config) live in
:mod:`scenes`; pytest puts this folder on the import path (rootdir conftest), so tests
import it as ``from scenes import ...`` without editing ``sys.path``.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import pytest

os.environ.setdefault("EGL_PLATFORM", "surfaceless")
# No test reaches the network: first-use downloads are off (the download tests switch them
# on against a server of their own on 127.0.0.1).
os.environ["PHOTO3D_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"


@functools.lru_cache(maxsize=None)
def egl_unavailable() -> str | None:
    """Why offscreen OpenGL cannot be used here, or None when it can (probed once)."""
    try:
        from photo3d.errors import Photo3DError
        from photo3d.render import gl_context

        gl_context()
    except Photo3DError as exc:
        return f"needs offscreen OpenGL: {exc}"
    except Exception as exc:  # a broken driver stack: the same answer for the tests
        return f"needs offscreen OpenGL: {exc.__class__.__name__}: {exc}"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("shared_data") is not None and not SHARED_DATA.is_dir():
            item.add_marker(pytest.mark.skip(reason=f"shared test data not found at {SHARED_DATA}"))


def pytest_runtest_setup(item):
    # Probed at set-up (not collection), so a run without egl tests never touches OpenGL.
    if item.get_closest_marker("egl") is not None:
        reason = egl_unavailable()
        if reason:
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def _photo3d_logger_restored():
    """The CLI routes the ``photo3d`` logger to stderr and stops it propagating; tests that run
    the CLI in-process must not hide later tests' warnings from ``caplog``."""
    logger = logging.getLogger("photo3d")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where run.py and inputs/ are)."""
    return REPO


@pytest.fixture(scope="session")
def test_data() -> Path:
    """tests/data: small reference vectors kept with the tests."""
    return TESTS / "data"


@pytest.fixture(scope="session")
def sample_files() -> tuple[Path, Path]:
    """The repository's sample photo and its disparity (inputs/)."""
    return REPO / "inputs" / "sample.png", REPO / "inputs" / "sample_disparity.png"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (tests using it are also marked ``shared_data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_compat() -> Path:
    """../shared/compat: the reference implementation's vectors and notes (may be missing)."""
    return SHARED / "compat"


@pytest.fixture
def small_config():
    """``small_config(**changes)``: the :func:`scenes.small_config` of the ~100 px test scenes."""
    from scenes import small_config

    return small_config


@pytest.fixture(scope="session")
def square_build():
    """(Scene, foreground mask) of the pipeline run on :func:`scenes.square_scene`.

    Metric depth (normalize=False: no box blur) and sparse_iter=1 (no median pass): the square
    keeps its exact outline, so colour edges coincide with depth edges. (The reference's blur
    and median round corners, moving depth edges off colour edges.)
    """
    from scenes import small_config, square_scene

    from photo3d.pipeline import build_scene

    image, depth, fg = square_scene()
    return build_scene(image, depth, small_config(sparse_iter=1), kind="depth", normalize=False), fg
