"""Embedded depth: files built here byte by byte following the published containers.

* GDepth (Google depthmap metadata): standard XMP + Extended XMP over several APP1 segments.
* Dynamic Depth 1.0: container directory, items appended after the primary JPEG.
* Apple portrait JPEG: MPF index with a portrait matte and a disparity image.
* HEIF with a depth auxiliary image (boxes edited to add ``auxl``/``auxC``).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import struct
import warnings

import cv2
import numpy as np
import pytest

from photo3d.depth.embedded import (
    EXTENDED_XMP_SIGNATURE,
    XMP_SIGNATURE,
    jpeg_end,
    read_embedded_depth,
)
from photo3d.errors import Photo3DError

NEAR, FAR = 0.5, 8.0
APP1_MAX_PAYLOAD = 65533
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


# ---------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------

def known_depth(height: int = 90, width: int = 120, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """Depth in [NEAR, FAR]: a far ramp with a near box, optionally with noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    depth = NEAR + (FAR - NEAR) * (0.2 + 0.7 * x / (width - 1))
    depth[height // 4: height // 2, width // 5: width // 2] = NEAR + 0.1 * (FAR - NEAR)
    if noise:
        depth += np.random.default_rng(seed).uniform(-noise, noise, depth.shape)
    return np.clip(depth, NEAR, FAR)


def encode_range(depth: np.ndarray, fmt: str, bits: int) -> np.ndarray:
    """The spec's normalisation, quantised to 8 or 16 bits."""
    if fmt == "RangeInverse":
        v = FAR * (depth - NEAR) / (depth * (FAR - NEAR))
    else:
        v = (depth - NEAR) / (FAR - NEAR)
    top = (1 << bits) - 1
    return np.rint(v * top).astype(np.uint16 if bits == 16 else np.uint8)


def png_bytes(array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return buf.tobytes()


def jpeg_bytes(image_rgb: np.ndarray, quality: int = 95) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image_rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def grey_jpeg_bytes(grey: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".jpg", grey, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    return buf.tobytes()


def segment(marker: int, payload: bytes) -> bytes:
    assert len(payload) + 2 <= 0xFFFF
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_after_soi(jpeg: bytes, segments: bytes) -> bytes:
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + segments + jpeg[2:]


def xmp_packet(description_attrs: str, body: str = "", namespaces: str = "") -> bytes:
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
            f'<rdf:Description rdf:about="" {namespaces} {description_attrs}>{body}</rdf:Description>'
            f'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode("utf-8")


def scene_image(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def gdepth_jpeg(depth: np.ndarray, fmt: str, bits: int, *, namespace: str = "http://ns.google.com/photos/1.0/depthmap/",
                exif: bytes | None = None, image: np.ndarray | None = None,
                drop_chunk: bool = False) -> tuple[bytes, int]:
    """A JPEG with GDepth: properties in the standard XMP, Data in Extended XMP.

    Returns (file bytes, number of Extended XMP segments).
    """
    data_b64 = base64.b64encode(png_bytes(encode_range(depth, fmt, bits))).decode("ascii")
    extended = xmp_packet(f'GDepth:Data="{data_b64}"', namespaces=f'xmlns:GDepth="{namespace}"')
    guid = hashlib.md5(extended).hexdigest().upper()  # the spec's GUID: MD5 of the packet
    standard = xmp_packet(
        f'GDepth:Format="{fmt}" GDepth:Near="{NEAR}" GDepth:Far="{FAR}" GDepth:Mime="image/png" '
        f'GDepth:Units="m" xmpNote:HasExtendedXMP="{guid}"',
        namespaces=f'xmlns:GDepth="{namespace}" xmlns:xmpNote="http://ns.adobe.com/xmp/note/"')
    header = len(EXTENDED_XMP_SIGNATURE) + 32 + 8
    chunk = APP1_MAX_PAYLOAD - header
    parts = [extended[i:i + chunk] for i in range(0, len(extended), chunk)]
    ext_segments = [segment(0xE1, EXTENDED_XMP_SIGNATURE + guid.encode() + struct.pack(">II", len(extended), k * chunk) + part)
                    for k, part in enumerate(parts)]
    if drop_chunk:
        ext_segments = ext_segments[:-1]
    segments = (segment(0xE1, exif) if exif else b"") + segment(0xE1, XMP_SIGNATURE + standard) + b"".join(ext_segments)
    image = scene_image(*depth.shape) if image is None else image
    return insert_after_soi(jpeg_bytes(image), segments), len(parts)


DD_NAMESPACES = ('xmlns:Device="http://ns.google.com/photos/dd/1.0/device/" '
                 'xmlns:Container="http://ns.google.com/photos/dd/1.0/container/" '
                 'xmlns:Item="http://ns.google.com/photos/dd/1.0/item/" '
                 'xmlns:Camera="http://ns.google.com/photos/dd/1.0/camera/" '
                 'xmlns:DepthMap="http://ns.google.com/photos/dd/1.0/depthmap/" '
                 'xmlns:Profile="http://ns.google.com/photos/dd/1.0/profile/"')


def dynamic_depth_jpeg(depth: np.ndarray, fmt: str, *, by_semantic: bool = False,
                       primary_padding: int = 0) -> bytes:
    """Primary JPEG + depth PNG + confidence PNG, listed in Device:Container in that order."""
    depth_png = png_bytes(encode_range(depth, fmt, 16))
    confidence_png = png_bytes(np.full(depth.shape, 200, np.uint8))
    if by_semantic:  # Motion-Photo-style items that name their role
        items = [('image/jpeg', 0, 'Item:Semantic="Primary"'),
                 ('image/png', len(depth_png), 'Item:Semantic="Depth"'),
                 ('image/png', len(confidence_png), 'Item:Semantic="Confidence"')]
    else:
        items = [('image/jpeg', 0, 'Item:DataURI="primary_image"'),
                 ('image/png', len(depth_png), 'Item:DataURI="android/depthmap"'),
                 ('image/png', len(confidence_png), 'Item:DataURI="android/confidencemap"')]
    padding = f'Item:Padding="{primary_padding}" '
    li = "".join(f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="{mime}" Item:Length="{length}" '
                 f'{padding if k == 0 else ""}{extra}/></rdf:li>'
                 for k, (mime, length, extra) in enumerate(items))
    if by_semantic:  # properties as attributes of a description
        depth_map = (f'<Camera:DepthMap><rdf:Description DepthMap:Format="{fmt}" DepthMap:Near="{NEAR}" '
                     f'DepthMap:Far="{FAR}" DepthMap:Units="Meters" DepthMap:ItemSemantic="Depth"/></Camera:DepthMap>')
    else:  # properties as elements
        depth_map = (f'<Camera:DepthMap rdf:parseType="Resource"><DepthMap:Format>{fmt}</DepthMap:Format>'
                     f'<DepthMap:Near>{NEAR}</DepthMap:Near><DepthMap:Far>{FAR}</DepthMap:Far>'
                     f'<DepthMap:Units>Meters</DepthMap:Units><DepthMap:MeasureType>OpticalAxis</DepthMap:MeasureType>'
                     f'<DepthMap:DepthURI>android/depthmap</DepthMap:DepthURI>'
                     f'<DepthMap:ConfidenceURI>android/confidencemap</DepthMap:ConfidenceURI></Camera:DepthMap>')
    body = (f'<Device:Profiles><rdf:Seq><rdf:li rdf:parseType="Resource"><Device:Profile Profile:Type="DepthPhoto" '
            f'Profile:CameraIndices="0"/></rdf:li></rdf:Seq></Device:Profiles>'
            f'<Device:Cameras><rdf:Seq><rdf:li rdf:parseType="Resource"><Device:Camera rdf:parseType="Resource">'
            f'{depth_map}</Device:Camera></rdf:li></rdf:Seq></Device:Cameras>'
            f'<Device:Container><Container:Directory><rdf:Seq>{li}</rdf:Seq></Container:Directory></Device:Container>')
    packet = xmp_packet("", body=body, namespaces=DD_NAMESPACES)
    primary = insert_after_soi(jpeg_bytes(scene_image(*depth.shape)), segment(0xE1, XMP_SIGNATURE + packet))
    return primary + b"\x00" * primary_padding + depth_png + confidence_png


APPLE_NS = ('xmlns:apdi="http://ns.apple.com/pixeldatainfo/1.0/" '
            'xmlns:depthData="http://ns.apple.com/depthData/1.0/"')


def apple_aux_jpeg(grey: np.ndarray, attrs: str) -> bytes:
    packet = xmp_packet(attrs, namespaces=APPLE_NS)
    return insert_after_soi(grey_jpeg_bytes(grey), segment(0xE1, XMP_SIGNATURE + packet))


def mpf_jpeg(primary: bytes, secondaries: list[bytes]) -> bytes:
    """Primary JPEG with an APP2 MPF index (big-endian) listing ``secondaries`` after it."""
    n = 1 + len(secondaries)
    ifd_offset = 8
    entries_offset = ifd_offset + 2 + 3 * 12 + 4
    mpf_len = 4 + entries_offset + 16 * n
    app2_total = 4 + mpf_len
    base = 2 + 4 + 4  # SOI, APP2 marker+length, "MPF\0": offsets count from the TIFF header
    primary_size = len(primary) + app2_total
    tiff = b"MM\x00*" + struct.pack(">I", ifd_offset) + struct.pack(">H", 3)
    tiff += struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")
    tiff += struct.pack(">HHII", 0xB001, 4, 1, n)
    tiff += struct.pack(">HHII", 0xB002, 7, 16 * n, entries_offset)
    tiff += struct.pack(">I", 0)  # no next IFD
    entries = struct.pack(">IIIHH", 0x20030000, primary_size, 0, 0, 0)
    position = primary_size
    for image in secondaries:
        entries += struct.pack(">IIIHH", 0x00000000, len(image), position - base, 0, 0)
        position += len(image)
    app2 = segment(0xE2, b"MPF\x00" + tiff + entries)
    assert len(app2) == app2_total
    return insert_after_soi(primary, app2) + b"".join(secondaries)


# ---------------------------------------------------------------------------------------
# GDepth
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["RangeInverse", "RangeLinear"])
def test_gdepth_extended_xmp_16bit(tmp_path, fmt):
    depth = known_depth(160, 220, noise=0.6)  # noise makes the PNG big enough for several segments
    data, n_segments = gdepth_jpeg(depth, fmt, 16)
    assert n_segments >= 2
    path = tmp_path / "lens_blur.jpg"
    path.write_bytes(data)
    found = read_embedded_depth(path)
    assert found is not None
    assert found.source == "GDepth XMP" and found.kind == "depth"
    assert found.values.shape == depth.shape and found.values.dtype == np.float32
    # 16-bit quantisation: relative error well below 1e-3 over [NEAR, FAR].
    np.testing.assert_allclose(found.values, depth, rtol=2e-3, atol=1e-4)
    assert found.metadata["near"] == NEAR and found.metadata["far"] == FAR


@pytest.mark.parametrize("fmt", ["RangeInverse", "RangeLinear"])
def test_gdepth_8bit_formulas(tmp_path, fmt):
    depth = known_depth()
    data, _ = gdepth_jpeg(depth, fmt, 8, namespace="http://ns.google.com/photos/1.0/depth/")
    (tmp_path / "a.jpg").write_bytes(data)
    found = read_embedded_depth(tmp_path / "a.jpg")
    stored = encode_range(depth, fmt, 8).astype(np.float64) / 255
    expected = (FAR * NEAR / (FAR - stored * (FAR - NEAR)) if fmt == "RangeInverse"
                else stored * (FAR - NEAR) + NEAR)
    np.testing.assert_allclose(found.values, expected, rtol=1e-5)
    # and within one quantisation step of the true depth
    step = (FAR - NEAR) / 255 if fmt == "RangeLinear" else FAR * FAR * (FAR - NEAR) / (255 * FAR * NEAR)
    assert np.abs(found.values - depth).max() <= step
    # near is v = 0 in both formats
    assert found.values[30, 40] < found.values[5, 110]


def test_gdepth_follows_exif_orientation(tmp_path):
    """Depth lines up with the photo as photo3d.io.read_image makes it upright."""
    from PIL import Image

    from photo3d.io import read_image

    depth = known_depth(60, 100)
    grey = np.rint((depth - NEAR) / (FAR - NEAR) * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data, _ = gdepth_jpeg(depth, "RangeLinear", 16, exif=exif.tobytes(),
                          image=np.repeat(grey[..., None], 3, axis=2))
    path = tmp_path / "rotated.jpg"
    path.write_bytes(data)
    photo = read_image(path)
    found = read_embedded_depth(path)
    assert photo.shape[:2] == found.values.shape == (100, 60)
    correlation = np.corrcoef(photo[..., 0].ravel().astype(float), found.values.ravel())[0, 1]
    assert correlation > 0.99
    assert found.metadata["exif_orientation"] == 6


def gdepth_png_info(depth: np.ndarray):
    """PNG text chunks carrying ``depth`` as GDepth XMP (RangeLinear, 16-bit)."""
    from PIL import PngImagePlugin

    data_b64 = base64.b64encode(png_bytes(encode_range(depth, "RangeLinear", 16))).decode()
    packet = xmp_packet(f'GDepth:Format="RangeLinear" GDepth:Near="{NEAR}" GDepth:Far="{FAR}" '
                        f'GDepth:Mime="image/png" GDepth:Data="{data_b64}"',
                        namespaces='xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"')
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet.decode())
    return info


def test_gdepth_in_png_itxt(tmp_path):
    from PIL import Image

    depth = known_depth(30, 40)
    info = gdepth_png_info(depth)
    Image.fromarray(scene_image(30, 40)).save(tmp_path / "p.png", pnginfo=info)
    found = read_embedded_depth(tmp_path / "p.png")
    np.testing.assert_allclose(found.values, depth, rtol=1e-3)


def test_gdepth_in_png_follows_exif_orientation(tmp_path):
    """Regression: read_image turns a PNG by its eXIf orientation; the PNG's depth must turn too."""
    from PIL import Image

    from photo3d.io import read_image

    depth = known_depth(30, 40)
    grey = np.rint((depth - NEAR) / (FAR - NEAR) * 255).astype(np.uint8)
    info = gdepth_png_info(depth)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.png"
    Image.fromarray(np.repeat(grey[..., None], 3, axis=2)).save(path, pnginfo=info, exif=exif.tobytes())
    photo = read_image(path)
    found = read_embedded_depth(path)
    assert photo.shape[:2] == found.values.shape == (40, 30)
    np.testing.assert_allclose(found.values, np.rot90(depth, -1), rtol=1e-3)  # 6: 90 degrees clockwise
    assert np.corrcoef(photo[..., 0].ravel().astype(float), found.values.ravel())[0, 1] > 0.99


def test_png_with_unrelated_broken_xmp_is_silent(tmp_path, caplog):
    from PIL import Image, PngImagePlugin

    for body, warns in ((b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><unclosed></x:xmpmeta>', False),
                        (b'<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:GDepth="http://ns.google.com/photos/'
                         b'1.0/depthmap/"><unclosed></x:xmpmeta>', True)):
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", body.decode())
        path = tmp_path / "x.png"
        Image.fromarray(scene_image(8, 8)).save(path, pnginfo=info)
        caplog.clear()
        with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="photo3d"):
            warnings.simplefilter("error")  # warnings leave through the photo3d logger only
            assert read_embedded_depth(path) is None
        messages = [r.getMessage() for r in caplog.records if r.name == "photo3d"]
        if warns:
            assert any("not well-formed" in m for m in messages), messages
        else:
            assert messages == []


def test_plain_photo_has_no_embedded_depth(tmp_path):
    (tmp_path / "plain.jpg").write_bytes(jpeg_bytes(scene_image(20, 30)))
    cv2.imwrite(str(tmp_path / "plain.png"), scene_image(20, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_embedded_depth(tmp_path / "plain.jpg") is None
        assert read_embedded_depth(tmp_path / "plain.png") is None
        assert read_embedded_depth(tmp_path / "plain.jpg", strict=True) is None


def test_missing_extended_chunk_warns_or_raises(tmp_path, caplog):
    data, n = gdepth_jpeg(known_depth(160, 220, noise=0.6), "RangeInverse", 16, drop_chunk=True)
    assert n >= 2
    path = tmp_path / "broken.jpg"
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="photo3d"):
        assert read_embedded_depth(path) is None
    assert any("Extended XMP incomplete" in m for m in caplog.messages), caplog.messages
    with pytest.raises(Photo3DError, match="broken.jpg.*Extended XMP incomplete"):
        read_embedded_depth(path, strict=True)


def test_bad_base64_and_bad_range(tmp_path):
    packet = xmp_packet('GDepth:Format="RangeInverse" GDepth:Near="1" GDepth:Far="5" GDepth:Data="@@not base64@@"',
                        namespaces='xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"')
    path = tmp_path / "b64.jpg"
    path.write_bytes(insert_after_soi(jpeg_bytes(scene_image(8, 8)), segment(0xE1, XMP_SIGNATURE + packet)))
    with pytest.raises(Photo3DError, match="base64"):
        read_embedded_depth(path, strict=True)

    data_b64 = base64.b64encode(png_bytes(np.zeros((4, 4), np.uint8))).decode()
    packet = xmp_packet(f'GDepth:Format="RangeInverse" GDepth:Near="0" GDepth:Far="5" GDepth:Data="{data_b64}"',
                        namespaces='xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"')
    path.write_bytes(insert_after_soi(jpeg_bytes(scene_image(8, 8)), segment(0xE1, XMP_SIGNATURE + packet)))
    with pytest.raises(Photo3DError, match="positive near"):
        read_embedded_depth(path, strict=True)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(Photo3DError, match="nope.jpg"):
        read_embedded_depth(tmp_path / "nope.jpg")


# ---------------------------------------------------------------------------------------
# Dynamic Depth
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,by_semantic,padding,trailer", [("RangeInverse", False, 0, b""),
                                                              ("RangeLinear", False, 16, b""),
                                                              ("RangeLinear", True, 0, b""),
                                                              ("RangeInverse", False, 8, b"SEFH" * 40)])
def test_dynamic_depth(tmp_path, fmt, by_semantic, padding, trailer):
    """Items found counting back from the end, or forward from the primary EOI past a trailer."""
    depth = known_depth(48, 64)
    data = dynamic_depth_jpeg(depth, fmt, by_semantic=by_semantic, primary_padding=padding) + trailer
    path = tmp_path / "dd.jpg"
    path.write_bytes(data)
    found = read_embedded_depth(path)
    assert found is not None and found.source == "Dynamic Depth" and found.kind == "depth"
    np.testing.assert_allclose(found.values, depth, rtol=2e-3)
    assert found.metadata["units"] == "Meters"


def test_dynamic_depth_truncated_item(tmp_path):
    data = dynamic_depth_jpeg(known_depth(48, 64), "RangeInverse")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:-400])  # items no longer fit after the primary image
    with pytest.raises(Photo3DError, match="cut.jpg"):
        read_embedded_depth(path, strict=True)


def test_jpeg_end_finds_primary_image_end():
    primary = jpeg_bytes(scene_image(40, 50))
    assert jpeg_end(primary + b"\x89PNG trailing") == len(primary)
    ok, progressive = cv2.imencode(".jpg", scene_image(40, 50), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    progressive = progressive.tobytes()
    assert jpeg_end(progressive + b"\xff\xd8\xff\xd9") == len(progressive)


# ---------------------------------------------------------------------------------------
# Apple MPF
# ---------------------------------------------------------------------------------------

def apple_portrait_jpeg(disparity_grey: np.ndarray, native_format: int, float_range: tuple[float, float] | None,
                        aux_type: str | None = "disparity") -> bytes:
    matte = apple_aux_jpeg(np.full(disparity_grey.shape, 255, np.uint8),
                           'apdi:AuxiliaryImageType="urn:com:apple:photo:2018:aux:portraiteffectsmatte" '
                           'apdi:NativeFormat="1278226488"')
    attrs = f'apdi:NativeFormat="{native_format}" apdi:StoredFormat="1278226488" depthData:DepthDataVersion="65541"'
    if aux_type is not None:
        attrs += f' apdi:AuxiliaryImageType="{aux_type}"'
    if float_range is not None:
        attrs += (f' apdi:IntMinValue="0" apdi:IntMaxValue="255" apdi:FloatMinValue="{float_range[0]}"'
                  f' apdi:FloatMaxValue="{float_range[1]}"')
    depth_image = apple_aux_jpeg(disparity_grey, attrs)
    return mpf_jpeg(jpeg_bytes(scene_image(96, 128)), [matte, depth_image])


def disparity_grey(height: int = 48, width: int = 64) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    grey = (40 + 150 * x / (width - 1)).astype(np.uint8)
    grey[10:30, 8:30] = 230
    return grey


HDIS = int.from_bytes(b"hdis", "big")
HDEP = int.from_bytes(b"hdep", "big")


def test_apple_mpf_disparity_skips_matte(tmp_path):
    grey = disparity_grey()
    path = tmp_path / "portrait.jpg"
    path.write_bytes(apple_portrait_jpeg(grey, HDIS, (0.2, 1.4)))
    found = read_embedded_depth(path)
    assert found is not None and found.source == "MPF" and found.kind == "disparity"
    expected = 0.2 + grey / 255.0 * (1.4 - 0.2)
    # grey JPEG at quality 100: within 2 levels
    assert np.abs(found.values - expected).max() <= 2 / 255 * 1.2 + 1e-6
    assert found.metadata["native_format"] == "hdis"


def test_apple_mpf_depth_without_aux_type(tmp_path):
    grey = disparity_grey()
    path = tmp_path / "portrait_depth.jpg"
    path.write_bytes(apple_portrait_jpeg(grey, HDEP, None, aux_type=None))
    found = read_embedded_depth(path)
    assert found.kind == "depth" and found.metadata["format"] == "normalised"
    assert np.abs(found.values - grey / 255.0).max() <= 2 / 255 + 1e-6


def test_mpf_with_only_a_matte_has_no_depth(tmp_path):
    matte = apple_aux_jpeg(np.full((16, 16), 255, np.uint8),
                           'apdi:AuxiliaryImageType="urn:com:apple:photo:2018:aux:portraiteffectsmatte"')
    path = tmp_path / "matte_only.jpg"
    path.write_bytes(mpf_jpeg(jpeg_bytes(scene_image(32, 32)), [matte]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_embedded_depth(path) is None


# ---------------------------------------------------------------------------------------
# HEIF
# ---------------------------------------------------------------------------------------

def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int, int]]:
    """(type, box start, header size, box end) of the boxes in data[start:end]."""
    end = len(data) if end is None else end
    out = []
    while start < end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[start + 8:start + 16])[0]
            header = 16
        elif size == 0:
            size = end - start
        out.append((kind, start, header, start + size))
        start += size
    return out


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def heic_with_depth(image: np.ndarray, depth_grey: np.ndarray) -> bytes:
    """Encode two images with pillow-heif, then make the second the first's depth auxiliary image.

    The edits follow ISO/IEC 23008-12: the depth item gets an ``auxC`` property
    (``urn:mpeg:hevc:2015:auxid:2``, HEVC depth) in ``ipco``/``ipma`` and the hidden flag
    in its ``infe``; an ``iref`` box adds an ``auxl`` reference from it to the primary
    item; the ``iloc`` extent offsets (file offsets into ``mdat``) shift by the growth of
    ``meta``. Written for the box versions pillow-heif produces (asserted).
    """
    import io

    import pillow_heif

    heif = pillow_heif.from_bytes("RGB", (image.shape[1], image.shape[0]), image.tobytes())
    heif.add_frombytes("L", (depth_grey.shape[1], depth_grey.shape[0]), depth_grey.tobytes())
    buffer = io.BytesIO()
    heif.save(buffer, quality=-1)  # lossless
    data = buffer.getvalue()

    top = _boxes(data)
    assert [k for k, *_ in top] == [b"ftyp", b"meta", b"mdat"], "unexpected HEIF layout"
    _, meta_start, _, meta_end = top[1]
    children = {k: data[s + h:e] for k, s, h, e in _boxes(data, meta_start + 12, meta_end)}
    order = [k for k, *_ in _boxes(data, meta_start + 12, meta_end)]
    assert b"iref" not in children

    pitm = children[b"pitm"]
    assert pitm[0] == 0
    primary_id = struct.unpack(">H", pitm[4:6])[0]

    # infe (version 2): version/flags(4) item_ID(2) protection(2) type(4) name
    iinf = bytearray(children[b"iinf"])
    assert iinf[0] == 0
    depth_id = None
    for _, start, header, _ in _boxes(bytes(iinf), 6):
        assert iinf[start + header] == 2
        item_id = struct.unpack(">H", iinf[start + header + 4:start + header + 6])[0]
        if item_id != primary_id:
            depth_id = item_id
            iinf[start + header + 3] |= 0x01  # flags bit 0: hidden
    assert depth_id is not None

    iprp = children[b"iprp"]
    (_, ipco_s, ipco_h, ipco_e), (_, ipma_s, ipma_h, ipma_e) = _boxes(iprp)
    properties = iprp[ipco_s + ipco_h:ipco_e]
    aux_index = len(_boxes(properties)) + 1  # property indices are 1-based
    properties += _box(b"auxC", b"\x00\x00\x00\x00" + b"urn:mpeg:hevc:2015:auxid:2\x00")
    ipma = iprp[ipma_s + ipma_h:ipma_e]
    assert ipma[:4] == b"\x00\x00\x00\x00", "ipma version 0 with 1-byte indices expected"
    count = struct.unpack(">I", ipma[4:8])[0]
    pos, new_ipma = 8, bytearray(ipma[:8])
    for _ in range(count):
        item_id, n = struct.unpack(">HB", ipma[pos:pos + 3])
        associations = ipma[pos + 3:pos + 3 + n]
        pos += 3 + n
        if item_id == depth_id:
            associations += bytes([0x80 | aux_index])  # essential
            n += 1
        new_ipma += struct.pack(">HB", item_id, n) + associations
    new_iprp = _box(b"ipco", properties) + _box(b"ipma", bytes(new_ipma))
    iref = _box(b"auxl", struct.pack(">HHH", depth_id, 1, primary_id))

    def rebuild(iloc_body: bytes) -> bytes:
        parts = b""
        for kind in order:
            if kind == b"iinf":
                parts += _box(b"iinf", bytes(iinf))
            elif kind == b"iprp":
                parts += _box(b"iprp", new_iprp) + _box(b"iref", b"\x00\x00\x00\x00" + iref)
            elif kind == b"iloc":
                parts += _box(b"iloc", iloc_body)
            else:
                parts += _box(kind, children[kind])
        return _box(b"meta", data[meta_start + 8:meta_start + 12] + parts)

    growth = len(rebuild(children[b"iloc"])) - (meta_end - meta_start)
    # iloc version 0, offset/length/base_offset 4 bytes each: per item id(2)
    # data_reference_index(2) base_offset(4) extent_count(2) {offset(4), length(4)}; the
    # file position of an extent is base_offset + offset, so shifting base_offset suffices.
    iloc = bytearray(children[b"iloc"])
    assert iloc[0] == 0 and iloc[4] == 0x44 and iloc[5] >> 4 == 4
    pos = 8
    for _ in range(struct.unpack(">H", iloc[6:8])[0]):
        base = struct.unpack(">I", iloc[pos + 4:pos + 8])[0]
        iloc[pos + 4:pos + 8] = struct.pack(">I", base + growth)
        pos += 10 + 8 * struct.unpack(">H", iloc[pos + 8:pos + 10])[0]
    return data[:meta_start] + rebuild(bytes(iloc)) + data[meta_end:]


def test_heic_depth_image(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("pillow-heif has no HEVC encoder to build a HEIC test file")
    grey = disparity_grey(64, 96)
    path = tmp_path / "portrait.heic"
    path.write_bytes(heic_with_depth(scene_image(64, 96), grey))
    heif = pillow_heif.open_heif(path)
    assert len(heif.info["depth_images"]) == 1, "the built file must carry one depth image"
    found = read_embedded_depth(path)
    assert found is not None and found.kind == "disparity"
    assert found.values.shape == grey.shape
    # No depth representation info in the stream: disparity normalised to [0, 1].
    assert np.abs(found.values - grey / 255.0).max() <= 3 / 255


def test_container_items_with_gdepth_range(tmp_path):
    """Motion-Photo-style GContainer directory, the range given by GDepth properties."""
    depth = known_depth(40, 52)
    depth_png = png_bytes(encode_range(depth, "RangeInverse", 16))
    li = (f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/jpeg" Item:Semantic="Primary" '
          f'Item:Length="0" Item:Padding="0"/></rdf:li>'
          f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Mime="image/png" Item:Semantic="Depth" '
          f'Item:Length="{len(depth_png)}"/></rdf:li>')
    packet = xmp_packet(f'GDepth:Format="RangeInverse" GDepth:Near="{NEAR}" GDepth:Far="{FAR}" GDepth:Mime="image/png"',
                        body=f'<Container:Directory><rdf:Seq>{li}</rdf:Seq></Container:Directory>',
                        namespaces='xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/" '
                                   'xmlns:Container="http://ns.google.com/photos/1.0/container/" '
                                   'xmlns:Item="http://ns.google.com/photos/1.0/container/item/"')
    primary = insert_after_soi(jpeg_bytes(scene_image(40, 52)), segment(0xE1, XMP_SIGNATURE + packet))
    (tmp_path / "g.jpg").write_bytes(primary + depth_png)
    found = read_embedded_depth(tmp_path / "g.jpg")
    assert found.source == "Dynamic Depth"
    np.testing.assert_allclose(found.values, depth, rtol=2e-3)


def test_broken_xmp_warns_only_when_it_is_about_depth(tmp_path, caplog):
    unrelated = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><unclosed></x:xmpmeta>'
    path = tmp_path / "other.jpg"
    path.write_bytes(insert_after_soi(jpeg_bytes(scene_image(8, 8)), segment(0xE1, XMP_SIGNATURE + unrelated)))
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="photo3d"):
        warnings.simplefilter("error")
        assert read_embedded_depth(path) is None
    assert caplog.messages == []
    about_depth = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/" '
                   b'xmlns:GDepth="http://ns.google.com/photos/1.0/depthmap/"><unclosed></x:xmpmeta>')
    path.write_bytes(insert_after_soi(jpeg_bytes(scene_image(8, 8)), segment(0xE1, XMP_SIGNATURE + about_depth)))
    with caplog.at_level(logging.WARNING, logger="photo3d"):
        assert read_embedded_depth(path) is None
    assert any("not well-formed" in m for m in caplog.messages), caplog.messages
