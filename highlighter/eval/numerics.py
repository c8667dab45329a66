"""How a machine's libraries round: what a run's figures, seed for seed, are tied to.

The tracker makes knife-edge decisions on float32 sums: whether a similarity clears a gate, and
until 2026-12-06 which remembered views were the memory's medoids (an exact tie in every
two-view cluster, now broken by the prompt's view: ``memory.kmeans_medoids``). Two machines whose
libraries round differently can take such a decision differently, and a video's track differs
from that frame on. Intel's MKL, torch's BLAS on x86, picks its code path by CPU (AVX-512 kernels
on an Intel Xeon, AVX2 ones on an AMD EPYC here), and the paths round differently. ``MKL_CBWR``
(MKL's conditional numerical reproducibility) fixes the path: on an Intel Xeon, ``MKL_CBWR=AVX2``
gave the AMD installations' suite figures, all but one family's check seeds. With the medoid tie
broken, both paths give the suite's videos alike (docs/tracking.md, "Why the installations'
figures differ" and "The memory's medoids: a tie left to rounding").

``fingerprint()`` multiplies fixed matrices of the label propagation's shape and runs a fixed
convolution, and hashes the results. Runs with the same fingerprint round alike, so their figures
compare seed for seed. Between runs with different fingerprints, compare means over many seeds,
and expect single videos to differ. It does not see torch's thread count (a one-thread run gave
the two-thread fingerprint on the Intel Xeon of 2026-12-06), which can change the order of a sum:
compare runs with the same thread count too.
"""

from __future__ import annotations

import hashlib
import os
import platform
from functools import cache
from pathlib import Path
from typing import Any


@cache
def fingerprint() -> str:
    """12 hex digits of a hash of a float32 matrix product (784 x 128 by 128 x 3,000, a
    propagation step's size) and a 3x3 convolution, on fixed inputs (numpy's generator, the same
    numbers on every machine), in this process's torch."""
    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    a, b = (torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)) for shape in ((784, 128), (128, 3000)))
    x, w = (torch.from_numpy(rng.standard_normal(shape, dtype=np.float32)) for shape in ((1, 32, 56, 56), (64, 32, 3, 3)))
    with torch.inference_mode():
        products = (a @ b, torch.nn.functional.conv2d(x, w, padding=1))
    digest = hashlib.sha256()
    for p in products:
        digest.update(p.numpy().tobytes())
    return digest.hexdigest()[:12]


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
    """``{"cpu", "fingerprint", "mkl_cbwr"}``: the CPU, ``fingerprint()``, and the ``MKL_CBWR``
    setting the run had (None: MKL chose its path by CPU)."""
    return {"cpu": cpu_name(), "fingerprint": fingerprint(), "mkl_cbwr": os.environ.get("MKL_CBWR")}


def numerics_line() -> str:
    """``numerics()`` as one line under a Markdown table."""
    n = numerics()
    return f"numerics: {n['cpu']}, fingerprint {n['fingerprint']}, MKL_CBWR {n['mkl_cbwr'] or 'unset'}"
