"""Known weight files: where to find them, how to load them safely, how to fetch them.

Lookup order for a weight file (first hit wins), see :func:`search_dirs`:

1. the ``checkpoints_dir`` argument,
2. ``$PHOTO3D_CHECKPOINTS``,
3. ``<project root>/checkpoints``,
4. the user cache ``$XDG_CACHE_HOME/photo3d`` (default ``~/.cache/photo3d``), where
   :func:`download` puts files.

In each directory the reference file name (e.g. ``edge-model.pth``) is tried first, then
a ``.safetensors`` file of the same stem (``edge-model.safetensors``).

Files are never unpickled: ``torch.load(..., weights_only=True)`` or safetensors.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from .errors import Photo3DError

if TYPE_CHECKING:  # torch is imported lazily: `photo3d weights list` must not need it
    import torch

_REFERENCE_URL = "https://filebox.ece.vt.edu/~jbhuang/project/3DPhoto/model/"
_DEPTH_ANYTHING_URL = "https://huggingface.co/depth-anything/Depth-Anything-V2-Small/resolve/main/"
_CHUNK_BYTES = 1 << 20
_LIST_LIMIT = 8  # keys shown per category in a loading error


@dataclass(frozen=True)
class WeightSpec:
    """One published weight file.

    Attributes:
        name: registry name (``edge``, ``depth``, ``color``, ``depth_anything_v2_vits``).
        filename: the published file name.
        url: full download URL of the published file.
        sha256: hex digest of the published file, or None where not known.
        description: one line for ``photo3d weights list``.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    description: str

    @property
    def candidate_names(self) -> tuple[str, str]:
        """File names accepted for this weight: the published one, then ``<stem>.safetensors``."""
        return self.filename, Path(self.filename).stem + ".safetensors"


REGISTRY: dict[str, WeightSpec] = {
    spec.name: spec
    for spec in (
        WeightSpec("edge", "edge-model.pth", _REFERENCE_URL + "edge-model.pth", None,
                   "edge inpainting network (Shih et al. 2020)"),
        WeightSpec("depth", "depth-model.pth", _REFERENCE_URL + "depth-model.pth", None,
                   "depth inpainting network (Shih et al. 2020)"),
        WeightSpec("color", "color-model.pth", _REFERENCE_URL + "color-model.pth", None,
                   "colour inpainting network (Shih et al. 2020)"),
        WeightSpec("depth_anything_v2_vits", "depth_anything_v2_vits.pth",
                   _DEPTH_ANYTHING_URL + "depth_anything_v2_vits.pth", None,
                   "Depth Anything V2 Small, monocular depth (Apache-2.0)"),
    )
}


def get_spec(name: str) -> WeightSpec:
    """The registry entry ``name``; Photo3DError listing the known names otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise Photo3DError(
            f"unknown weights {name!r}: known names are {', '.join(REGISTRY)}") from None


def project_checkpoints_dir() -> Path:
    """``<project root>/checkpoints`` (the repository's, next to the ``photo3d`` package)."""
    return Path(__file__).resolve().parents[1] / "checkpoints"


def cache_dir() -> Path:
    """The user cache for downloaded weights: ``$XDG_CACHE_HOME/photo3d`` or ``~/.cache/photo3d``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "photo3d"


def search_dirs(checkpoints_dir: str | Path | None = None) -> list[Path]:
    """Directories searched for weights, in lookup order (duplicates removed)."""
    dirs: list[Path] = []
    if checkpoints_dir is not None:
        dirs.append(Path(checkpoints_dir))
    env_dir = os.environ.get("PHOTO3D_CHECKPOINTS")
    if env_dir:
        dirs.append(Path(env_dir))
    dirs += [project_checkpoints_dir(), cache_dir()]
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def find_weights(name: str, checkpoints_dir: str | Path | None = None) -> Path | None:
    """Path of the weight file ``name`` (a registry name), or None if it is nowhere.

    Args:
        name: registry name, e.g. ``"edge"`` or ``"depth_anything_v2_vits"``.
        checkpoints_dir: searched first when given.
    """
    spec = get_spec(name)
    for directory in search_dirs(checkpoints_dir):
        for filename in spec.candidate_names:
            path = directory / filename
            if path.is_file():
                return path
    return None


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

def _is_tensor_dict(obj: object) -> bool:
    import torch

    return isinstance(obj, Mapping) and len(obj) > 0 and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())


def load_state_dict(path: str | Path) -> dict[str, "torch.Tensor"]:
    """Read a state dict (name → tensor, on the CPU) from a ``.pth``/``.pt`` or ``.safetensors`` file.

    Common wrappers (``{"state_dict": ...}``, ``{"model": ...}``, ...) are unwrapped when
    that yields a plain dict of tensors. A ``module.`` prefix (DataParallel) is kept:
    key names are the checkpoint's business and are checked by :func:`load_into`.

    Raises:
        Photo3DError: the file is missing, damaged, or holds no dict of tensors.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise Photo3DError(f"{path}: weight file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: object = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # damaged zip/pickle, forbidden globals, bad header...
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Photo3DError(f"{path}: cannot read weights ({detail[:200]})") from exc
    if _is_tensor_dict(obj):
        return dict(obj)  # type: ignore[arg-type]
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model", "model_state_dict", "net", "params"):
            inner = obj.get(wrapper)
            if _is_tensor_dict(inner):
                return dict(inner)  # type: ignore[arg-type]
    raise Photo3DError(f"{path}: does not contain a state dict (a dict of tensors)")


def _truncated(keys: Iterable[str], limit: int = _LIST_LIMIT) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys) - limit} more)" if len(keys) > limit else "")


def check_state_dict(module: "torch.nn.Module", state_dict: Mapping[str, "torch.Tensor"],
                     path: str | Path) -> None:
    """Raise Photo3DError naming ``path`` unless ``state_dict`` fits ``module`` exactly.

    The message lists missing, unexpected and mis-shaped keys (each list truncated).
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    misshaped = [f"{k} {tuple(state_dict[k].shape)} != {tuple(v.shape)}"
                 for k, v in expected.items()
                 if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    if not (missing or unexpected or misshaped):
        return
    parts = []
    if missing:
        parts.append(f"missing {len(missing)} key(s): {_truncated(missing)}")
    if unexpected:
        parts.append(f"unexpected {len(unexpected)} key(s): {_truncated(unexpected)}")
    if misshaped:
        parts.append(f"{len(misshaped)} key(s) with wrong shape (file != network): "
                     f"{_truncated(misshaped)}")
    raise Photo3DError(
        f"{path}: weights do not fit {type(module).__name__}; " + "; ".join(parts))


def load_into(module: "torch.nn.Module", state_dict: Mapping[str, "torch.Tensor"],
              path: str | Path) -> "torch.nn.Module":
    """Check keys and shapes (see :func:`check_state_dict`), then ``load_state_dict(strict=True)``.

    Returns:
        ``module``, with the weights loaded.
    """
    check_state_dict(module, state_dict, path)
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:  # e.g. values a module refuses, dtype that cannot be copied
        detail = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise Photo3DError(f"{path}: cannot load weights ({detail[:500]})") from exc
    return module


# ---------------------------------------------------------------------------------------
# Download
# ---------------------------------------------------------------------------------------

def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_url(spec: WeightSpec, base_url: str | None) -> str:
    """The spec's URL, or ``base_url`` + file name when a replacement prefix is given."""
    base = base_url or os.environ.get("PHOTO3D_WEIGHTS_URL")
    if not base:
        return spec.url
    return base.rstrip("/") + "/" + spec.filename


def _fetch(url: str, part: Path, progress: bool, label: str) -> None:
    """Append the bytes of ``url`` to ``part``, resuming with an HTTP Range request."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "photo3d"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already complete
            return
        raise Photo3DError(f"{url}: download failed (HTTP {exc.code} {exc.reason})") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Photo3DError(f"{url}: download failed ({reason})") from exc
    with response:
        resumed = offset > 0 and response.status == 206
        if offset and not resumed:  # server ignored Range: start again
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        from tqdm import tqdm

        with open(part, "ab" if resumed else "wb") as out, tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                desc=label, disable=not progress, leave=False) as bar:
            try:
                for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as exc:  # keep .part: the next call resumes
                raise Photo3DError(
                    f"{url}: download interrupted ({type(exc).__name__}); run again to resume") from exc
    if total is not None and part.stat().st_size != total:
        raise Photo3DError(
            f"{url}: download incomplete ({part.stat().st_size} of {total} bytes); run again to resume")


def download_one(name: str, dest_dir: str | Path | None = None, base_url: str | None = None,
                 progress: bool = True) -> Path:
    """Download one registry entry into ``dest_dir`` (default: :func:`cache_dir`).

    An existing complete file is kept (re-checked against its sha256 where known). The
    bytes go to ``<file>.part`` (resumed if present), are checked, then renamed atomically.

    Raises:
        Photo3DError: server/network error, or sha256 mismatch (the bad file is deleted).
    """
    spec = get_spec(name)
    dest = Path(dest_dir) if dest_dir is not None else cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / spec.filename
    if target.is_file() and (spec.sha256 is None or _sha256_of(target) == spec.sha256):
        return target
    part = target.with_name(target.name + ".part")
    url = _source_url(spec, base_url)
    _fetch(url, part, progress, spec.filename)
    if spec.sha256 is not None:
        actual = _sha256_of(part)
        if actual != spec.sha256:
            part.unlink()
            raise Photo3DError(
                f"{url}: sha256 mismatch for {spec.filename} (got {actual}, expected "
                f"{spec.sha256}); the file was deleted")
    os.replace(part, target)
    return target


def download(names: Iterable[str] | None = None, dest_dir: str | Path | None = None,
             base_url: str | None = None, progress: bool = True) -> list[Path]:
    """Download the named weights (default: all in :data:`REGISTRY`).

    Args:
        names: registry names.
        dest_dir: target directory (default: the user cache, :func:`cache_dir`).
        base_url: replaces each file's URL prefix (the file name is appended); the env
            variable ``PHOTO3D_WEIGHTS_URL`` does the same when this is None.
        progress: show a tqdm progress bar on stderr.

    Returns:
        The downloaded files' paths, in the order of ``names``.
    """
    names = list(names) if names else list(REGISTRY)
    for name in names:
        get_spec(name)  # fail before downloading anything
    return [download_one(n, dest_dir, base_url, progress) for n in names]
