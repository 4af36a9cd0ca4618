"""The three inpainting networks of Shih et al. 2020, loadable from the published checkpoints.

* :class:`EdgeInpaintNet`: EdgeConnect-style generator (spectral norm, instance norm,
  dilated residual blocks, skip connections) completing the depth-edge map.
* :class:`PartialConvUNet`: partial-convolution U-Net; :func:`depth_inpaint_net` (4 → 1
  channels, zero-mean log depth) and :func:`color_inpaint_net` (6 → 3 channels, sigmoid RGB).

Parameter names, shapes and state-dict order follow the published ``edge-model.pth``,
``depth-model.pth`` and ``color-model.pth`` (see shared/compat/*_schema.json), so those files
load with ``load_state_dict(strict=True)``. Width and depth are constructor arguments so
smaller variants can be trained with the same code.

Input convention (all three): one float32 tensor (N, C, H, W) whose last two channels are
the *context* mask and the *synthesis* (hole) mask, 1 inside. H and W must be multiples of
``net.size_multiple`` (4 for the edge net, 2**levels for the U-Nets); the reference pads
every crop of every network to multiples of 128, centred (see ``batching.run_batched``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import Photo3DError

_SN_EPS = 1e-12  # normalisation epsilon of the power iteration (as torch.nn.utils.spectral_norm)


# ---------------------------------------------------------------------------------------
# Spectral normalisation
# ---------------------------------------------------------------------------------------

class SpectralNormConv2d(nn.Module):
    """2-D convolution (or transposed convolution) whose weight is divided by its spectral norm.

    State-dict keys: ``bias`` (if any), ``weight_orig``, ``weight_u``, ``weight_v``, in that
    order, as written by ``torch.nn.utils.spectral_norm``.

    The weight matrix W is ``weight_orig`` reshaped to (out_channels, -1); for a transposed
    convolution (stored as in, out, kh, kw) dims 0 and 1 are swapped first. The effective
    weight is ``weight_orig / sigma`` with ``sigma = u · (W v)``. In training mode one step
    of power iteration updates u and v first; in eval mode the stored u and v are used as is.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, dilation: int = 1, bias: bool = True,
                 transposed: bool = False) -> None:
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.transposed = transposed
        shape = ((in_channels, out_channels) if transposed else (out_channels, in_channels)) + (
            kernel_size, kernel_size)
        # Registration order fixes the state-dict order: bias, weight_orig, weight_u, weight_v.
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_orig = nn.Parameter(torch.randn(shape) * 0.02)
        u = torch.randn(out_channels)
        v = torch.randn(in_channels * kernel_size * kernel_size)
        self.register_buffer("weight_u", u / u.norm())
        self.register_buffer("weight_v", v / v.norm())

    def weight_matrix(self) -> torch.Tensor:
        """W: (out_channels, in_channels * kh * kw)."""
        w = self.weight_orig.transpose(0, 1) if self.transposed else self.weight_orig
        return w.reshape(w.shape[0], -1)

    def normalised_weight(self) -> torch.Tensor:
        """``weight_orig / sigma`` (same shape as ``weight_orig``), computed in float32."""
        with torch.autocast(self.weight_orig.device.type, enabled=False):
            return self._normalised_weight()

    def _normalised_weight(self) -> torch.Tensor:
        w = self.weight_matrix()
        if self.training:
            with torch.no_grad():  # one power-iteration step, u and v updated in place
                self.weight_v.copy_(F.normalize(w.t() @ self.weight_u, dim=0, eps=_SN_EPS))
                self.weight_u.copy_(F.normalize(w @ self.weight_v, dim=0, eps=_SN_EPS))
        u, v = self.weight_u.clone(), self.weight_v.clone()
        sigma = torch.dot(u, w @ v)
        return self.weight_orig / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) → (N, C_out, H', W')."""
        weight = self.normalised_weight()
        if self.transposed:
            return F.conv_transpose2d(x, weight, self.bias, self.stride, self.padding,
                                      dilation=self.dilation)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation)


# ---------------------------------------------------------------------------------------
# Edge network
# ---------------------------------------------------------------------------------------

def _instance_norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class DilatedResidualBlock(nn.Module):
    """x + IN(conv3x3(LeakyReLU(IN(conv3x3_dilated(x))))), reflection padded, spectral norm.

    The submodule ``conv_block`` has the reference's layout: pad, conv, norm, LeakyReLU(0.2),
    pad, conv, norm (convolutions at indices 1 and 5, without bias). No activation after
    the sum.
    """

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(dilation),
            SpectralNormConv2d(channels, channels, 3, dilation=dilation, bias=False),
            _instance_norm(channels),
            nn.LeakyReLU(0.2),
            nn.ReflectionPad2d(1),
            SpectralNormConv2d(channels, channels, 3, bias=False),
            _instance_norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) → (N, C, H, W)."""
        return x + self.conv_block(x)


class EdgeInpaintNet(nn.Module):
    """Edge completion generator: (N, in_channels, H, W) → sigmoid edge probability (N, 1, H, W).

    Input channels of the published model (7): RGB, disparity, edge map, context, synthesis.
    Encoder: reflection pad 3 + 7x7 conv → ``base``; two 4x4 stride-2 convs → 2·base, 4·base;
    ``res_blocks`` dilated residual blocks at 4·base; decoder: two 4x4 stride-2 transposed
    convs fed with skip concatenations, reflection pad 3 + 7x7 conv → 1, sigmoid. All convs
    but the last are spectrally normalised, followed by instance norm (no affine) and ReLU.

    Args:
        in_channels: input channels (7 for the published model).
        base_channels: width of the first layer (64 published).
        res_blocks: residual blocks in the middle (8 published).
        dilation: dilation of the residual blocks' first conv (2 published).
    """

    def __init__(self, in_channels: int = 7, base_channels: int = 64, res_blocks: int = 8,
                 dilation: int = 2) -> None:
        super().__init__()
        b = base_channels
        self.size_multiple = 4  # two stride-2 stages
        # Reflection padding needs more rows/columns than it pads, at 1/4 resolution too.
        self.min_size = max(4, 4 * (dilation + 1))
        self.encoder_0 = nn.Sequential(
            nn.ReflectionPad2d(3), SpectralNormConv2d(in_channels, b, 7), _instance_norm(b),
            nn.ReLU())
        self.encoder_1 = nn.Sequential(
            SpectralNormConv2d(b, 2 * b, 4, stride=2, padding=1), _instance_norm(2 * b), nn.ReLU())
        self.encoder_2 = nn.Sequential(
            SpectralNormConv2d(2 * b, 4 * b, 4, stride=2, padding=1), _instance_norm(4 * b),
            nn.ReLU())
        self.middle = nn.Sequential(*[DilatedResidualBlock(4 * b, dilation)
                                      for _ in range(res_blocks)])
        self.decoder_0 = nn.Sequential(
            SpectralNormConv2d(8 * b, 2 * b, 4, stride=2, padding=1, transposed=True),
            _instance_norm(2 * b), nn.ReLU())
        self.decoder_1 = nn.Sequential(
            SpectralNormConv2d(4 * b, b, 4, stride=2, padding=1, transposed=True),
            _instance_norm(b), nn.ReLU())
        self.decoder_2 = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(2 * b, 1, 7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W), H and W multiples of 4 → (N, 1, H, W) in (0, 1)."""
        _check_size(x, self.size_multiple, self.min_size)
        x1 = self.encoder_0(x)
        x2 = self.encoder_1(x1)
        x3 = self.encoder_2(x2)
        x4 = self.middle(x3)
        x5 = self.decoder_0(torch.cat((x4, x3), dim=1))
        x6 = self.decoder_1(torch.cat((x5, x2), dim=1))
        return torch.sigmoid(self.decoder_2(torch.cat((x6, x1), dim=1)))


# ---------------------------------------------------------------------------------------
# Partial-convolution U-Net
# ---------------------------------------------------------------------------------------

class AllOnesWeight(nn.Module):
    """Stand-in for the reference's frozen all-ones ``mask_conv`` convolution.

    The checkpoint stores its weight (key ``weight``, the shape of the layer's weight);
    keeping a real tensor of ones would double the U-Nets' memory, so this module stores
    nothing: it writes an expanded view of ones into state dicts and, when loading,
    checks the shape and that the stored tensor is all ones.
    """

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def _save_to_state_dict(self, destination, prefix, keep_vars):  # noqa: D401 (torch hook)
        destination[prefix + "weight"] = torch.ones(()).expand(self.shape)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        key = prefix + "weight"
        unexpected_keys.extend(k for k in state_dict if k.startswith(prefix) and k != key)
        if key not in state_dict:
            missing_keys.append(key)
            return
        value = state_dict[key]
        if tuple(value.shape) != self.shape:
            error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(value.shape)}, the shape in current model is {self.shape}.")
        elif not bool(torch.all(value == 1)):
            error_msgs.append(f"{key}: a partial convolution's mask weight must be all ones")


MaskParts = Sequence[tuple[torch.Tensor, int]]
"""A channel-wise mask as pieces (mask (N, 1, H, W), number of channels it covers), in order."""


class PartialConv2d(nn.Module):
    """Partial convolution (Liu et al. 2018) with a validity mask that is constant per channel group.

    For input features x and mask m (0/1), with k the kernel size and C_in the input channels:
    ``y = (conv(x·m) − b)·(k²·C_in) / sum(m) + b`` where sum(m) > 0 over the window, else 0;
    the output mask is ``sum(m) > 0`` (one channel: it is the same for every output channel).

    The mask comes as pieces (mask, channels) so that sum(m) is a cheap one-channel box sum
    per piece (exact: small integers in float32) instead of the reference's full
    ``mask_conv``, which gives the same numbers at the cost of a second full convolution.

    State-dict keys: ``input_conv.weight``, ``input_conv.bias`` (if any), ``mask_conv.weight``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.input_conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                                    bias=bias)
        self.mask_conv = AllOnesWeight(self.input_conv.weight.shape)
        self.window_size = in_channels * kernel_size * kernel_size

    def mask_sum(self, masks: MaskParts) -> torch.Tensor:
        """sum(m) over each output window: (N, 1, H', W') float32."""
        k = self.input_conv.kernel_size[0]
        with torch.autocast(masks[0][0].device.type, enabled=False):
            box = torch.ones(1, 1, k, k, device=masks[0][0].device)
            total = sum(channels * F.conv2d(mask.float(), box, None, self.input_conv.stride,
                                            self.input_conv.padding)
                        for mask, channels in masks)
        return total  # type: ignore[return-value]

    def forward(self, x: torch.Tensor, masks: MaskParts,
                premasked: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C_in, H, W) and mask pieces covering C_in channels → ((N, C_out, H', W'), (N, 1, H', W')).

        ``premasked``: ``x`` is already multiplied by its masks (the U-Net's decoder masks
        each piece before concatenating them, which saves a full-width mask and product).
        """
        if not premasked:
            if len(masks) == 1:  # one mask for every channel: broadcast, no expanded copy
                x = x * masks[0][0].to(x.dtype)
            else:
                x = x * torch.cat([m.expand(-1, c, -1, -1) for m, c in masks], dim=1).to(x.dtype)
        output = self.input_conv(x)
        mask_sum = self.mask_sum(masks)
        holes = mask_sum == 0
        bias = self.input_conv.bias
        bias = (bias.view(1, -1, 1, 1) if bias is not None
                else torch.zeros((), dtype=output.dtype, device=output.device))
        # The ratio k²·C_in / sum(m) (up to ~1e4) is formed in float32 first: under fp16
        # autocast, multiplying the half-precision output by it first would overflow to inf.
        ratio = self.window_size / mask_sum.masked_fill(holes, 1.0)
        if torch.is_grad_enabled() or output.dtype != ratio.dtype:  # autograd / fp16: out of place
            renormalised = (output - bias) * ratio + bias
            return renormalised.masked_fill(holes, 0.0), (~holes).to(mask_sum.dtype)
        # float32 inference: the same operations in place (same numbers, no full-size temporaries)
        return output.sub_(bias).mul_(ratio).add_(bias).masked_fill_(holes, 0.0), (~holes).to(mask_sum.dtype)


class PartialConvBlock(nn.Module):
    """Partial conv, optional BatchNorm, optional activation (``relu`` / ``leaky`` 0.2 / None)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 batch_norm: bool, activation: str | None, bias: bool) -> None:
        super().__init__()
        self.conv = PartialConv2d(in_channels, out_channels, kernel_size, stride, bias)
        if batch_norm:
            self.bn = nn.BatchNorm2d(out_channels)
        self.activation = {"relu": nn.ReLU(), "leaky": nn.LeakyReLU(0.2), None: nn.Identity()}[
            activation]

    def forward(self, x: torch.Tensor, masks: MaskParts,
                premasked: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """See :meth:`PartialConv2d.forward`."""
        h, mask = self.conv(x, masks, premasked)
        if hasattr(self, "bn"):
            h = self.bn(h)
        return self.activation(h), mask


class PartialConvUNet(nn.Module):
    """Partial-convolution U-Net: (N, in_channels, H, W) → (N, out_channels, H, W).

    ``levels`` stride-2 encoder stages ``enc_1..enc_L`` (kernels 7, 5, 5, 3, 3, ...; widths
    base·2^(i−1) capped at 8·base; BN on all but the first; ReLU). Decoder stage i (L..1):
    nearest ×2 upsampling of features and mask, concatenation with encoder level i−1 (level
    0 = the input), 3x3 partial conv; BN and LeakyReLU(0.2) on all but the last. The
    validity mask of the input is clamp(context + synthesis, 0, 1) over every channel.

    Args:
        in_channels, out_channels: 4, 1 (depth) or 6, 3 (colour) for the published models.
        base_channels: width of ``enc_1`` (64 published).
        levels: number of stride-2 stages (7 published): H, W must be multiples of 2**levels.
        biased_encoder_levels: how many of the first encoder convs have a bias (depth 2, colour 0).
        decoder_names: module name of each decoder stage, in registration (state-dict) order,
            as (level, name) pairs.
        output_activation: ``"sigmoid"`` or None.
    """

    def __init__(self, in_channels: int, out_channels: int, base_channels: int = 64,
                 levels: int = 7, biased_encoder_levels: int = 0,
                 decoder_names: Sequence[tuple[int, str]] | None = None,
                 output_activation: str | None = None) -> None:
        super().__init__()
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        self.levels = levels
        self.size_multiple = 2 ** levels
        self.output_activation = output_activation
        widths = [in_channels] + [min(base_channels * 2 ** i, 8 * base_channels)
                                  for i in range(levels)]
        kernels = [7, 5, 5] + [3] * max(0, levels - 3)
        for i in range(1, levels + 1):
            setattr(self, f"enc_{i}", PartialConvBlock(
                widths[i - 1], widths[i], kernels[i - 1], 2, batch_norm=i > 1,
                activation="relu", bias=i <= biased_encoder_levels))
        names = decoder_names or [(i, f"dec_{i}") for i in range(levels, 0, -1)]
        if sorted(level for level, _ in names) != list(range(1, levels + 1)):
            raise ValueError(f"decoder_names must name levels 1..{levels} once each: {names}")
        self._decoder_name = dict(names)
        for level, name in names:
            last = level == 1
            setattr(self, name, PartialConvBlock(
                widths[level] + widths[level - 1], out_channels if last else widths[level - 1], 3,
                1, batch_norm=not last, activation=None if last else "leaky", bias=last))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W), last two channels context and synthesis → (N, C_out, H, W)."""
        _check_size(x, self.size_multiple)
        valid = (x[:, -2:-1] + x[:, -1:]).clamp(0, 1)
        features, masks = [x], [valid]
        for i in range(1, self.levels + 1):
            h, m = getattr(self, f"enc_{i}")(features[-1], [(masks[-1], features[-1].shape[1])])
            features.append(h)
            masks.append(m)
        h, m = features[-1], masks[-1]
        for level in range(self.levels, 0, -1):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            m = F.interpolate(m, scale_factor=2, mode="nearest")
            skip, skip_mask = features[level - 1], masks[level - 1]
            # each piece masked before the concatenation: the same product as masking the
            # concatenated features with the concatenated masks, without building either
            h, m = getattr(self, self._decoder_name[level])(
                torch.cat((h * m.to(h.dtype), skip * skip_mask.to(skip.dtype)), dim=1),
                [(m, h.shape[1]), (skip_mask, skip.shape[1])], premasked=True)
        return torch.sigmoid(h) if self.output_activation == "sigmoid" else h


def depth_inpaint_net(base_channels: int = 64, levels: int = 7) -> PartialConvUNet:
    """Depth inpainting U-Net, 4 → 1 channels (zero-mean log depth, edge, context, synthesis).

    Output: zero-mean log depth, no activation. Defaults = the published ``depth-model.pth``.
    """
    # The reference registers dec_5..dec_L before dec_4..dec_1 (state-dict order).
    order = list(range(5, levels + 1)) + list(range(min(4, levels), 0, -1))
    return PartialConvUNet(4, 1, base_channels, levels, biased_encoder_levels=2,
                           decoder_names=[(i, f"dec_{i}") for i in order])


def color_inpaint_net(base_channels: int = 64, levels: int = 7) -> PartialConvUNet:
    """Colour inpainting U-Net, 6 → 3 channels (RGB, edge, context, synthesis), sigmoid output.

    Defaults = the published ``color-model.pth`` (decoder stages 5..1 are named ``dec_5A``..).
    """
    names = [(i, f"dec_{i}" if i > 5 else f"dec_{i}A") for i in range(levels, 0, -1)]
    return PartialConvUNet(6, 3, base_channels, levels, biased_encoder_levels=0,
                           decoder_names=names, output_activation="sigmoid")


def _check_size(x: torch.Tensor, multiple: int, minimum: int = 1) -> None:
    if (x.ndim != 4 or x.shape[-2] % multiple or x.shape[-1] % multiple
            or min(x.shape[-2:]) < minimum):
        raise Photo3DError(f"network input must be (N, C, H, W) with H, W multiples of {multiple} "
                           f"and at least {minimum}, got {tuple(x.shape)}")


NETWORK_KINDS = ("edge", "depth", "color")


def build_network(kind: str, **size: int) -> nn.Module:
    """A fresh network of ``kind`` (``edge``/``depth``/``color``); ``size`` overrides widths/depths.

    Edge: ``base_channels``, ``res_blocks``, ``dilation``; depth/colour: ``base_channels``,
    ``levels``. Without overrides the architecture is that of the published checkpoint.
    """
    if kind == "edge":
        return EdgeInpaintNet(**size)
    if kind == "depth":
        return depth_inpaint_net(**size)
    if kind == "color":
        return color_inpaint_net(**size)
    raise Photo3DError(f"unknown network kind {kind!r}: expected one of {', '.join(NETWORK_KINDS)}")


def parameter_count(module: nn.Module) -> int:
    """Number of learnable parameters (excludes buffers such as spectral-norm u, v)."""
    return sum(math.prod(p.shape) for p in module.parameters())


def load_network(kind: str, path: str | Path | None = None,
                 device: "str | torch.device" = "cpu",
                 checkpoints_dir: str | Path | None = None) -> "nn.Module":
    """The published-architecture network ``kind`` with weights from ``path``, in eval mode.

    Args:
        kind: ``"edge"``, ``"depth"`` or ``"color"``.
        path: a ``.pth`` / ``.safetensors`` state dict; None looks it up with
            :func:`photo3d.weights.find_weights` (``edge-model.pth`` etc.).
        device: where the network is moved.
        checkpoints_dir: searched first when ``path`` is None.

    Raises:
        Photo3DError: unknown kind, file missing or damaged, or keys/shapes that do not
            fit (the message lists missing, unexpected and mis-shaped keys).
    """
    from .. import weights

    network = build_network(kind)
    if path is None:
        path = weights.find_weights(kind, checkpoints_dir)
        if path is None:
            raise Photo3DError(
                f"{weights.get_spec(kind).filename}: {kind} network weights not found in "
                f"{', '.join(map(str, weights.search_dirs(checkpoints_dir)))} (run: photo3d weights download {kind})")
    state_dict = weights.load_state_dict(path)
    weights.load_into(network, state_dict, path)
    return network.to(device).eval()
