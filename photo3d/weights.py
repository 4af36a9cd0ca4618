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

import contextlib
import hashlib
import http.client
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from .errors import Photo3DError

if TYPE_CHECKING:  # torch is imported lazily: `photo3d weights list` must not need it
    import torch

_REFERENCE_URL = "https://filebox.ece.vt.edu/~jbhuang/project/3DPhoto/model/"
# A live mirror of the reference's files (its own filebox links are dead for many users),
# pinned to one revision of the Space so that the bytes behind the URL cannot change.
_REFERENCE_MIRROR = ("https://huggingface.co/spaces/Epoching/3D_Photo_Inpainting/resolve/"
                     "e389e564fd2a55cf/checkpoints/")
_DEPTH_ANYTHING_HUB = "https://huggingface.co/depth-anything/"
_DEPTH_ANYTHING_URL = _DEPTH_ANYTHING_HUB + "Depth-Anything-V2-Small/resolve/main/"
log = logging.getLogger("photo3d")
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
    mirrors: tuple[str, ...] = ()
    """Further full URLs of the same file, tried in order after ``url``."""
    schema: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """(key, shape) pairs a file must hold to be installed when no sha256 is pinned."""
    licence: str = ""
    """The weights' licence; a non-commercial one is shown once when they are used."""
    size_mb: int = 0
    """Approximate download size (for the first-use note)."""

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL of the file, in the order they are tried."""
        return (self.url, *self.mirrors)

    @property
    def candidate_names(self) -> tuple[str, str]:
        """File names accepted for this weight: the published one, then ``<stem>.safetensors``."""
        return self.filename, Path(self.filename).stem + ".safetensors"


def _vit_dpt_schema(embed_dim: int, last_block: int, project0: int) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Signature keys and shapes of a Depth Anything V2 file (DINOv2 ViT + DPT head)."""
    return (
        ("pretrained.cls_token", (1, 1, embed_dim)),
        ("pretrained.patch_embed.proj.weight", (embed_dim, 3, 14, 14)),
        (f"pretrained.blocks.{last_block}.mlp.fc2.weight", (embed_dim, 4 * embed_dim)),
        ("depth_head.projects.0.weight", (project0, embed_dim, 1, 1)),
        ("depth_head.scratch.output_conv2.2.weight", (1, 32, 1, 1)),
    )


_NON_COMMERCIAL = "CC-BY-NC-4.0 (non-commercial use only)"

REGISTRY: dict[str, WeightSpec] = {
    spec.name: spec
    for spec in (
        WeightSpec("edge", "edge-model.pth", _REFERENCE_MIRROR + "edge-model.pth",
                   "b1d768bd008ad5fe9f540004f870b8c3d355e4939b2009aa4db493fd313217c9",
                   "edge inpainting network (Shih et al. 2020)",
                   mirrors=(_REFERENCE_URL + "edge-model.pth",), size_mb=40),
        WeightSpec("depth", "depth-model.pth", _REFERENCE_MIRROR + "depth-model.pth",
                   "2d0e63e89a22762ddfa8bc8c9f8c992e5532b140123274ffc6e4171baa1b76f8",
                   "depth inpainting network (Shih et al. 2020)",
                   mirrors=(_REFERENCE_URL + "depth-model.pth",), size_mb=200),
        WeightSpec("color", "color-model.pth", _REFERENCE_MIRROR + "color-model.pth",
                   "383c9b1db70097907a6f9c8abb0303e7056f50d5456a36f34ab784592b8b2c20",
                   "colour inpainting network (Shih et al. 2020)",
                   mirrors=(_REFERENCE_URL + "color-model.pth",), size_mb=200),
        WeightSpec("depth_anything_v2_vits", "depth_anything_v2_vits.pth",
                   _DEPTH_ANYTHING_URL + "depth_anything_v2_vits.pth", None,
                   "Depth Anything V2 Small, monocular depth (Apache-2.0)",
                   schema=_vit_dpt_schema(384, 11, 48), licence="Apache-2.0", size_mb=99),
        WeightSpec("depth_anything_v2_vitb", "depth_anything_v2_vitb.pth",
                   _DEPTH_ANYTHING_HUB + "Depth-Anything-V2-Base/resolve/main/depth_anything_v2_vitb.pth", None,
                   f"Depth Anything V2 Base, monocular depth ({_NON_COMMERCIAL})",
                   schema=_vit_dpt_schema(768, 11, 96), licence=_NON_COMMERCIAL, size_mb=390),
        WeightSpec("depth_anything_v2_vitl", "depth_anything_v2_vitl.pth",
                   _DEPTH_ANYTHING_HUB + "Depth-Anything-V2-Large/resolve/main/depth_anything_v2_vitl.pth", None,
                   f"Depth Anything V2 Large, monocular depth ({_NON_COMMERCIAL})",
                   schema=_vit_dpt_schema(1024, 23, 256), licence=_NON_COMMERCIAL, size_mb=1340),
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

def _load_problem(exc: BaseException) -> str:
    """A short reason why a weight file did not load. torch's refusal of pickled objects
    goes on to suggest ``weights_only=False``, which would run the file's code: that advice
    is never passed on."""
    text = " ".join(str(exc).split())
    if "weights only" in text.lower() or "weights_only" in text:
        return "it holds Python objects, not only tensors; photo3d never unpickles weight files"
    if not text:
        return type(exc).__name__
    return text[:200]


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
        raise Photo3DError(f"{path}: cannot read weights ({_load_problem(exc)})") from exc
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

def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_urls(spec: WeightSpec, base_url: str | None) -> tuple[str, ...]:
    """The spec's URLs in order, or ``base_url`` + file name when a replacement prefix is given."""
    base = base_url or os.environ.get("PHOTO3D_WEIGHTS_URL")
    if not base:
        return spec.urls
    return (base.rstrip("/") + "/" + spec.filename,)


DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds without an answer before a mirror counts as unreachable
READ_TIMEOUT = 60.0  # seconds without a byte once a download has started
_OFFLINE_VARS = ("PHOTO3D_OFFLINE", "HF_HUB_OFFLINE")
_HTML_STARTS = (b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")


def connect_timeout() -> float:
    """Seconds to wait for a server's answer: ``$PHOTO3D_CONNECT_TIMEOUT`` or 5."""
    try:
        return max(0.05, float(os.environ.get("PHOTO3D_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)))
    except ValueError:
        return DEFAULT_CONNECT_TIMEOUT


def offline_reason() -> str | None:
    """``"PHOTO3D_OFFLINE=1"`` (or ``HF_HUB_OFFLINE``) when downloads are switched off, else None."""
    for var in _OFFLINE_VARS:
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return f"{var}={os.environ[var]}"
    return None


class _MirrorFailed(Exception):
    """One URL did not give the file; the next mirror is tried. ``keep_part``: the partial
    download can be resumed from this URL."""

    def __init__(self, reason: str, keep_part: bool = False):
        super().__init__(reason)
        self.keep_part = keep_part


def _fetch(url: str, part: Path, progress: bool, label: str, on_start: Callable[[str], None] | None = None) -> None:
    """Append the bytes of ``url`` to ``part``, resuming with an HTTP Range request.

    Raises _MirrorFailed: HTTP error, no answer within :func:`connect_timeout`, an HTML
    page instead of a file, a connection lost before the end.
    """
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "photo3d"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=connect_timeout())
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is already complete
            return
        raise _MirrorFailed(f"HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            reason = f"no answer within {connect_timeout():g} s"
        raise _MirrorFailed(str(reason)) from exc
    with response:
        with contextlib.suppress(Exception):  # a stalled transfer may wait longer than a connect
            response.fp.raw._sock.settimeout(max(READ_TIMEOUT, connect_timeout()))
        if "html" in (response.headers.get("Content-Type") or "").lower():
            raise _MirrorFailed("the server sent an HTML page, not a weight file")
        if on_start is not None:
            on_start(url)
        resumed = offset > 0 and response.status == 206
        if offset and not resumed:  # server ignored Range: start again
            offset = 0
        ranges = resumed or "bytes" in (response.headers.get("Accept-Ranges") or "").lower()
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None and length.isdigit() else None
        from tqdm import tqdm

        with open(part, "ab" if resumed else "wb") as out, tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                desc=label, disable=not progress, leave=False) as bar:
            try:
                first = True
                for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                    if first and offset == 0 and chunk.lstrip()[:9].lower().startswith(_HTML_STARTS):
                        raise _MirrorFailed("the server sent an HTML page, not a weight file")
                    first = False
                    out.write(chunk)
                    bar.update(len(chunk))
            except (OSError, http.client.HTTPException) as exc:
                raise _MirrorFailed(f"download interrupted ({type(exc).__name__})", keep_part=ranges) from exc
    if total is not None and part.stat().st_size != total:
        raise _MirrorFailed(f"download incomplete ({part.stat().st_size} of {total} bytes)", keep_part=ranges)


def _check_schema(spec: WeightSpec, path: Path) -> None:
    """Raise Photo3DError unless ``path`` loads as a state dict holding ``spec.schema``."""
    state = load_state_dict(path)
    for key, shape in spec.schema:
        if key not in state or tuple(state[key].shape) != tuple(shape):
            got = tuple(state[key].shape) if key in state else "missing"
            raise Photo3DError(f"{path}: not {spec.description.split(',')[0]} weights ({key}: {got})")


def _verify(spec: WeightSpec, path: Path) -> str:
    """Why ``path`` is not ``spec``'s file (hash or schema), or "" when it is."""
    if spec.sha256 is not None:
        actual = sha256_of(path)
        return "" if actual == spec.sha256 else f"sha256 mismatch (got {actual[:16]}..., expected {spec.sha256[:16]}...)"
    try:
        _check_schema(spec, path)
    except Photo3DError as exc:
        return str(exc).split(": ", 1)[-1]
    return ""


def recorded_hash_path(path: Path) -> Path:
    """The file beside a weight file recording its sha256 when it was installed."""
    return path.with_name(path.name + ".sha256")


def weight_status(name: str, path: Path) -> str:
    """"verified" (the pinned sha256, or the hash recorded when it was installed, matches),
    "unverified" (neither known: a file put there by hand) or "corrupt" (a hash differs)."""
    spec = get_spec(name)
    expected = spec.sha256
    recorded = recorded_hash_path(path)
    if expected is None and recorded.is_file():
        expected = recorded.read_text().split()[0] if recorded.read_text().split() else None
    if expected is None:
        return "unverified"
    return "verified" if sha256_of(path) == expected else "corrupt"


def _installed(spec: WeightSpec, target: Path) -> bool:
    """Whether ``target`` already holds ``spec``'s file (checked by hash where one is known)."""
    if not target.is_file():
        return False
    if spec.sha256 is None and not recorded_hash_path(target).is_file():
        return not _verify(spec, target)
    return weight_status(spec.name, target) == "verified"


def download_one(name: str, dest_dir: str | Path | None = None, base_url: str | None = None,
                 progress: bool = True, on_start: Callable[[str], None] | None = None) -> Path:
    """Download one registry entry into ``dest_dir`` (default: :func:`cache_dir`).

    Its URLs are tried in order (a mirror first). The bytes go to ``<file>.part``
    (resumed if present), and are installed (renamed atomically) only when they match the
    pinned sha256 or, for a file without one, load as weights with the expected keys and
    shapes (their sha256 is then recorded beside the file). An existing verified file is
    kept.

    Raises:
        Photo3DError: one line naming each URL tried and its problem (HTTP error, no
            answer, an HTML page, a truncated or wrong file). Nothing is left but a
            ``.part`` that the next call resumes, where the server supports ranges.
    """
    spec = get_spec(name)
    dest = Path(dest_dir) if dest_dir is not None else cache_dir()
    if dest.exists() and not dest.is_dir():
        raise Photo3DError(f"{dest}: download folder is not a folder")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Photo3DError(f"{dest}: cannot create the download folder ({exc.strerror or exc})") from None
    target = dest / spec.filename
    if _installed(spec, target):
        return target
    reason = offline_reason()
    if reason:
        raise Photo3DError(f"{spec.filename}: not downloaded, downloads are off ({reason})")
    with _download_lock(dest, spec.filename):  # batch workers may want the same file at once
        if _installed(spec, target):  # another process got it while we waited
            return target
        return _download_locked(spec, target, base_url, progress, on_start)


@contextlib.contextmanager
def _download_lock(dest: Path, filename: str):
    """An exclusive lock on downloading ``filename`` into ``dest`` (waits for another process)."""
    import fcntl

    lock = dest / f".{filename}.lock"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:  # the holder before us removes the file when done: lock the one that is there
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _download_locked(spec: WeightSpec, target: Path, base_url: str | None, progress: bool,
                     on_start: Callable[[str], None] | None) -> Path:
    """The body of :func:`download_one`, under its lock."""
    part = target.with_name(target.name + ".part")
    problems = []
    for url in _source_urls(spec, base_url):
        try:
            _fetch(url, part, progress, spec.filename, on_start)
        except _MirrorFailed as exc:
            problems.append(f"{url}: {exc}")
            if exc.keep_part:
                raise Photo3DError(f"{spec.filename}: {'; '.join(problems)}; run again to resume") from None
            part.unlink(missing_ok=True)
            continue
        except OSError as exc:  # the .part cannot be written
            part.unlink(missing_ok=True)
            raise Photo3DError(f"{part}: cannot write ({exc.strerror or exc})") from None
        problem = _verify(spec, part)
        if problem:
            part.unlink(missing_ok=True)
            problems.append(f"{url}: {problem}")
            continue
        digest = spec.sha256 or sha256_of(part)
        os.replace(part, target)
        if spec.sha256 is None:  # recorded, so that later changes to the file are seen
            recorded_hash_path(target).write_text(f"{digest}  {spec.filename}\n")
        return target
    raise Photo3DError(f"{spec.filename}: download failed: {'; '.join(problems)}")


def download(names: Iterable[str] | None = None, dest_dir: str | Path | None = None,
             base_url: str | None = None, progress: bool = True) -> list[Path]:
    """Download the named weights (default: the reference networks and Depth Anything V2
    Small; the larger, non-commercial depth variants only when named).

    Args:
        names: registry names.
        dest_dir: target directory (default: the user cache, :func:`cache_dir`).
        base_url: replaces each file's URL prefix (the file name is appended); the env
            variable ``PHOTO3D_WEIGHTS_URL`` does the same when this is None.
        progress: show a tqdm progress bar on stderr.

    Returns:
        The downloaded files' paths, in the order of ``names``.
    """
    names = list(names) if names else list(DEFAULT_DOWNLOADS)
    for name in names:
        get_spec(name)  # fail before downloading anything
    return [download_one(n, dest_dir, base_url, progress) for n in names]


DEFAULT_DOWNLOADS = ("edge", "depth", "color", "depth_anything_v2_vits")


def will_download(allow_download: bool) -> bool:
    """Whether a missing weight file would be downloaded: allowed and not offline."""
    return bool(allow_download) and offline_reason() is None


def ensure_weights(name: str, checkpoints_dir: str | Path | None = None, *, allow_download: bool = True,
                   fallback: str = "", progress: bool = False) -> Path | None:
    """The weight file ``name``, downloaded into the cache on first use when it is missing.

    Returns None when it is missing and not downloaded: silently when downloads are off
    (``allow_download=False``, ``PHOTO3D_OFFLINE=1``, ``HF_HUB_OFFLINE=1``: the caller
    warns about its fallback), else after one warning on the ``photo3d`` logger naming
    the problem and ``fallback`` (what is used instead): no mirror answering within
    :func:`connect_timeout`, or no file that passed its checks.
    """
    found = find_weights(name, checkpoints_dir)
    if found is not None or not will_download(allow_download):
        return found
    spec = get_spec(name)
    instead = f"; using {fallback}" if fallback else ""
    noted: list[str] = []

    def note(url: str) -> None:  # once, when a server answers (a failure is then one line only)
        if not noted:
            noted.append(url)
            log.warning(f"downloading {spec.description} (about {spec.size_mb} MB, once) from "
                        f"{urllib.parse.urlsplit(url).netloc} into {cache_dir()}")

    try:
        return download_one(name, None, None, progress, on_start=note)
    except Photo3DError as exc:
        log.warning(f"{exc}{instead}")
        return None
