"""Blender's glTF importer on a web GLB: what it reads, and its render of the input camera's view.

Runs inside Blender's Python (the ``bpy`` module from PyPI, ~375 MB, kept out of photo3d's
requirements: install it in a virtual environment of its own, e.g.
``python3 -m venv /tmp/bpyenv && /tmp/bpyenv/bin/pip install bpy``):

    /tmp/bpyenv/bin/python benchmarks/blender_web.py scene_web.glb blender.png [--samples 16]

It imports the file with Blender's own importer (``bpy.ops.import_scene.gltf``), hides the hole
guard's node (as a generic viewer should), renders the view of the input camera (intrinsics from
``asset.extras``; Cycles on the CPU, the ``Standard`` view transform so the texture's sRGB values
come out as they are) and prints JSON: Blender's version, per imported mesh object its material,
whether an image texture feeds it, that image's size and interpolation, the UV range, and the
render's path. ``tests/test_web_blender.py`` compares the render with photo3d's own.
"""
from __future__ import annotations

import argparse
import json
import math
import struct
import sys


def glb_extras(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    length = struct.unpack_from("<I", data, 12)[0]
    return json.loads(data[20:20 + length])["asset"].get("extras", {})


def main() -> None:
    import bpy  # only inside Blender's Python

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("glb")
    ap.add_argument("out", help="the render (PNG)")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--guard", default="photo3d_hole_guard", help="the node to hide")
    args = ap.parse_args(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else None)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=args.glb)
    ex = glb_extras(args.glb)
    w, h = ex["image_size"]
    objects = []
    for obj in list(bpy.context.scene.objects):
        if obj.type != "MESH":
            continue
        guard = obj.name.startswith(args.guard) or (obj.parent is not None and obj.parent.name.startswith(args.guard))
        me = obj.data
        uv = [c for layer in me.uv_layers for d in layer.data for c in d.uv]
        info = {"object": obj.name, "guard": guard, "polygons": len(me.polygons), "materials": []}
        if uv:
            info["uv_range"] = [min(uv), max(uv)]
        for mat in me.materials:
            images = [n for n in mat.node_tree.nodes if n.type == "TEX_IMAGE" and n.image is not None] if mat.node_tree else []
            info["materials"].append({"name": mat.name, "image": [list(n.image.size) for n in images],
                                      "interpolation": [n.interpolation for n in images],
                                      "linked": [bool(n.outputs["Color"].links) for n in images]})
        objects.append(info)
        if guard:
            obj.hide_render = True

    scene = bpy.context.scene
    cam_data = bpy.data.cameras.new("input")
    # the input camera: at the origin looking down glTF's -z (Blender's +y after the importer's
    # y-up to z-up turn), focal length and principal point from the intrinsics; the shift is in
    # units of the larger image side, the principal point at cx + 0.5 from the left edge
    side = max(w, h)
    cam_data.sensor_fit = "AUTO"
    cam_data.sensor_width = 36.0
    cam_data.lens = ex["fx"] * 36.0 / side
    cam_data.shift_x = (w / 2 - (ex["cx"] + 0.5)) / side
    cam_data.shift_y = ((ex["cy"] + 0.5) - h / 2) / side
    cam_data.clip_start, cam_data.clip_end = 1e-3, 1e4
    cam = bpy.data.objects.new("input", cam_data)
    cam.rotation_euler = (math.pi / 2, 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.samples
    scene.cycles.use_denoising = False
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = 1.0
    scene.render.resolution_x, scene.render.resolution_y = w, h
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.world = bpy.data.worlds.new("black")
    scene.world.color = (0, 0, 0)
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = args.out
    bpy.ops.render.render(write_still=True)
    print(json.dumps({"blender": bpy.app.version_string, "objects": objects, "render": args.out}))


if __name__ == "__main__":
    main()
