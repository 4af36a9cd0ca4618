"""Blender's own glTF importer on the web GLB: it finds the atlas as an image texture of each
material (nearest sampling where glTF says so), the uv inside the texture, and its Cycles render
of the input camera's view matches photo3d's render of the same file (the guard hidden in both).

Blender is the ``bpy`` module from PyPI (a ~375 MB wheel with its own numpy pin), kept out of the
requirements and CI: point ``PHOTO3D_BPY_PYTHON`` at an interpreter that has it (e.g.
``python3 -m venv /tmp/bpyenv && /tmp/bpyenv/bin/pip install bpy``); without it the test skips."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from photo3d import Photo3D
from photo3d.render import Renderer
from photo3d.render.simplify import FlatPart
from photo3d.web.glb import read_web_glb
from scenes import centre, psnr, small_config, square_scene

REPO = Path(__file__).resolve().parents[1]
BPY_PYTHON = os.environ.get("PHOTO3D_BPY_PYTHON")


def test_blender_imports_it_textured_and_renders_the_input_view_like_photo3d(tmp_path):
    if not BPY_PYTHON or not Path(BPY_PYTHON).is_file():
        pytest.skip("no Blender: set PHOTO3D_BPY_PYTHON to a python with the bpy module "
                    "(python3 -m venv /tmp/bpyenv && /tmp/bpyenv/bin/pip install bpy; ~375 MB, not in the requirements)")
    image, depth, _ = square_scene(192, 256)
    with Photo3D.from_rgbd(image, depth, config=small_config(longer_side=256)) as p3d:
        glb = p3d.save_web_glb(tmp_path / "m_web.glb")
    out = subprocess.run([BPY_PYTHON, str(REPO / "benchmarks" / "blender_web.py"), str(glb), str(tmp_path / "b.png")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    mesh = [o for o in report["objects"] if not o["guard"]]
    assert mesh and any(o["guard"] for o in report["objects"])
    for obj in report["objects"]:
        assert 0.0 <= obj["uv_range"][0] and obj["uv_range"][1] <= 1.0
        for material in obj["materials"]:  # the atlas feeds each material's colour
            assert material["image"] and all(material["linked"]) and material["image"][0][0] == 2048
            assert material["interpolation"] == (["Closest"] if material["name"] == "photo_nearest" else ["Linear"])
    shot = cv2.imread(str(tmp_path / "b.png"), cv2.IMREAD_COLOR)[..., ::-1]
    web, k, _ = read_web_glb(glb)
    web.hole_vertices, web.hole_colors, web.hole_faces = web.hole_vertices[:0], web.hole_colors[:0], web.hole_faces[:0]
    web.hole_flat = FlatPart()
    with Renderer(k.width, k.height) as renderer:
        renderer.set_mesh(web)
        own, _ = renderer.render(np.eye(4), k)
    assert shot.shape == own.shape
    assert psnr(centre(shot), centre(own)) >= 30  # measured 36.2 dB (Cycles, 16 samples, box filter)
