"""The web export (--web, --html, Photo3D.save_html) and ``photo3d view``: a valid, compact,
textured glTF with the hole guard that photo3d renders like the full mesh; pages that carry the
mesh; a server on 127.0.0.1 that prints its URL. (In a real browser: tests/test_web_browser.py.)"""
from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.cli import main
from photo3d.io import write_glb
from photo3d.render import Renderer
from photo3d.render.simplify import render_mesh
from photo3d.web.glb import GUARD_NODE, SKIRT_NODE, parse_glb, read_web_glb, write_web_glb
from scenes import psnr, small_config, square_scene

REPO = Path(__file__).resolve().parents[1]


def renders(k, *meshes) -> list[list[np.ndarray]]:
    """Each mesh (a Mesh or a RenderMesh) rendered at the input camera and at a moved one:
    one list of renders per camera."""
    shifted = np.eye(4)
    shifted[:3, 3] = [0.03, -0.02, 0.05]
    out = []
    with Renderer(k.width, k.height) as renderer:
        for pose in (np.eye(4), shifted):
            out.append([])
            for mesh in meshes:
                renderer.set_mesh(mesh)
                out[-1].append(renderer.render(pose, k)[0])
    return out


@pytest.fixture(scope="module")
def photo() -> Photo3D:
    image, depth, _ = square_scene(96, 128)
    p3d = Photo3D.from_rgbd(image, depth, config=small_config())
    yield p3d
    p3d.close()


def test_web_glb_is_quantised_textured_gltf_with_the_guard_node(photo, tmp_path):
    path = photo.save_web_glb(tmp_path / "m_web.glb")
    gltf, binary = parse_glb(path.read_bytes())
    assert gltf["asset"]["version"] == "2.0"
    assert "KHR_mesh_quantization" in gltf["extensionsRequired"]
    names = [n["name"] for n in gltf["nodes"]]
    assert names == ["photo3d", GUARD_NODE, SKIRT_NODE]
    main_node, guard_node, skirt_node = gltf["nodes"]
    assert gltf["scenes"][0]["nodes"] == [0, 1] and guard_node["children"] == [2]  # hidden with the guard
    # the guard's quads on the mesh's own grid (a point both use is the same stored integers);
    # the skirt's grid made of that grid's points: integer scale and offset within its parent
    assert guard_node["scale"] == main_node["scale"] and guard_node["translation"] == main_node["translation"]
    assert all(float(x).is_integer() for x in skirt_node["scale"] + skirt_node["translation"])
    assert skirt_node["scale"][0] > 1 and skirt_node["scale"][2] == 1
    for node in gltf["nodes"]:
        prim = gltf["meshes"][node["mesh"]]["primitives"][0]
        position = gltf["accessors"][prim["attributes"]["POSITION"]]
        uv = gltf["accessors"][prim["attributes"]["TEXCOORD_0"]]
        assert position["componentType"] == 5123 and not position.get("normalized")  # 16-bit integers
        assert gltf["bufferViews"][position["bufferView"]]["byteStride"] == 8
        assert uv["componentType"] == 5126 and not uv.get("normalized")  # floats: every reader, trimesh too
        assert len(node["scale"]) == 3 and len(node["translation"]) == 3
        for prim in gltf["meshes"][node["mesh"]]["primitives"]:
            assert gltf["accessors"][prim["indices"]]["componentType"] == 5123  # 16-bit indices
    materials = [{p["material"] for p in gltf["meshes"][n["mesh"]]["primitives"]} for n in gltf["nodes"]]
    # the merged edge facets and the guard's flat grid quads read one texel a square; the soft
    # rim (2, 3) is blended from an RGBA atlas of its own, backed opaque in the guard (4, 5); the
    # skirt's quads are bilinear 2x2 cells
    assert materials == [{0, 1, 2, 3}, {1, 4, 5}, {0}]
    main, guard = (gltf["meshes"][n["mesh"]]["primitives"] for n in gltf["nodes"][:2])
    assert main[0]["material"] == 1  # the facets first: they win depth ties
    order = [p["material"] for p in main]
    assert max(i for i, m in enumerate(order) if m < 2) < min(i for i, m in enumerate(order) if m >= 2)  # rim last
    assert [m.get("alphaMode", "OPAQUE") for m in gltf["materials"]] == ["OPAQUE", "OPAQUE", "BLEND", "BLEND", "OPAQUE",
                                                                           "OPAQUE"]
    assert [gltf["textures"][m["pbrMetallicRoughness"]["baseColorTexture"]["index"]]["source"]
            for m in gltf["materials"]] == [0, 0, 1, 1, 1, 1]
    # the guard backs the rim with the rim's own accessors, opaque, after its quads
    rim = [(p["attributes"]["POSITION"], p["indices"]) for p in main if p["material"] >= 2]
    backing = [(p["attributes"]["POSITION"], p["indices"]) for p in guard if p["material"] >= 4]
    assert rim and backing == rim and all(p["material"] >= 4 for p in guard[len(guard) - len(backing):])
    assert not any(p.get("extras") for p in guard)  # the guard's quads unmerged: no strips in it
    for material in gltf["materials"]:
        assert "KHR_materials_unlit" in material["extensions"]
    filters = [gltf["samplers"][gltf["textures"][m["pbrMetallicRoughness"]["baseColorTexture"]["index"]]["sampler"]]["magFilter"]
               for m in gltf["materials"]]
    assert filters == [9729, 9728] * 3  # linear; nearest (the photo's atlas, the rim's blended, the rim's opaque)
    assert [i["mimeType"] for i in gltf["images"]] == ["image/png", "image/png"]
    extras = gltf["asset"]["extras"]
    assert extras["image_size"] == [128, 96]
    assert set(extras["photo3d"]["paths"]) == {"circle", "swing", "zoom-in", "dolly-zoom-in"}
    assert extras["photo3d"]["autoplay"] == "swing"
    lo, hi = np.array(extras["photo3d"]["bounds"])
    assert (lo <= 0).all() and (hi >= 0).all() and (hi - lo).max() > 0
    assert len(binary) == gltf["buffers"][0]["byteLength"]


def test_web_glb_opens_in_trimesh_textured(photo, tmp_path):
    trimesh = pytest.importorskip("trimesh", reason="trimesh not installed")
    path = photo.save_web_glb(tmp_path / "m_web.glb")
    scene = trimesh.load(path)
    kinds = {g.visual.kind for g in scene.geometry.values()}
    assert kinds == {"texture"}
    image = np.asarray(next(iter(scene.geometry.values())).visual.material.baseColorTexture.convert("RGB"))
    assert image.std() > 10  # the photo's colours, not a white material


def test_web_glb_renders_like_the_full_mesh_and_is_smaller(photo, tmp_path):
    path = photo.save_web_glb(tmp_path / "m_web.glb")
    full_glb = write_glb(photo.mesh, tmp_path / "m.glb")
    assert path.stat().st_size < full_glb.stat().st_size
    web, k, _ = read_web_glb(path)
    assert k == photo.intrinsics
    # the guard as the renderer draws it: its quads one by one (fewer: zero-area ties dropped),
    # then the rim's facets opaque; the soft rim blended, as strips and vertex-coloured cells
    drawn = render_mesh(photo.mesh)
    assert len(web.flat.faces) and not len(web.hole_flat.faces)
    assert photo.mesh.guard.num_faces < len(web.hole_faces) <= len(drawn.hole_faces)
    assert len(web.blend_flat.faces) and len(web.blend_faces)
    assert web.blend_colors.shape[1] == 4 and web.blend_flat.texture.shape[2] == 4
    assert (web.blend_colors[:, 3] < 255).any() and (web.blend_flat.texture[..., 3] < 255).any()
    assert web.tex_projective  # the uv are affine in the input image: read projectively, as the viewer does
    for full, mine in renders(k, photo.mesh, web):
        assert psnr(full, mine) >= 50


def test_the_web_mesh_keeps_every_vertex_where_the_guard_meets_it(photo):
    """No T-junction between the nodes: wherever a guard quad's corner sits on a vertex of the
    full mesh (at a cut's edge), the web mesh keeps a vertex there (a patch side that dropped
    it left the corner on the patch's edge; rounded to 16 bits, a crack opened between the
    nodes: web GLB pinholes in 5 of the 16 Middlebury scenes)."""
    from photo3d.web.glb import web_geometry

    geometry = web_geometry(photo.mesh)
    key = lambda p: {tuple(x) for x in np.round(np.asarray(p, np.float64), 5)}  # noqa: E731
    faces = np.asarray(photo.mesh.faces, np.int64)
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
    edges, count = np.unique(edges, axis=0, return_counts=True)
    rim = np.unique(edges[count == 1])  # on an edge only one triangle uses: where a cut stops the mesh
    meets = key(photo.mesh.guard.vertices) & key(photo.mesh.vertices[rim])
    assert len(meets) > 50  # the guard meets the mesh along the square's cut
    assert meets <= key(geometry.vertices)
    # the simplification still merges: far fewer vertices than the full mesh
    assert len(geometry.vertices) < 0.6 * photo.mesh.num_vertices


def test_points_the_web_nodes_share_are_stored_as_one_point():
    """The mesh and the guard's quads share one 16-bit grid (a point of both: the same
    integers); the skirt's grid is m times coarser, made of the fine grid's points, and a point
    it shares with the others is stored at its grid point in all of them. Everything else
    keeps the fine grid's precision in the input image."""
    from photo3d.web.glb import _FLIP, _quantised_nodes

    rng = np.random.default_rng(3)
    z = rng.uniform(1.0, 3.0, 400)
    uv = rng.uniform(-1.0, 1.0, (400, 2))
    mesh = np.column_stack([uv * z[:, None], z])
    cut = np.concatenate([mesh[:50], mesh[:50] * [1, 1, 1.2]])  # meets the mesh at 50 points
    far = mesh[350:] * [3.0, 3.0, 1.0]
    skirt = np.concatenate([mesh[300:], far])  # meets it at 100 (the border ring), reaches 3x out
    (q_mesh, q_cut), grid, q_skirt, m, j = _quantised_nodes([mesh, cut], skirt)
    assert q_mesh.dtype == q_cut.dtype == q_skirt.dtype == np.dtype("<u2")
    assert (m[:2] >= 3).all() and m[2] == 1 and j[2] == 0
    fine = lambda q: (grid.lo + q * grid.step) * _FLIP  # noqa: E731
    coarse = lambda q: ((grid.lo - j * grid.step) + q * (m * grid.step)) * _FLIP  # noqa: E731
    assert (q_cut[:50] == q_mesh[:50]).all()  # same stored integers
    np.testing.assert_allclose(coarse(q_skirt[:50]), fine(q_mesh[300:350]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(coarse(q_skirt[50:100]), fine(q_mesh[350:]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(coarse(q_skirt[100:]), far, rtol=0, atol=(m * grid.step).max())
    # the rest: where the input camera sees it (x / z, y / z), within half a fine step
    mine, back = mesh[:300], fine(q_mesh[:300])
    error = np.abs(back[:, :2] / back[:, 2:] - mine[:, :2] / mine[:, 2:]) * mine[:, 2:]
    assert (error <= 0.5 * grid.step[:2] * 1.001).all()


def test_the_web_glb_decodes_its_skirt_where_it_was(photo, tmp_path):
    from photo3d.web.glb import web_geometry

    geometry = web_geometry(photo.mesh)
    web, _, _ = read_web_glb(photo.save_web_glb(tmp_path / "m_web.glb"))
    lo, hi = geometry.guard_vertices.min(0), geometry.guard_vertices.max(0)
    got_lo, got_hi = web.hole_vertices.min(0), web.hole_vertices.max(0)
    tol = 1e-3 * np.abs(geometry.guard_vertices).max()
    np.testing.assert_allclose(got_lo, lo, atol=tol)
    np.testing.assert_allclose(got_hi, hi, atol=tol)
    assert (hi[:2] - lo[:2] > 2 * (geometry.vertices.max(0) - geometry.vertices.min(0))[:2]).all()  # the skirt's reach


def test_the_web_glb_draws_the_soft_rim_as_photo3ds_renderer(tmp_path):
    """A blurred outline (mixed rim pixels): the web GLB read back draws the rim blended, as
    photo3d's render of the full mesh does; opaque in the photo's colours it was far off."""
    import dataclasses

    import cv2

    from photo3d.web.glb import web_glb

    image, depth, _ = square_scene(96, 128)
    with Photo3D.from_rgbd(cv2.GaussianBlur(image, (0, 0), 1.2), depth, config=small_config()) as p3d:
        assert p3d.mesh.soft is not None and (p3d.mesh.soft.alpha < 255).sum() > 100
        web, k, _ = read_web_glb(p3d.save_web_glb(tmp_path / "soft_web.glb"))
        (tmp_path / "opaque_web.glb").write_bytes(web_glb(dataclasses.replace(p3d.mesh, soft=None)))
        opaque, _, _ = read_web_glb(tmp_path / "opaque_web.glb")
        for full, soft, hard in renders(k, p3d.mesh, web, opaque):
            rim = np.abs(full.astype(int) - hard).max(2) > 8
            assert rim.sum() > 100
            assert np.abs(soft.astype(int) - full)[rim].mean() < 2  # opaque: ~24-40 levels off there
            assert psnr(full, soft) >= 50 and psnr(full, hard) < 40


def test_simplification_bound_keeps_every_vertex_within_the_pixel_error(photo):
    from photo3d.render.simplify import disparity_tolerance

    allowed = disparity_tolerance(photo.mesh, 0.3, 0.02, 0.05)
    assert allowed.shape == (photo.mesh.num_vertices,) and (allowed > 0).all()
    # 10x the pixel bound allows 10x the disparity error; no motion: a nominal relative bound
    np.testing.assert_allclose(disparity_tolerance(photo.mesh, 3.0, 0.02, 0.05), 10 * allowed)
    still = disparity_tolerance(photo.mesh, 0.3, 0.0, 0.0)
    np.testing.assert_allclose(still, 0.01 / photo.mesh.vertices[:, 2], rtol=1e-6)


def test_save_html_embeds_the_mesh_or_loads_it_from_beside(photo, tmp_path):
    page = photo.save_html(tmp_path / "one.html")
    text = page.read_text()
    assert 'id="photo3d-glb"' in text and "WebGL2" in text and len(text) > 10_000
    assert "http://" not in text and "https://" not in text  # nothing from the network
    assert not (tmp_path / "one_web.glb").exists()
    page = photo.save_html(tmp_path / "two.html", embed=False)
    assert (tmp_path / "two_web.glb").is_file()
    assert 'data-src="two_web.glb"' in page.read_text()


def test_cli_html_and_web_flags_write_the_page_and_the_web_glb(tmp_path, capsys):
    image, depth = REPO / "inputs" / "sample.png", REPO / "inputs" / "sample_disparity.png"
    code = main(["--image", str(image), "--depth", str(depth), "--out", str(tmp_path), "--longer-side", "160",
                 "--paths", "swing", "--inpaint", "fill", "--quiet", "--no-ply", "--html", "--web",
                 "--frames", "4"])
    assert code == 0
    folder = tmp_path / "sample"
    assert (folder / "sample.html").is_file() and (folder / "sample_web.glb").is_file()
    gltf, _ = parse_glb((folder / "sample_web.glb").read_bytes())
    assert list(gltf["asset"]["extras"]["photo3d"]["paths"]) == ["swing"]
    out = capsys.readouterr().out
    assert "sample.html" in out and "sample_web.glb" in out
    import yaml

    saved = yaml.safe_load((folder / "config.yml").read_text())
    assert saved["output"]["save_html"] is True and saved["output"]["save_web_glb"] is True


def test_view_serves_the_page_on_localhost_and_prints_the_url(photo, tmp_path):
    glb = write_web_glb(photo.mesh, tmp_path / "m_web.glb")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from photo3d.cli import main; sys.exit(main())",
                             "view", str(glb), "--no-browser"],
                            stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/m_web.html")
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert 'data-src="m_web.glb"' in page
        data = urllib.request.urlopen(url.rsplit("/", 1)[0] + "/m_web.glb", timeout=10).read()
        assert data == glb.read_bytes()
    finally:
        proc.terminate()
        proc.wait(10)


def test_view_rejects_a_folder_without_a_page_or_mesh(tmp_path, capsys):
    assert main(["view", str(tmp_path), "--no-browser"]) == 2
    assert "no .html page or .glb mesh" in capsys.readouterr().err


def test_large_meshes_split_into_primitives_with_16_bit_indices():
    from photo3d.web.glb import INDEX_LIMIT, _chunks

    faces = np.arange(3 * 70_000).reshape(-1, 3)  # 210,000 vertices, each triangle its own
    runs = _chunks(faces)
    assert runs[0] == (0, INDEX_LIMIT // 3) and runs[-1][1] == len(faces)
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:]))  # consecutive: the drawing order kept
    for start, end in runs:
        assert np.unique(faces[start:end]).size <= INDEX_LIMIT
    shared = np.random.default_rng(0).integers(0, 1000, (200_000, 3))  # many faces, few vertices
    assert _chunks(shared) == [(0, 200_000)]


def test_a_web_glb_over_its_size_budget_gets_a_jpeg_atlas_then_a_coarser_mesh(caplog):
    from photo3d.web.glb import web_glb

    # grain over the square scene (as a photo has): PNG cannot compress it, JPEG can
    image, depth, _ = square_scene(96, 128)
    grain = np.random.default_rng(5).integers(-24, 25, image.shape)
    image = np.clip(image.astype(np.int64) + grain, 0, 255).astype(np.uint8)
    photo = Photo3D.from_rgbd(image, depth, config=small_config())
    png = web_glb(photo.mesh)
    gltf, _ = parse_glb(png)
    assert gltf["images"][0]["mimeType"] == "image/png"  # within the default budget: lossless
    fit = web_glb(photo.mesh, max_bytes=len(png) - 1)
    assert len(fit) < len(png) and parse_glb(fit)[0]["images"][0]["mimeType"] == "image/jpeg"
    with caplog.at_level("WARNING", logger="photo3d"):
        smallest = web_glb(photo.mesh, max_bytes=1000)  # cannot fit: the smallest it found, and a warning
    assert len(smallest) <= len(fit) and "over the budget" in caplog.text
    photo.close()
