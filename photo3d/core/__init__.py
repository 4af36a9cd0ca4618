"""The paper's stages on numpy arrays (no torch, no OpenGL, no files): data (the dataclasses
passed between stages), prepare, canvas (and the border extension), discontinuities, ldi,
regions, peel (the onion-peel fill), mesh and guard (the hole guard).
"""
