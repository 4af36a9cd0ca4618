"""Depth Anything V2 (Small, Base, Large): monocular relative disparity for RGB-only input.

Our own declaration of the published networks (a DINOv2 ViT/14 backbone + a DPT head), one
model class and a table of variants (:data:`VARIANTS`, the widths of each published size),
so that the published ``depth_anything_v2_vit{s,b,l}.pth`` load with ``strict=True``;
module and parameter names mirror their ``state_dict`` keys (``pretrained.*``,
``depth_head.*``). Small is Apache-2.0; Base and Large are non-commercial (CC-BY-NC-4.0).

Conventions:

* Network input: ``(N, 3, H, W)`` float, RGB in [0, 1] normalised with the ImageNet mean
  and std; H and W should be multiples of 14 (the patch size; a remainder is ignored by
  the patch embedding, and the output has size ``14 * (H // 14), 14 * (W // 14)``).
* Output: relative disparity (inverse depth, up to an unknown scale and shift),
  non-negative, larger = nearer.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_rgb_image
from ..errors import Photo3DError

WEIGHTS_NAME = "depth_anything_v2_vits"  # the default variant's registry name

PATCH_SIZE = 14
EMBED_DIM = 384
NUM_BLOCKS = 12
NUM_HEADS = 6
MLP_RATIO = 4
BASE_GRID = 37  # position embedding grid of the 518 x 518 training size
FEATURE_BLOCKS = (2, 5, 8, 11)  # blocks whose (normalised) outputs feed the head
HEAD_FEATURES = 64
HEAD_CHANNELS = (48, 96, 192, 384)
# The reference adds this to the target grid size before taking the scale factor of
# the bicubic position-embedding resize (a floating-point guard from DINO).
POS_EMBED_OFFSET = 0.1



@dataclass(frozen=True)
class Variant:
    """One published size of Depth Anything V2 (the reference's ``model_configs``).

    name: "vits", "vitb" or "vitl"; weights: its registry name in :mod:`photo3d.weights`;
    label: for messages; embed_dim, num_blocks, num_heads: the ViT; feature_blocks: the
    blocks feeding the head; features, channels: the DPT head's widths; licence.
    """

    name: str
    label: str
    embed_dim: int
    num_blocks: int
    num_heads: int
    feature_blocks: tuple[int, ...]
    features: int
    channels: tuple[int, int, int, int]
    licence: str

    @property
    def weights(self) -> str:
        return f"depth_anything_v2_{self.name}"

    @property
    def commercial_use(self) -> bool:
        return "NC" not in self.licence


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("vits", "Depth Anything V2 Small", 384, 12, 6, (2, 5, 8, 11), 64, (48, 96, 192, 384), "Apache-2.0"),
    Variant("vitb", "Depth Anything V2 Base", 768, 12, 12, (2, 5, 8, 11), 128, (96, 192, 384, 768), "CC-BY-NC-4.0"),
    Variant("vitl", "Depth Anything V2 Large", 1024, 24, 16, (4, 11, 17, 23), 256, (256, 512, 1024, 1024),
            "CC-BY-NC-4.0"),
)}
DEFAULT_VARIANT = "vits"


def get_variant(name: str) -> Variant:
    """The variant ``name`` ("vits", "vitb", "vitl"); Photo3DError listing them otherwise."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise Photo3DError(f"Depth Anything V2: unknown variant {name!r}; known: {', '.join(VARIANTS)}") from None


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_INPUT_SIZE = 518
_LAYER_NORM_EPS = 1e-6


# ---------------------------------------------------------------------------------------
# Backbone: DINOv2 ViT-S/14
# ---------------------------------------------------------------------------------------

class PatchEmbed(nn.Module):
    """Non-overlapping 14 x 14 patches to tokens: ``(N, 3, H, W) -> (N, (H//14)*(W//14), C)``."""

    def __init__(self, embed_dim: int = EMBED_DIM, patch_size: int = PATCH_SIZE) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class LayerScale(nn.Module):
    """Per-channel scale ``gamma`` of a residual branch."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Attention(nn.Module):
    """Multi-head self-attention: ``(N, T, C) -> (N, T, C)``."""

    def __init__(self, dim: int = EMBED_DIM, num_heads: int = NUM_HEADS) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        # (N, T, 3C) -> 3 x (N, heads, T, C/heads)
        head_dim = c // self.num_heads
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # scale 1/sqrt(C/heads)
        return self.proj(out.transpose(1, 2).reshape(n, t, c))


class Mlp(nn.Module):
    """Token-wise MLP ``C -> 4C -> C`` with exact GELU."""

    def __init__(self, dim: int = EMBED_DIM, hidden: int = EMBED_DIM * MLP_RATIO) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block with LayerScale on both residual branches."""

    def __init__(self, dim: int = EMBED_DIM, num_heads: int = NUM_HEADS) -> None:
        super().__init__()
        # Registration order = state_dict key order of the published file.
        self.norm1 = nn.LayerNorm(dim, eps=_LAYER_NORM_EPS)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=_LAYER_NORM_EPS)
        self.mlp = Mlp(dim, dim * MLP_RATIO)
        self.ls2 = LayerScale(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoV2(nn.Module):
    """DINOv2 ViT/14 encoder returning normalised intermediate block outputs
    (ViT-S by default; widths from a :class:`Variant`)."""

    def __init__(self, embed_dim: int = EMBED_DIM, num_blocks: int = NUM_BLOCKS, num_heads: int = NUM_HEADS) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + BASE_GRID * BASE_GRID, embed_dim))
        # Unused at inference (masked-image training); kept so the published file loads strictly.
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))
        self.patch_embed = PatchEmbed(embed_dim)
        self.blocks = nn.ModuleList(Block(embed_dim, num_heads) for _ in range(num_blocks))
        self.norm = nn.LayerNorm(embed_dim, eps=_LAYER_NORM_EPS)

    def position_embedding(self, height: int, width: int) -> torch.Tensor:
        """Position embedding for an input of ``height`` x ``width`` pixels: ``(1, 1 + h*w, C)``.

        The patch part (a 37 x 37 grid) is resized bicubically (no antialiasing) by the
        scale factors ``(H//14 + 0.1) / 37`` and ``(W//14 + 0.1) / 37``, as the reference
        does; a 518 x 518 input uses the stored grid unchanged. The class token's entry is kept.
        """
        grid_h, grid_w = height // PATCH_SIZE, width // PATCH_SIZE
        if grid_h == BASE_GRID and grid_w == BASE_GRID and height == width:
            return self.pos_embed
        dtype = self.pos_embed.dtype
        pos = self.pos_embed.float()
        patch_pos = pos[:, 1:].reshape(1, BASE_GRID, BASE_GRID, self.embed_dim).permute(0, 3, 1, 2)
        scale = ((grid_h + POS_EMBED_OFFSET) / BASE_GRID, (grid_w + POS_EMBED_OFFSET) / BASE_GRID)
        # scale_factor (not size) on purpose: with the default recompute_scale_factor the
        # sampling positions follow the given factor, which is what the weights were used with.
        patch_pos = F.interpolate(patch_pos, scale_factor=scale, mode="bicubic", antialias=False)
        if patch_pos.shape[-2:] != (grid_h, grid_w):
            raise RuntimeError(f"position grid {tuple(patch_pos.shape[-2:])} != {(grid_h, grid_w)}")
        patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, self.embed_dim)
        return torch.cat((pos[:, :1], patch_pos), dim=1).to(dtype)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Image ``(N, 3, H, W)`` to tokens ``(N, 1 + (H//14)*(W//14), C)``, class token first."""
        patches = self.patch_embed(x)
        cls = self.cls_token.expand(patches.shape[0], -1, -1).to(patches.dtype)
        tokens = torch.cat((cls, patches), dim=1)
        return tokens + self.position_embedding(x.shape[-2], x.shape[-1]).to(tokens.dtype)

    def forward(self, x: torch.Tensor, block_indices: tuple[int, ...] = FEATURE_BLOCKS
                ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised outputs of the blocks ``block_indices``.

        Args:
            x: ``(N, 3, H, W)`` normalised image.

        Returns:
            One ``(patch_tokens (N, h*w, C), class_token (N, C))`` pair per requested block,
            ``h, w = H // 14, W // 14``, patch tokens in row-major order.
        """
        x = self.tokens(x)
        features = []
        last = max(block_indices)
        for index, block in enumerate(self.blocks[: last + 1]):
            x = block(x)
            if index in block_indices:
                normed = self.norm(x)
                features.append((normed[:, 1:], normed[:, 0]))
        return features


# ---------------------------------------------------------------------------------------
# Head: DPT
# ---------------------------------------------------------------------------------------

class ResidualConvUnit(nn.Module):
    """``x + conv2(relu(conv1(relu(x))))`` with 3 x 3 convolutions, shape-preserving."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, padding=1)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FusionBlock(nn.Module):
    """DPT feature fusion: add the refined skip, refine, upsample, 1 x 1 projection."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, 1)
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, path: torch.Tensor, skip: torch.Tensor | None = None,
                size: tuple[int, int] | None = None) -> torch.Tensor:
        """``(N, F, h, w)`` (+ skip of the same shape) -> ``(N, F, *size)`` (default ``2h, 2w``)."""
        if skip is not None:
            path = path + self.resConfUnit1(skip)
        path = self.resConfUnit2(path)
        if size is None:
            size = (2 * path.shape[-2], 2 * path.shape[-1])
        path = F.interpolate(path, size=size, mode="bilinear", align_corners=True)
        return self.out_conv(path)


class Scratch(nn.Module):
    """The DPT head's shared-width layers (``depth_head.scratch.*``)."""

    def __init__(self, in_channels: tuple[int, ...] = HEAD_CHANNELS, features: int = HEAD_FEATURES) -> None:
        super().__init__()
        self.layer1_rn = nn.Conv2d(in_channels[0], features, 3, padding=1, bias=False)
        self.layer2_rn = nn.Conv2d(in_channels[1], features, 3, padding=1, bias=False)
        self.layer3_rn = nn.Conv2d(in_channels[2], features, 3, padding=1, bias=False)
        self.layer4_rn = nn.Conv2d(in_channels[3], features, 3, padding=1, bias=False)
        self.refinenet1 = FusionBlock(features)
        self.refinenet2 = FusionBlock(features)
        self.refinenet3 = FusionBlock(features)
        self.refinenet4 = FusionBlock(features)
        self.output_conv1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, 1),
            nn.ReLU(),
        )


class DPTHead(nn.Module):
    """Four token maps at 1/14 resolution to one disparity map at the input resolution."""

    def __init__(self, embed_dim: int = EMBED_DIM, channels: tuple[int, ...] = HEAD_CHANNELS,
                 features: int = HEAD_FEATURES) -> None:
        super().__init__()
        self.projects = nn.ModuleList(nn.Conv2d(embed_dim, c, 1) for c in channels)
        # Feature pyramid at 4x, 2x, 1x and 1/2x the patch grid.
        self.resize_layers = nn.ModuleList([
            nn.ConvTranspose2d(channels[0], channels[0], kernel_size=4, stride=4),
            nn.ConvTranspose2d(channels[1], channels[1], kernel_size=2, stride=2),
            nn.Identity(),
            nn.Conv2d(channels[3], channels[3], kernel_size=3, stride=2, padding=1),
        ])
        self.scratch = Scratch(channels, features)

    def forward(self, patch_tokens: list[torch.Tensor], grid_h: int, grid_w: int) -> torch.Tensor:
        """Args: four ``(N, grid_h*grid_w, C)`` token maps. Returns ``(N, 1, 14*grid_h, 14*grid_w)``."""
        layers = []
        for tokens, project, resize in zip(patch_tokens, self.projects, self.resize_layers):
            fmap = tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], grid_h, grid_w)
            layers.append(resize(project(fmap)))
        s = self.scratch
        l1, l2 = s.layer1_rn(layers[0]), s.layer2_rn(layers[1])
        l3, l4 = s.layer3_rn(layers[2]), s.layer4_rn(layers[3])
        path = s.refinenet4(l4, size=l3.shape[-2:])
        path = s.refinenet3(path, l3, size=l2.shape[-2:])
        path = s.refinenet2(path, l2, size=l1.shape[-2:])
        path = s.refinenet1(path, l1)
        out = s.output_conv1(path)
        out = F.interpolate(out, size=(PATCH_SIZE * grid_h, PATCH_SIZE * grid_w),
                            mode="bilinear", align_corners=True)
        return s.output_conv2(out)


class DepthAnythingV2(nn.Module):
    """Depth Anything V2 of one :data:`VARIANTS` entry (default Small):
    ``(N, 3, H, W)`` normalised image -> ``(N, 14*(H//14), 14*(W//14))``.

    The output is relative disparity (>= 0, larger = nearer). Weights are not loaded here:
    see :func:`load_depth_anything`.
    """

    def __init__(self, variant: str = DEFAULT_VARIANT) -> None:
        super().__init__()
        self.variant = get_variant(variant)
        v = self.variant
        self.pretrained = DinoV2(v.embed_dim, v.num_blocks, v.num_heads)
        self.depth_head = DPTHead(v.embed_dim, v.channels, v.features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grid_h, grid_w = x.shape[-2] // PATCH_SIZE, x.shape[-1] // PATCH_SIZE
        features = self.pretrained(x, self.variant.feature_blocks)
        disparity = self.depth_head([patch for patch, _cls in features], grid_h, grid_w)
        return F.relu(disparity).squeeze(1)


def DepthAnythingV2Small() -> DepthAnythingV2:  # noqa: N802 (kept: the name earlier code imports)
    """Depth Anything V2 Small (``DepthAnythingV2("vits")``)."""
    return DepthAnythingV2("vits")


DinoV2Small = DinoV2  # ViT-S is DinoV2's default


# ---------------------------------------------------------------------------------------
# Loading and inference on images
# ---------------------------------------------------------------------------------------

def _missing_weights_error(checkpoints_dir: str | Path | None, variant: str = DEFAULT_VARIANT) -> Photo3DError:
    where = f" (searched {checkpoints_dir} and the default places)" if checkpoints_dir else ""
    v = get_variant(variant)
    return Photo3DError(
        f"{v.weights}.pth: {v.label} weights not found{where}; "
        f"get them with `photo3d weights download {v.weights}`")


def variant_of(state_dict, path: str | Path) -> Variant:
    """The variant whose widths a state dict has (read from its class token's width)."""
    token = state_dict.get("pretrained.cls_token")
    width = int(token.shape[-1]) if token is not None and token.ndim == 3 else None
    for variant in VARIANTS.values():
        if variant.embed_dim == width:
            return variant
    raise Photo3DError(f"{path}: not Depth Anything V2 weights (no pretrained.cls_token of a known width)")


def load_depth_anything(path: str | Path, device: str | torch.device = "cpu",
                        variant: str | None = None) -> DepthAnythingV2:
    """Build the network and load a published-format state dict strictly; eval mode.

    Args:
        path: ``depth_anything_v2_vit{s,b,l}.pth`` (or ``.safetensors``); never unpickled.
        device: where the model lives: "auto" (CUDA when available), "cpu", "cuda[:N]".
        variant: "vits", "vitb" or "vitl"; None: the one the file's widths say.

    Raises:
        Photo3DError: the file is missing, unreadable, or its keys/shapes do not fit; the
            device is unknown or unavailable.
    """
    from ..device import pick_device
    from ..weights import load_into, load_state_dict

    device = pick_device(device)
    state = load_state_dict(path)
    chosen = get_variant(variant) if variant is not None else variant_of(state, path)
    model = DepthAnythingV2(chosen.name)
    load_into(model, state, path)
    model = model.to(device).eval()
    if device.type == "cpu":
        # oneDNN convolutions of the DPT head run ~40 % faster in NHWC; same results to ~1e-5.
        model = model.to(memory_format=torch.channels_last)
    return model


def network_input_size(height: int, width: int, input_size: int = DEFAULT_INPUT_SIZE,
                       multiple: int = PATCH_SIZE) -> tuple[int, int]:
    """Network input ``(height, width)`` for an image, as the reference pre-processing sizes it.

    The image is scaled keeping its aspect ratio so that both sides reach at least
    ``input_size``; each side is then rounded to the nearest multiple of ``multiple``
    (half to even, like numpy), or rounded up where rounding would fall below ``input_size``.
    """
    if height <= 0 or width <= 0:
        raise Photo3DError(f"image array: size {height}x{width} is empty")
    if input_size < multiple:
        raise Photo3DError(f"depth input size {input_size}: must be at least {multiple} (one patch)")
    scale = max(input_size / height, input_size / width)

    def constrain(side: float) -> int:
        rounded = int(round(side / multiple)) * multiple
        if rounded < input_size:
            rounded = int(np.ceil(side / multiple)) * multiple
        return rounded

    return constrain(scale * height), constrain(scale * width)


def preprocess(image: np.ndarray, input_size: int = DEFAULT_INPUT_SIZE) -> torch.Tensor:
    """RGB uint8 image ``(H, W, 3)`` to the network input ``(1, 3, h, w)`` float32.

    RGB scaled to [0, 1], resized bicubically (OpenCV) to :func:`network_input_size`,
    normalised with the ImageNet mean and std. (The reference resizes in float64; float32
    differs by ~1e-7.)
    """
    import cv2

    check_rgb_image(image, "Depth Anything")
    net_h, net_w = network_input_size(image.shape[0], image.shape[1], input_size)
    rgb = image.astype(np.float32) / 255.0
    rgb = cv2.resize(rgb, (net_w, net_h), interpolation=cv2.INTER_CUBIC)
    rgb = (rgb - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None]


def resize_to_image(disparity: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Network output ``(N, h, w)`` to ``(N, height, width)``, bilinear, align_corners=True."""
    return F.interpolate(disparity[:, None], size=(height, width), mode="bilinear",
                         align_corners=True)[:, 0]


def estimate(image: np.ndarray, model: nn.Module | None = None, *,
             weights: str | Path | None = None, checkpoints_dir: str | Path | None = None,
             device: str | torch.device = "cpu", input_size: int = DEFAULT_INPUT_SIZE,
             variant: str = DEFAULT_VARIANT) -> np.ndarray:
    """Relative disparity of an RGB image (larger = nearer), ``(H, W)`` float32, >= 0.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        model: a loaded network (from :func:`load_depth_anything`); when None it is loaded
            from ``weights`` or, failing that, found with ``photo3d.weights.find_weights``
            (``checkpoints_dir`` searched first). Pass a model to reuse it across images.
        device: where a newly loaded model runs ("auto", "cpu", "cuda[:N]"); a given
            model runs where it already is.
        input_size: shorter side of the network input (518 for the published weights).
        variant: which published size to look up when neither ``model`` nor ``weights``
            is given ("vits", "vitb", "vitl").

    Raises:
        Photo3DError: bad image, or no weights to be found.
    """
    check_rgb_image(image, "Depth Anything")
    if model is None:
        path = Path(weights) if weights is not None else None
        if path is None:
            from ..weights import find_weights

            path = find_weights(get_variant(variant).weights, checkpoints_dir)
            if path is None:
                raise _missing_weights_error(checkpoints_dir, variant)
        model = load_depth_anything(path, device, variant if weights is None else None)
    model_device = next(model.parameters()).device
    height, width = image.shape[:2]
    x = preprocess(image, input_size).to(model_device)
    with torch.inference_mode():
        disparity = resize_to_image(model(x), height, width)
    return disparity[0].float().cpu().numpy()
