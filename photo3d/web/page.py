"""The self-contained HTML page of a 3D photo: photo3d's own WebGL2 viewer (``viewer.js``,
inlined) and the web GLB, embedded as base64 or as a ``.glb`` file beside the page.

The page makes no network request: everything is inline (the favicon too), except the
``.glb`` beside it when not embedded (then it must be served over http(s), e.g. by
``photo3d view``, since browsers refuse ``fetch`` on ``file://``).
"""
from __future__ import annotations

import base64
import html
from importlib import resources
from pathlib import Path

from ..io import atomic_write

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; connect-src 'self'">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; background: #000; }}
  body {{ display: flex; align-items: center; justify-content: center; }}
  #photo3d-canvas {{ display: block; touch-action: none; cursor: grab; }}
  #photo3d-status, #photo3d-tilt {{ position: fixed; left: 1em; bottom: 1em; font: 14px sans-serif; color: #ddd; }}
  #photo3d-tilt {{ background: #222; border: 1px solid #666; border-radius: 4px; padding: 0.4em 0.8em; }}
</style>
</head>
<body>
<canvas id="photo3d-canvas" data-src="{src}" aria-label="{title}: drag or tilt to look around"></canvas>
<div id="photo3d-status">loading…</div>
<button id="photo3d-tilt" hidden>Tilt to look around</button>
<script id="photo3d-glb" type="application/octet-stream">{glb}</script>
<script>
{viewer}
</script>
</body>
</html>
"""


def viewer_script() -> str:
    """The viewer's JavaScript source (``photo3d/web/viewer.js``)."""
    return resources.files(__package__).joinpath("viewer.js").read_text(encoding="utf-8")


def html_page(glb: bytes | None, title: str = "photo3d", src: str = "") -> str:
    """The page: ``glb`` embedded (base64), or, when ``glb`` is None, loaded from ``src``
    (a URL relative to the page)."""
    embedded = base64.b64encode(glb).decode("ascii") if glb is not None else ""
    lines = "\n".join(embedded[i:i + 120] for i in range(0, len(embedded), 120))
    return _PAGE.format(title=html.escape(title), src=html.escape(src), glb=lines,
                        viewer=viewer_script().replace("</script", "<\\/script"))


def write_html(glb: str | Path | bytes, path: str | Path, embed: bool = True, title: str | None = None,
               glb_name: str | None = None) -> Path:
    """Write the viewer page to ``path`` (atomic) for ``glb`` (GLB bytes, or a GLB file): the
    GLB embedded, or (``embed=False``) loaded from ``glb_name`` (default the GLB file's name),
    which must then lie beside the page."""
    path = Path(path)
    title = title or path.stem
    if embed:
        page = html_page(glb if isinstance(glb, bytes) else Path(glb).read_bytes(), title)
    else:
        page = html_page(None, title, glb_name or Path(glb).name)
    with atomic_write(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
