"""How a machine's libraries round: what a run's figures, seed for seed, are tied to.

The tracker makes knife-edge decisions on float32 sums: whether a similarity clears a gate, and
until 2026-12-06 which remembered views were the memory's medoids (an exact tie in every
two-view cluster, now broken by the prompt's view: ``memory.kmeans_medoids``). Two machines whose
libraries round differently can take such a decision differently, and a video's track differs
from that frame on. Intel's MKL, torch's BLAS on x86, picks its code path by CPU, and the paths
round differently. ``MKL_CBWR`` (MKL's conditional numerical reproducibility) fixes the path on an
Intel CPU: on an Intel Xeon, ``MKL_CBWR=AVX2`` gave the AMD installations' suite figures, all but
one family's check seeds. On the AMD EPYC of 2026-12-06's eighth session, MKL honoured only
``MKL_CBWR=COMPATIBLE`` (``MKL_VERBOSE`` said ``CNR:AUTO`` for ``AVX2`` and ``AVX512``). With the
medoid tie broken, both paths, and that AMD EPYC, give the suite's videos alike
(docs/tracking.md, "Why the installations' figures differ", "The memory's medoids: a tie left to
rounding" and "One fingerprint, two roundings").

``fingerprint()`` hashes what ``_products`` computes on fixed inputs: a product and a convolution
of the label propagation's kind, the appearance network itself, and a float64 product of the
memory's kind. Runs with different fingerprints round differently somewhere: compare their
figures as means over many seeds, and expect single videos to differ. Runs with the same one
compare seed for seed, as far as these products stand for the tracker's. The first recipe (the
product and the convolution alone) gave that AMD EPYC the Intel Xeon's value while the code
before the tie-break (da01101) tracked clutter seed 0 there as MKL's AVX2 path did. The
network's many small products were not in it; whether they are where the two machines part was
not measured (no Intel machine was at hand). The network's outputs also change with torch's
thread count, so the fingerprint now tells thread counts apart too. ``fingerprint_parts()`` hashes
each product alone, so two runs whose fingerprints differ say which kind of computation parted
them.

OpenCV picks its kernels by CPU as well (``cv::checkHardwareSupport``, dispatching to SSE4, AVX2 or
AVX-512 builds of a function), and the tracker carries each frame's mask with OpenCV's DIS optical
flow and warps its crops with ``warpAffine``. On the AMD EPYC of 2026-12-07 (family 25, model 1:
AVX2, no AVX-512), ``OPENCV_CPU_DISABLE=AVX2,FMA3`` moved the DIS flow, ``warpAffine`` of float
maps and ``remap``, and horsejump-high's J with them (0.689 to 0.673); the recipe before had no
OpenCV in it, so two machines whose OpenCV rounds differently could share a fingerprint. The
``opencv_flow`` and ``opencv_warp`` parts are that computation (docs/tracking.md, "OpenCV rounds
by CPU too").
"""

from __future__ import annotations

import hashlib
import os
import platform
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np


def fingerprint() -> str:
    """12 hex digits of a hash of everything ``_products`` computes, in this process's libraries."""
    return _digests()[0]


def fingerprint_parts() -> dict[str, str]:
    """8 hex digits of a hash of each of ``_products``, by name: where two fingerprints differ, which
    kind of computation rounds differently (the propagation's product, the convolution, the
    network, numpy's float64 product, OpenCV's flow and resampling)."""
    return dict(_digests()[1])


@cache
def _digests() -> tuple[str, dict[str, str]]:
    whole, each = hashlib.sha256(), {}
    for name, p in _products().items():
        data = p.tobytes()
        whole.update(data)
        each[name] = hashlib.sha256(data).hexdigest()[:8]
    return whole.hexdigest()[:12], each


def _products() -> dict[str, Any]:
    """The kinds of computation the tracker's decisions rest on, each on fixed inputs (numpy's
    generator: the same numbers on every machine): a float32 matrix product of a propagation
    step's size (784 x 128 by 128 x 3,000, torch's BLAS) and a 3x3 convolution; the appearance
    network itself (``features.ImageNetFeatures``: ``dense`` of a 224 px image and ``pooled`` of a
    128 px crop, the sizes the tracker gives it), whose many small products MKL may run on other
    kernels than the large one; and a float64 product of unit vectors of the memory's length
    (numpy's own BLAS, the memory's similarities and medoids); and OpenCV's optical flow and
    resampling (``_opencv_products``)."""
    import torch

    from highlighter.track.features import ImageNetFeatures

    rng = np.random.default_rng(0)
    a, b = (torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)) for shape in ((784, 128), (128, 3000)))
    x, w = (torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)) for shape in ((1, 32, 56, 56), (64, 32, 3, 3)))
    with torch.inference_mode():
        products = {"propagation": (a @ b).numpy(), "convolution": torch.nn.functional.conv2d(x, w, padding=1).numpy()}
    features = ImageNetFeatures()
    image, crop = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    products["network_dense"] = features.dense(image)
    products["network_pooled"] = features.pooled(crop, np.ones(crop.shape[:2], bool))
    views = rng.standard_normal((40, 487))
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    products["memory_float64"] = views @ views.T
    products.update(_opencv_products(rng))
    return {name: np.ascontiguousarray(p) for name, p in products.items()}


def _opencv_products(rng) -> dict[str, Any]:
    """OpenCV's float computations of the tracker, on fixed inputs from ``rng``: the DIS optical
    flow of a textured working-size frame moved by a fraction of a pixel (the propagator's fast
    preset and ``motion``'s medium one), and the resampling of the propagator's crops and maps
    (``warpAffine`` of an RGB frame and of a float map, ``remap`` and ``resize`` of float maps)."""
    import cv2

    frame = cv2.GaussianBlur(rng.integers(0, 256, (272, 480, 3), dtype=np.uint8), (0, 0), 3)
    gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    shift = np.float32([[1, 0, 2.3], [0, 1, -1.7]])
    moved = cv2.warpAffine(gray, shift, (480, 272), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    presets = (cv2.DISOPTICAL_FLOW_PRESET_FAST, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flows = [cv2.DISOpticalFlow_create(preset).calc(gray, moved, None) for preset in presets]
    prob = rng.random((272, 480), dtype=np.float32)
    crop = np.float32([[0.61, 0.02, -13.4], [-0.02, 0.61, 7.9]])  # a turned crop of 224 px
    xs, ys = np.meshgrid(np.arange(480, dtype=np.float32) + 0.37, np.arange(272, dtype=np.float32) - 0.21)
    warps = [
        cv2.warpAffine(frame, crop, (224, 224), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32),
        cv2.warpAffine(prob, crop, (224, 224), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT),
        cv2.remap(prob, xs, ys, cv2.INTER_LINEAR),
        cv2.resize(prob[:34, :60], (480, 272), interpolation=cv2.INTER_LINEAR),
        cv2.resize(prob, (28, 28), interpolation=cv2.INTER_AREA),
    ]
    return {"opencv_flow": np.stack(flows), "opencv_warp": np.concatenate([w.ravel() for w in warps])}


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name with its family and model numbers and its widest vector unit, from
    ``/proc/cpuinfo`` (or ``cpuinfo``, its text), like ``AMD EPYC (family 25, model 1; AVX2)``;
    what ``platform`` says where that is missing. Two AMD EPYC models, one with AVX-512 and one
    without, both call themselves "AMD EPYC", and MKL, oneDNN and OpenCV take other kernels on each."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    first: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if first:
                break  # the first processor's block says it for all
            continue
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    name = first.get("model name")
    if not name:
        return platform.processor() or platform.machine()
    flags = set(first.get("flags", "").split())
    units = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("sse4_2", "SSE4.2"))
    widest = next((label for flag, label in units if flag in flags), None)
    numbers = ", ".join(f"{key.split()[-1]} {first[key]}" for key in ("cpu family", "model") if first.get(key))
    detail = "; ".join(part for part in (numbers, widest) if part)
    return f"{name} ({detail})" if detail else name


def numerics() -> dict[str, Any]:
    """``{"cpu", "fingerprint", "parts", "mkl_cbwr"}``: the CPU, ``fingerprint()``,
    ``fingerprint_parts()``, and the ``MKL_CBWR`` setting the run had (None: MKL chose its path by
    CPU)."""
    return {
        "cpu": cpu_name(), "fingerprint": fingerprint(), "parts": fingerprint_parts(), "mkl_cbwr": os.environ.get("MKL_CBWR"),
    }  # fmt: skip


def numerics_line() -> str:
    """``numerics()`` as one line under a Markdown table."""
    n = numerics()
    return f"numerics: {n['cpu']}, fingerprint {n['fingerprint']}, MKL_CBWR {n['mkl_cbwr'] or 'unset'}"
