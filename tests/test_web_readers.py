"""The web GLB in other readers than photo3d's own: the Khronos glTF validator finds no error
or warning in it, and three.js's GLTFLoader (what ``<model-viewer>`` and most web viewers are
built on) loads it textured, unlit, with the hole guard's flat quads sampled without filtering,
and draws the input camera's view like photo3d's render of the same file.

The npm packages (``gltf-validator``, ``three``) are installed by .ci/run into
``.cache/node/node_modules`` (or found through ``PHOTO3D_NODE_MODULES``); without them, or
without node or Chromium, these tests skip, saying why."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.render import Renderer
from photo3d.web.glb import GUARD_NODE, read_web_glb
from photo3d.web.serve import start_server
from scenes import centre, psnr, small_config, square_scene

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = Path(os.environ.get("PHOTO3D_NODE_MODULES") or REPO / ".cache" / "node" / "node_modules")
NODE = shutil.which("node")
WIDTH, HEIGHT = 256, 192


def need(package: str) -> Path:
    if NODE is None:
        pytest.skip("no node executable (Debian: apt-get install nodejs)")
    path = NODE_MODULES / package
    if not path.is_dir():
        pytest.skip(f"npm package {package} not installed in {NODE_MODULES} (.ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    folder = tmp_path_factory.mktemp("readers")
    image, depth, _ = square_scene(HEIGHT, WIDTH)
    with Photo3D.from_rgbd(image, depth, config=small_config(longer_side=WIDTH)) as p3d:
        return p3d.save_web_glb(folder / "m_web.glb"), p3d.mesh


@pytest.fixture(scope="module")
def glb(scene) -> Path:
    return scene[0]


def test_trimesh_reads_the_texture_where_photo3d_put_it(scene):
    """trimesh (which reads accessors as stored: normalised integer uv would come out unscaled)
    looks up, at each vertex of the textured mesh, the colour of the full mesh's vertex there."""
    trimesh = pytest.importorskip("trimesh")
    from scipy.spatial import cKDTree

    path, mesh = scene
    loaded = trimesh.load(path, force="scene", process=False)
    tree = cKDTree(np.asarray(mesh.vertices, np.float64))
    checked = 0
    for node in loaded.graph.nodes_geometry:
        transform, name = loaded.graph[node]
        geom = loaded.geometry[name]
        assert isinstance(geom.visual, trimesh.visual.TextureVisuals) and geom.visual.uv is not None
        uv = np.asarray(geom.visual.uv, np.float64)
        assert uv.min() >= 0 and uv.max() <= 1, f"uv outside the texture ({name})"  # every part, strips too
        if node.startswith(GUARD_NODE) or geom.visual.material.name != "photo":  # the bilinear patches
            continue
        colours = np.asarray(geom.visual.to_color().vertex_colors)[:, :3].astype(int)
        points = trimesh.transform_points(geom.vertices, transform) * [1, -1, -1]  # back to the camera frame
        distance, nearest = tree.query(points)
        scale = np.abs(np.asarray(mesh.vertices)).max()
        on_vertex = distance < 1e-3 * scale  # the web mesh's vertices are the full mesh's (16-bit positions)
        assert on_vertex.mean() > 0.9
        # the web mesh is in the soft colours, as photo3d's renderer draws it (the rim's blend apart)
        soft = np.asarray(mesh.soft.colors if mesh.soft is not None else mesh.colors, int)
        error = np.abs(colours[on_vertex] - soft[nearest[on_vertex]]).max(1)
        assert np.mean(error <= 2) > 0.99, np.percentile(error, [50, 90, 99])
        checked += int(on_vertex.sum())
    assert checked > 100


def test_the_khronos_validator_finds_no_error_or_warning(glb):
    need("gltf-validator")
    out = subprocess.run([NODE, str(REPO / "tests" / "gltf_validate.js"), str(glb)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "NODE_PATH": str(NODE_MODULES)})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["errors"] == 0 and report["warnings"] == 0, report["messages"]
    assert {"KHR_mesh_quantization", "KHR_materials_unlit"} <= set(report["extensions"])


PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;background:#000}</style>
<script type="importmap">{"imports": {"three": "./three/build/three.module.js", "three/addons/": "./three/examples/jsm/"}}</script>
</head><body><script type="module">
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
new GLTFLoader().load("m_web.glb", (gltf) => {
  const ex = gltf.parser.json.asset.extras, [w, h] = ex.image_size;
  const renderer = new THREE.WebGLRenderer({ antialias: false, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(w, h);
  renderer.domElement.id = "c";
  document.body.appendChild(renderer.domElement);
  gltf.scene.getObjectByName("%s").visible = false;  // a generic viewer hides the guard by name
  const scene = new THREE.Scene();
  scene.add(gltf.scene);
  // the input camera: at the origin looking down -z, its intrinsics as a projection matrix
  const camera = new THREE.PerspectiveCamera(), n = 0.01, f = 100;
  camera.projectionMatrix.set(2 * ex.fx / w, 0, 1 - 2 * (ex.cx + 0.5) / w, 0, 0, 2 * ex.fy / h, 2 * (ex.cy + 0.5) / h - 1, 0,
    0, 0, -(f + n) / (f - n), -2 * f * n / (f - n), 0, 0, -1, 0);
  camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
  renderer.render(scene, camera);
  const meshes = [];
  gltf.scene.traverse((o) => { if (o.isMesh) meshes.push({ guard: o.parent.name === "%s" || o.name.startsWith("%s"),
    textured: !!o.material.map, unlit: o.material.isMeshBasicMaterial, nearest: !!o.material.map && o.material.map.magFilter === THREE.NearestFilter }); });
  window.done = { meshes: meshes, revision: THREE.REVISION };
}, undefined, (e) => { window.done = { error: String(e) }; });
</script></body></html>""" % (GUARD_NODE, GUARD_NODE, GUARD_NODE)


def test_three_js_loads_it_in_colour_and_draws_the_input_view_like_photo3d(glb, tmp_path):
    three = need("three")
    chromium = os.environ.get("PHOTO3D_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium executable (Debian: apt-get install chromium; or set PHOTO3D_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    from test_web_browser import ARGS

    shutil.copy(glb, tmp_path / "m_web.glb")
    (tmp_path / "three").symlink_to(three, target_is_directory=True)
    (tmp_path / "index.html").write_text(PAGE)
    server, url = start_server(tmp_path)
    errors = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "index.html")
            page.wait_for_function("window.done !== undefined", timeout=120_000)
            done = page.evaluate("window.done")
            png = page.locator("#c").screenshot() if "meshes" in done else None
            browser.close()
    finally:
        server.shutdown()
    assert not errors and "error" not in done, (errors, done)
    meshes = done["meshes"]
    assert meshes and all(m["textured"] and m["unlit"] for m in meshes)
    assert any(m["nearest"] and m["guard"] for m in meshes)  # the guard's flat quads and strips
    assert any(m["nearest"] and not m["guard"] for m in meshes)  # the merged edge facets
    assert any(not m["nearest"] and not m["guard"] for m in meshes)  # the patches
    shot = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    web, k, _ = read_web_glb(glb)
    web.hole_vertices, web.hole_colors, web.hole_faces = web.hole_vertices[:0], web.hole_colors[:0], web.hole_faces[:0]
    with Renderer(k.width, k.height) as renderer:
        renderer.set_mesh(web)
        own, _ = renderer.render(np.eye(4), k)
    assert shot.shape == own.shape
    assert psnr(centre(shot), centre(own)) >= 30  # in colour, where photo3d draws it
