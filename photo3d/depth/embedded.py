"""Depth maps that phones store inside their photos.

Containers read (each parsed structurally: JPEG markers and lengths, the MPF TIFF index,
XMP packets with ElementTree; no pattern search over the binary file):

* **GDepth XMP** (Google "depthmap metadata", Lens Blur): properties in the namespace
  ``http://ns.google.com/photos/1.0/depthmap/`` (``.../1.0/depth/`` also accepted):
  ``Format`` (RangeInverse | RangeLinear), ``Near``, ``Far``, ``Mime``, ``Units`` and the
  base64 depth image ``Data``, which is normally too big for one APP1 segment and lives in
  Extended XMP (``http://ns.adobe.com/xmp/extension/`` segments: 32-byte GUID, full length,
  offset, chunk), tied to the main packet by ``xmpNote:HasExtendedXMP``. JPEG and PNG
  (iTXt ``XML:com.adobe.xmp``) containers.
* **Dynamic Depth 1.0** (Android): a ``Container:Directory`` of ``Item`` entries (``Mime``,
  ``Length``, ``Padding``, ``DataURI``; the Motion Photo flavour adds ``Semantic``) whose
  payloads are appended after the primary JPEG in directory order; the camera's
  ``DepthMap`` element (``Format``, ``Near``, ``Far``, ``Units``, ``DepthURI`` or
  ``ItemSemantic``) says which item is the depth image and how to decode it.
* **Apple portrait JPEG**: MPF (APP2 ``MPF\\0``) lists secondary images; the depth one
  carries XMP in ``http://ns.apple.com/pixeldatainfo/1.0/`` (``apdi:``) with
  ``AuxiliaryImageType`` "disparity"/"depth" (or none, with ``depthData:`` properties),
  ``NativeFormat`` ('hdis'/'fdis' disparity, 'hdep'/'fdep' depth) and optionally
  ``FloatMinValue``/``FloatMaxValue`` for the stored 0..IntMaxValue range. Portrait
  mattes (``...:aux:portraiteffectsmatte``), semantic mattes and HDR gain maps are skipped.
* **HEIF/HEIC** (Apple portrait HEIC and others): the primary image's depth auxiliary
  image as libheif reports it through pillow-heif (``info["depth_images"]``); its
  representation (ISO/IEC 23002-3: uniform inverse Z, uniform disparity, uniform Z) gives
  the kind, otherwise disparity (Apple's convention) normalised to [0, 1].

Range formats (v = stored value / 255, or / 65535 for 16-bit images):
``RangeLinear``: d = v * (far - near) + near;
``RangeInverse``: d = far * near / (far - v * (far - near)), so v = 0 is near and v = 1 far.

Orientation: depth read from a JPEG or PNG follows the file's EXIF orientation exactly as
:func:`photo3d.io.read_image` does (same table), so it lines up with the upright photo.
The map keeps its own resolution; the caller stretches it to the photo's size (as the
GDepth spec says).
"""
from __future__ import annotations

import base64
import binascii
import logging
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import Photo3DError

log = logging.getLogger("photo3d")

GDEPTH_NS = ("http://ns.google.com/photos/1.0/depthmap/", "http://ns.google.com/photos/1.0/depth/")
ITEM_NS = ("http://ns.google.com/photos/dd/1.0/item/", "http://ns.google.com/photos/1.0/container/item/")
DEPTHMAP_NS = ("http://ns.google.com/photos/dd/1.0/depthmap/",)
XMP_NOTE_NS = ("http://ns.adobe.com/xmp/note/",)
APPLE_PIXEL_INFO_NS = ("http://ns.apple.com/pixeldatainfo/1.0/",)
APPLE_DEPTH_DATA_NS = ("http://ns.apple.com/depthData/1.0/",)

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\x00"
EXTENDED_XMP_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\x00"
MPF_SIGNATURE = b"MPF\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Core Video pixel formats (four-char codes) of Apple depth data.
APPLE_DISPARITY_FORMATS = {"hdis", "fdis"}
APPLE_DEPTH_FORMATS = {"hdep", "fdep"}
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}

_MARKER_SOI, _MARKER_EOI, _MARKER_SOS = 0xD8, 0xD9, 0xDA
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0..7: no length field
_MPF_ENTRY_TAG = 0xB002
_MPF_ENTRY_BYTES = 16


@dataclass
class EmbeddedDepth:
    """A depth map found inside a photo file.

    values: (h, w) float32 at the map's own resolution, upright like the photo.
    kind: "depth" (larger = farther; metric when ``metadata`` has units) or
        "disparity" (larger = nearer).
    source: which container held it: "GDepth XMP", "Dynamic Depth", "MPF",
        "Apple HEIC disparity" or "HEIF depth".
    metadata: what the container said (format, near, far, units, ...).
    """

    values: np.ndarray
    kind: str
    source: str
    metadata: dict = field(default_factory=dict)


class MalformedDepth(Exception):
    """Internal: the container claims a depth map but its data is broken."""


# ---------------------------------------------------------------------------------------
# JPEG structure
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class JpegSegment:
    """One marker segment: ``marker`` byte (0xE1 = APP1, ...), ``start`` offset of its 0xFF,
    ``payload`` the bytes after the 2-byte length field."""

    marker: int
    start: int
    payload: bytes


def jpeg_segments(data: bytes, start: int = 0) -> list[JpegSegment]:
    """The header segments of the JPEG at ``data[start:]``, from SOI up to (excluding) SOS."""
    if data[start:start + 2] != b"\xff\xd8":
        raise MalformedDepth(f"no JPEG start marker at byte {start}")
    segments: list[JpegSegment] = []
    pos = start + 2
    while True:
        marker, pos = _next_marker(data, pos)
        if marker in (_MARKER_SOS, _MARKER_EOI):
            return segments
        if marker in _STANDALONE_MARKERS:
            continue
        length = _segment_length(data, pos)
        segments.append(JpegSegment(marker, pos - 2, data[pos + 2:pos + length]))
        pos += length


def jpeg_end(data: bytes, start: int = 0) -> int:
    """Offset just past the EOI marker of the JPEG that begins at ``data[start]``.

    Walks marker segments and, after each SOS, the entropy-coded data (where 0xFF is
    followed by a stuffed 0x00, a restart marker or fill bytes), so progressive JPEGs with
    several scans are handled.
    """
    if data[start:start + 2] != b"\xff\xd8":
        raise MalformedDepth(f"no JPEG start marker at byte {start}")
    pos = start + 2
    while True:
        marker, pos = _next_marker(data, pos)
        if marker == _MARKER_EOI:
            return pos
        if marker in _STANDALONE_MARKERS:
            continue
        pos += _segment_length(data, pos)
        if marker == _MARKER_SOS:
            pos = _skip_entropy_data(data, pos)


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at ``pos`` (fill bytes 0xFF skipped) and the offset after it."""
    if pos >= len(data) or data[pos] != 0xFF:
        raise MalformedDepth(f"JPEG marker expected at byte {pos}")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise MalformedDepth("JPEG truncated inside a marker")
    return data[pos], pos + 1


def _segment_length(data: bytes, pos: int) -> int:
    if pos + 2 > len(data):
        raise MalformedDepth("JPEG truncated at a segment length")
    length = int.from_bytes(data[pos:pos + 2], "big")
    if length < 2 or pos + length > len(data):
        raise MalformedDepth(f"JPEG segment at byte {pos - 2} has a bad length {length}")
    return length


def _skip_entropy_data(data: bytes, pos: int) -> int:
    """Offset of the first real marker after entropy-coded data starting at ``pos``."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise MalformedDepth("JPEG ends inside its scan data (no EOI)")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


# ---------------------------------------------------------------------------------------
# XMP
# ---------------------------------------------------------------------------------------

def _split_tag(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def parse_xmp(packet: bytes | str) -> ET.Element:
    """Parse one XMP packet (an ``x:xmpmeta`` document, optionally in ``<?xpacket?>``)."""
    text = packet.decode("utf-8", errors="replace") if isinstance(packet, bytes) else packet
    text = text.strip().strip("\x00").strip()
    if "<!DOCTYPE" in text or "<!ENTITY" in text:  # XMP never needs a DTD; refuse entity tricks
        raise MalformedDepth("XMP packet with a DTD")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise MalformedDepth(f"XMP is not well-formed XML ({exc})") from None


def xmp_properties(element: ET.Element, namespaces: tuple[str, ...]) -> dict[str, str]:
    """Simple properties in ``namespaces`` on one element: its attributes and its leaf children."""
    props: dict[str, str] = {}
    for name, value in element.attrib.items():
        ns, local = _split_tag(name)
        if ns in namespaces:
            props[local] = value.strip()
    for child in element:
        ns, local = _split_tag(child.tag)
        if ns in namespaces and len(child) == 0:
            props[local] = (child.text or "").strip()
    return props


def xmp_nodes(roots: list[ET.Element], namespaces: tuple[str, ...]) -> list[dict[str, str]]:
    """Property dicts of every element (document order) that has properties in ``namespaces``."""
    return [props for root in roots for element in root.iter()
            if (props := xmp_properties(element, namespaces))]


def _merged(nodes: list[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for props in nodes:
        merged.update(props)
    return merged


def jpeg_xmp_packets(segments: list[JpegSegment]) -> tuple[bytes | None, list[bytes]]:
    """The standard XMP packet (or None) and the Extended XMP chunks of a JPEG header."""
    standard = [s.payload[len(XMP_SIGNATURE):] for s in segments
                if s.marker == 0xE1 and s.payload.startswith(XMP_SIGNATURE)]
    chunks = [s.payload[len(EXTENDED_XMP_SIGNATURE):] for s in segments
              if s.marker == 0xE1 and s.payload.startswith(EXTENDED_XMP_SIGNATURE)]
    return (standard[0] if standard else None), chunks


def jpeg_xmp(segments: list[JpegSegment]) -> list[ET.Element]:
    """The parsed standard XMP packet and, when present, the reassembled Extended XMP."""
    standard, chunks = jpeg_xmp_packets(segments)
    if standard is None:
        return []
    roots = [parse_xmp(standard)]
    if chunks:
        guid = _merged(xmp_nodes(roots, XMP_NOTE_NS)).get("HasExtendedXMP")
        roots.append(parse_xmp(_assemble_extended_xmp(chunks, guid)))
    return roots


def _mentions_depth(packet: bytes | str | None) -> bool:
    """Whether an (unparsable) XMP packet declares one of the depth namespaces."""
    if not packet:
        return False
    if isinstance(packet, str):
        packet = packet.encode("utf-8", errors="replace")
    return any(ns.encode() in packet for ns in (*GDEPTH_NS, *DEPTHMAP_NS, *ITEM_NS))


def _assemble_extended_xmp(chunks: list[bytes], guid: str | None) -> bytes:
    """Join Extended XMP chunks (GUID[32] | full length u32 | offset u32 | data) of one GUID."""
    by_guid: dict[str, list[tuple[int, int, bytes]]] = {}
    for chunk in chunks:
        if len(chunk) < 40:
            raise MalformedDepth("Extended XMP chunk shorter than its header")
        full_length, offset = struct.unpack(">II", chunk[32:40])
        by_guid.setdefault(chunk[:32].decode("ascii", "replace"), []).append((full_length, offset, chunk[40:]))
    if guid is None:
        if len(by_guid) != 1:
            raise MalformedDepth("Extended XMP without xmpNote:HasExtendedXMP and several GUIDs")
        guid = next(iter(by_guid))
    if guid not in by_guid:
        raise MalformedDepth(f"Extended XMP chunks for GUID {guid} are missing")
    parts = by_guid[guid]
    full_length = parts[0][0]
    if any(p[0] != full_length for p in parts):
        raise MalformedDepth("Extended XMP chunks disagree on the full length")
    packet = bytearray(full_length)
    covered = 0
    for _, offset, payload in sorted(parts, key=lambda p: p[1]):
        if offset + len(payload) > full_length:
            raise MalformedDepth("Extended XMP chunk runs past the full length")
        packet[offset:offset + len(payload)] = payload
        covered += len(payload)
    if covered != full_length:
        raise MalformedDepth(f"Extended XMP incomplete ({covered} of {full_length} bytes)")
    return bytes(packet)


# ---------------------------------------------------------------------------------------
# Decoding depth images and ranges
# ---------------------------------------------------------------------------------------

def decode_grey_image(data: bytes, what: str) -> tuple[np.ndarray, int]:
    """Decode PNG/JPEG bytes to the first channel and the largest storable value (255/65535)."""
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if decoded is None:
        raise MalformedDepth(f"{what}: the depth image does not decode")
    if decoded.ndim == 3:
        decoded = decoded[..., 0]  # grey stored as colour: channels are equal
    if decoded.dtype == np.uint8:
        return decoded, 255
    if decoded.dtype == np.uint16:
        return decoded, 65535
    raise MalformedDepth(f"{what}: unsupported depth image type {decoded.dtype}")


def decode_range(normalised: np.ndarray, fmt: str, near: float, far: float) -> np.ndarray:
    """Depth from normalised values v in [0, 1] (see the module docstring for the formulas).

    Args:
        normalised: (h, w) float.
        fmt: "RangeLinear" or "RangeInverse" (case-insensitive).
    Returns:
        (h, w) float32 depth in the map's units.
    """
    if not (np.isfinite(near) and np.isfinite(far)) or near == far:
        raise MalformedDepth(f"bad depth range near={near} far={far}")
    v = normalised.astype(np.float64)
    kind = fmt.strip().lower()
    if kind == "rangelinear":
        return (v * (far - near) + near).astype(np.float32)
    if kind == "rangeinverse":
        if near <= 0 or far <= 0:
            raise MalformedDepth(f"RangeInverse needs positive near/far, got {near}, {far}")
        return (far * near / (far - v * (far - near))).astype(np.float32)
    raise MalformedDepth(f"unknown depth format {fmt!r}")


def _float(props: dict[str, str], key: str, what: str) -> float:
    if key not in props:
        raise MalformedDepth(f"{what}: {key} missing")
    try:
        return float(props[key])
    except ValueError:
        raise MalformedDepth(f"{what}: {key}={props[key]!r} is not a number") from None


# ---------------------------------------------------------------------------------------
# GDepth
# ---------------------------------------------------------------------------------------

def _gdepth(roots: list[ET.Element]) -> EmbeddedDepth | None:
    props = _merged(xmp_nodes(roots, GDEPTH_NS))
    if "Data" not in props:
        return None
    try:
        payload = base64.b64decode("".join(props["Data"].split()), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedDepth("GDepth:Data is not valid base64") from None
    raw, top = decode_grey_image(payload, "GDepth")
    fmt = props.get("Format", "RangeInverse")  # the spec's default
    near, far = _float(props, "Near", "GDepth"), _float(props, "Far", "GDepth")
    values = decode_range(raw / top, fmt, near, far)
    meta = {"format": fmt, "near": near, "far": far, "units": props.get("Units", "m"),
            "mime": props.get("Mime", "image/jpeg"), "measure_type": props.get("MeasureType", "OpticalAxis")}
    return EmbeddedDepth(values, "depth", "GDepth XMP", meta)


# ---------------------------------------------------------------------------------------
# Dynamic Depth
# ---------------------------------------------------------------------------------------

def _dynamic_depth(roots: list[ET.Element], data: bytes) -> EmbeddedDepth | None:
    items = xmp_nodes(roots, ITEM_NS)
    if not items or not any("Mime" in item for item in items):
        return None
    depth_maps = xmp_nodes(roots, DEPTHMAP_NS)
    depth_map = next((d for d in depth_maps if "Format" in d or "Near" in d), None)
    if depth_map is None:  # a container directory with the range in GDepth properties
        gdepth = _merged(xmp_nodes(roots, GDEPTH_NS))
        depth_map = gdepth if "Near" in gdepth and "Far" in gdepth else None
    index = _depth_item_index(items, depth_map)
    if index is None:
        return None
    if index == 0:
        raise MalformedDepth("Dynamic Depth: the depth item is the primary image")
    lengths, paddings = [], []
    for item in items:
        try:
            lengths.append(int(item.get("Length", "0")))
            paddings.append(int(item.get("Padding", "0")))
        except ValueError:
            raise MalformedDepth("Dynamic Depth: Item:Length/Padding is not an integer") from None
    if any(n < 0 for n in lengths) or lengths[index] <= 0:
        raise MalformedDepth("Dynamic Depth: bad item length")
    # Items follow the primary image in directory order. Count back from the end of the
    # file first (robust to padding after the primary image), then forward from the
    # primary image's EOI (robust to vendor trailers after the items).
    from_tail = len(data) - sum(lengths[1:]) + sum(lengths[1:index])
    primary_end = jpeg_end(data, 0)
    from_head = primary_end + paddings[0] + sum(lengths[1:index])
    raw = None
    for start in dict.fromkeys((from_tail, from_head)):
        if start < primary_end or start + lengths[index] > len(data):
            continue
        try:
            raw, top = decode_grey_image(data[start:start + lengths[index] - paddings[index]], "Dynamic Depth")
            break
        except MalformedDepth:
            continue
    if raw is None:
        raise MalformedDepth("Dynamic Depth: the listed depth item is not a decodable image after the primary image")
    meta: dict = {"item_mime": items[index].get("Mime", "")}
    if depth_map is None:  # Motion-Photo-style directory without camera metadata
        return EmbeddedDepth((raw / top).astype(np.float32), "depth", "Dynamic Depth",
                             {**meta, "format": "normalised"})
    fmt = depth_map.get("Format", "RangeInverse")
    near, far = _float(depth_map, "Near", "DepthMap"), _float(depth_map, "Far", "DepthMap")
    units = depth_map.get("Units", "Meters")
    values = decode_range(raw / top, fmt, near, far)
    kind = "disparity" if units.lower() == "diopters" else "depth"  # diopters = 1 / metres
    meta.update(format=fmt, near=near, far=far, units=units)
    return EmbeddedDepth(values, kind, "Dynamic Depth", meta)


def _depth_item_index(items: list[dict[str, str]], depth_map: dict[str, str] | None) -> int | None:
    """Which directory item holds the depth image: by DepthURI, ItemSemantic, or Semantic."""
    if depth_map is not None and depth_map.get("DepthURI"):
        for i, item in enumerate(items):
            if item.get("DataURI") == depth_map["DepthURI"]:
                return i
    semantic = (depth_map or {}).get("ItemSemantic", "Depth")
    for i, item in enumerate(items):
        if item.get("Semantic", "").lower() == semantic.lower():
            return i
    return None


# ---------------------------------------------------------------------------------------
# MPF (Apple portrait JPEG)
# ---------------------------------------------------------------------------------------

def mpf_image_ranges(segments: list[JpegSegment]) -> list[tuple[int, int]]:
    """(offset, size) in the file of every image the MPF index lists after the first."""
    mpf = next((s for s in segments if s.marker == 0xE2 and s.payload.startswith(MPF_SIGNATURE)), None)
    if mpf is None:
        return []
    tiff = mpf.payload[len(MPF_SIGNATURE):]
    base = mpf.start + 4 + len(MPF_SIGNATURE)  # MPF offsets count from the endian field
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        raise MalformedDepth("MPF header has no TIFF byte-order mark")
    endian = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack_from(endian + "I", tiff, 4)
        (count,) = struct.unpack_from(endian + "H", tiff, ifd)
        for k in range(count):
            tag, _type, n, value = struct.unpack_from(endian + "HHII", tiff, ifd + 2 + 12 * k)
            if tag != _MPF_ENTRY_TAG:
                continue
            entries = []
            for e in range(n // _MPF_ENTRY_BYTES):
                _attr, size, offset = struct.unpack_from(endian + "III", tiff, value + _MPF_ENTRY_BYTES * e)
                entries.append((offset, size))
            return [(base + offset, size) for offset, size in entries[1:]]
    except struct.error:
        raise MalformedDepth("MPF index is truncated") from None
    raise MalformedDepth("MPF index has no MP entry list")


def _apple_mpf_depth(data: bytes, segments: list[JpegSegment]) -> EmbeddedDepth | None:
    for offset, size in mpf_image_ranges(segments):
        if offset + size > len(data) or data[offset:offset + 2] != b"\xff\xd8":
            raise MalformedDepth(f"MPF image at byte {offset} is not a JPEG inside the file")
        image = data[offset:offset + size]
        roots = jpeg_xmp(jpeg_segments(image))
        info = _merged(xmp_nodes(roots, APPLE_PIXEL_INFO_NS))
        has_depth_data = bool(xmp_nodes(roots, APPLE_DEPTH_DATA_NS))
        kind = _apple_aux_kind(info, has_depth_data)
        if kind is None:
            continue
        raw, top = decode_grey_image(image, "MPF depth image")
        values, meta = _apple_values(raw, top, info)
        return EmbeddedDepth(values, kind, "MPF", meta)
    return None


def _apple_aux_kind(info: dict[str, str], has_depth_data: bool) -> str | None:
    """"disparity"/"depth" for Apple's depth auxiliary image, None for mattes, gain maps, ..."""
    aux_type = info.get("AuxiliaryImageType", "").strip().lower()
    fmt = _fourcc(info.get("NativeFormat", ""))
    if aux_type:
        last = aux_type.rsplit(":", 1)[-1]
        if last not in ("disparity", "depth"):
            return None
        if fmt in APPLE_DEPTH_FORMATS or fmt in APPLE_DISPARITY_FORMATS:
            return "depth" if fmt in APPLE_DEPTH_FORMATS else "disparity"
        return last
    if fmt in APPLE_DEPTH_FORMATS:
        return "depth"
    if fmt in APPLE_DISPARITY_FORMATS or has_depth_data:
        return "disparity"
    return None


def _fourcc(code: str) -> str:
    """Apple writes pixel formats as decimal integers of a four-char code."""
    try:
        return int(code).to_bytes(4, "big").decode("ascii")
    except (ValueError, OverflowError, UnicodeDecodeError):
        return code.strip()


def _apple_values(raw: np.ndarray, top: int, info: dict[str, str]) -> tuple[np.ndarray, dict]:
    """Stored integers to floats: [IntMin, IntMax] -> [FloatMin, FloatMax] when given, else v / top."""
    meta: dict = {"native_format": _fourcc(info.get("NativeFormat", ""))}
    if "FloatMinValue" in info and "FloatMaxValue" in info:
        lo, hi = _float(info, "FloatMinValue", "apdi"), _float(info, "FloatMaxValue", "apdi")
        int_lo = float(info.get("IntMinValue", 0))
        int_hi = float(info.get("IntMaxValue", top))
        if int_hi == int_lo or not (np.isfinite(lo) and np.isfinite(hi)):
            raise MalformedDepth("apdi: bad value range")
        values = lo + (raw.astype(np.float64) - int_lo) * ((hi - lo) / (int_hi - int_lo))
        meta.update(float_min=lo, float_max=hi)
        return values.astype(np.float32), meta
    meta["format"] = "normalised"
    return (raw / top).astype(np.float32), meta


# ---------------------------------------------------------------------------------------
# HEIF
# ---------------------------------------------------------------------------------------

# ISO/IEC 23002-3 depth representation types as libheif numbers them.
_HEIF_UNIFORM_INVERSE_Z, _HEIF_UNIFORM_DISPARITY, _HEIF_UNIFORM_Z = 0, 1, 2


def _is_heif(data: bytes) -> bool:
    return len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def _heif_depth(path: Path) -> EmbeddedDepth | None:
    try:
        import pillow_heif
    except ImportError:
        log.warning("%s: pillow-heif is not installed; cannot look for HEIC depth", path)
        return None
    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=False)
        depth_images = heif.info.get("depth_images") or []
        if not depth_images:
            return None
        depth = depth_images[0]
        raw = np.asarray(depth)
    except Exception as exc:  # libheif reports broken files with assorted exceptions
        raise MalformedDepth(f"HEIF depth image unreadable ({exc.__class__.__name__}: {exc})") from None
    if raw.ndim == 3:
        raw = raw[..., 0]
    top = float(np.iinfo(raw.dtype).max) if raw.dtype.kind in "ui" else 1.0
    if raw.dtype == np.uint16 and depth.info.get("bit_depth", 16) < 16:
        top = float((1 << int(depth.info["bit_depth"])) - 1)
    v = raw.astype(np.float64) / top
    meta = dict(depth.info.get("metadata") or {})
    rep = meta.get("representation_type")
    near, far = meta.get("z_near"), meta.get("z_far")
    d_min, d_max = meta.get("d_min"), meta.get("d_max")
    if rep == _HEIF_UNIFORM_Z and near is not None and far is not None:
        return EmbeddedDepth((near + v * (far - near)).astype(np.float32), "depth", "HEIF depth", meta)
    if rep == _HEIF_UNIFORM_INVERSE_Z and near is not None and far is not None:
        inverse = 1.0 / far + v * (1.0 / near - 1.0 / far)  # v = 1 is the near plane
        return EmbeddedDepth(inverse.astype(np.float32), "disparity", "HEIF depth", meta)
    if rep == _HEIF_UNIFORM_DISPARITY and d_min is not None and d_max is not None:
        return EmbeddedDepth((d_min + v * (d_max - d_min)).astype(np.float32), "disparity", "HEIF depth", meta)
    return EmbeddedDepth(v.astype(np.float32), "disparity", "Apple HEIC disparity",
                         {**meta, "format": "normalised"})


# ---------------------------------------------------------------------------------------
# PNG
# ---------------------------------------------------------------------------------------

def _find_in_png(path: Path) -> tuple[EmbeddedDepth | None, list[str]]:
    """GDepth in the PNG's iTXt XMP; like JPEG, broken XMP matters only when it is about depth."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            packet = im.info.get("XML:com.adobe.xmp")
    except (OSError, SyntaxError, ValueError) as exc:  # what PIL raises for damaged PNGs
        raise MalformedDepth(f"PNG unreadable ({exc.__class__.__name__}: {exc})") from None
    if not packet:
        return None, []
    try:
        roots = [parse_xmp(packet)]
    except MalformedDepth as exc:
        return None, ([str(exc)] if _mentions_depth(packet) else [])
    return _gdepth(roots), []


# ---------------------------------------------------------------------------------------
# Orientation and the entry point
# ---------------------------------------------------------------------------------------

def _upright(depth: EmbeddedDepth, path: Path) -> EmbeddedDepth:
    """Turn the map as :func:`photo3d.io.read_image` turns the photo (same EXIF table)."""
    from ..io import apply_exif_orientation

    depth.values, orientation = apply_exif_orientation(depth.values, path)
    if orientation != 1:
        depth.metadata["exif_orientation"] = orientation
    return depth


def _find_in_jpeg(path: Path, data: bytes) -> tuple[EmbeddedDepth | None, list[str]]:
    problems: list[str] = []
    segments = jpeg_segments(data)
    roots: list[ET.Element] = []
    try:
        roots = jpeg_xmp(segments)
    except MalformedDepth as exc:
        standard, _ = jpeg_xmp_packets(segments)
        if _mentions_depth(standard):  # broken XMP that has nothing to do with depth is not our problem
            problems.append(str(exc))
    for reader in (lambda: _gdepth(roots), lambda: _dynamic_depth(roots, data),
                   lambda: _apple_mpf_depth(data, segments)):
        try:
            found = reader()
        except MalformedDepth as exc:
            problems.append(str(exc))
            continue
        if found is not None:
            return found, problems
    return None, problems


def read_embedded_depth(path: str | Path, *, strict: bool = False) -> EmbeddedDepth | None:
    """The depth map stored inside a photo, or None when it carries none.

    Args:
        path: a JPEG, PNG or HEIF/HEIC photo.
        strict: raise instead of warning when a depth map is present but broken (use it
            when the user asked for the embedded depth explicitly).

    Returns:
        An :class:`EmbeddedDepth` (values ``(h, w)`` float32 at the map's resolution,
        upright like :func:`photo3d.io.read_image`), or None.

    Raises:
        Photo3DError: unreadable file, or (``strict``) broken embedded depth.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Photo3DError(f"{path}: cannot read ({exc.strerror or exc})") from None
    problems: list[str] = []
    found: EmbeddedDepth | None = None
    try:
        if data.startswith(b"\xff\xd8"):
            found, problems = _find_in_jpeg(path, data)
        elif data.startswith(PNG_SIGNATURE):
            found, problems = _find_in_png(path)
        elif _is_heif(data):
            found = _heif_depth(path)
        if found is not None and data.startswith((b"\xff\xd8", PNG_SIGNATURE)):
            found = _upright(found, path)
    except MalformedDepth as exc:
        problems.append(str(exc))
    if found is not None:
        if not np.isfinite(found.values).all():
            problems.append(f"{found.source}: decoded depth has non-finite values")
        else:
            return found
    if problems:
        message = f"{path}: embedded depth is malformed ({'; '.join(problems)})"
        if strict:
            raise Photo3DError(message)
        log.warning("%s; ignoring it", message)
    return None
