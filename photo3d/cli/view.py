"""``photo3d view OUT_DIR|file.glb|file.html [--port N] [--no-browser]``: serve a 3D photo's
viewer page on 127.0.0.1 (a free port unless ``--port``), print its URL, open a browser
where there is one, and serve until interrupted.

An output folder is served as it is when it holds a page (``<name>.html``); otherwise, and for
a ``.glb`` file, a page for the GLB (``<name>_web.glb`` preferred) is made in a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from ..errors import Photo3DError


def page_for(target: Path, workdir: Path) -> tuple[Path, str]:
    """(folder to serve, page file name in it) for an output folder, a .glb or an .html file."""
    from ..web.page import write_html

    if target.is_file() and target.suffix.lower() in (".html", ".htm"):
        return target.parent, target.name
    if target.is_dir():
        pages = sorted(target.glob("*.html"))
        if pages:
            return target, pages[0].name
        glbs = sorted(target.glob("*_web.glb")) or sorted(target.glob("*.glb"))
        if not glbs:
            raise Photo3DError(f"{target}: no .html page or .glb mesh in this folder (run photo3d with --html or --web)")
        target = glbs[0]
    if not target.is_file():
        raise Photo3DError(f"{target}: no such file or folder")
    if target.suffix.lower() != ".glb":
        raise Photo3DError(f"{target}: expected an output folder, a .glb or an .html file")
    link = workdir / target.name
    try:
        link.symlink_to(target.resolve())
    except OSError:  # no symlinks here: embed instead
        return workdir, write_html(target, workdir / f"{target.stem}.html", embed=True).name
    return workdir, write_html(target, workdir / f"{target.stem}.html", embed=False).name


def _has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str]) -> int:
    from ..web.serve import start_server

    ap = argparse.ArgumentParser(prog="photo3d view", description="Serve a 3D photo's viewer page on 127.0.0.1.")
    ap.add_argument("target", help="an output folder, a .glb (e.g. <name>_web.glb) or an .html page")
    ap.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    ap.add_argument("--no-browser", action="store_true", help="only print the URL")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="photo3d-view-") as tmp:
        folder, page = page_for(Path(args.target), Path(tmp))
        server, base = start_server(folder, args.port)
        url = base + page
        print(url, flush=True)
        if not args.no_browser and _has_display():
            import webbrowser

            webbrowser.open(url)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
    return 0
