"""A local http server for viewer pages (``photo3d view``): 127.0.0.1 only, a free port."""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of one folder; no request log on stderr; .glb/.js with their types."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".glb": "model/gltf-binary", ".js": "text/javascript", ".html": "text/html; charset=utf-8"}

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


def start_server(folder: str | Path, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` on 127.0.0.1 (``port`` 0: a free one) in a daemon thread.
    Returns (server, base URL ending in '/'); ``server.shutdown()`` stops it."""
    handler = functools.partial(_QuietHandler, directory=str(Path(folder).resolve()))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="photo3d-view").start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"
