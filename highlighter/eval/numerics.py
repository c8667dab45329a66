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
"""

from __future__ import annotations

import hashlib
import os
import platform
from functools import cache
from pathlib import Path
from typing import Any


def fingerprint() -> str:
    """12 hex digits of a hash of everything ``_products`` computes, in this process's libraries."""
    return _digests()[0]


def fingerprint_parts() -> dict[str, str]:
    """8 hex digits of a hash of each of ``_products``, by name: where two fingerprints differ, which
    kind of computation rounds differently (the propagation's product, the convolution, the
    network, numpy's float64 product)."""
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
    (numpy's own BLAS, the memory's similarities and medoids)."""
    import numpy as np
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
    return {name: np.ascontiguousarray(p) for name, p in products.items()}


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` says where that is missing."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
