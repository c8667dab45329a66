"""How a machine's libraries round (highlighter.eval.numerics): the fingerprint the suite's and the
benches' figures carry."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from highlighter.eval.numerics import _digests, fingerprint, fingerprint_parts, numerics, numerics_line

ROOT = Path(__file__).resolve().parents[2]


def _fingerprint_in_a_process(**env: str) -> str:
    """``fingerprint()`` in a fresh Python process, with ``env`` over this one's environment."""
    code = "from highlighter.eval.numerics import fingerprint; print(fingerprint())"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_fingerprint_is_the_same_in_every_process_that_rounds_alike(monkeypatch):
    value = fingerprint()
    assert len(value) == 12 and int(value, 16) >= 0
    assert _fingerprint_in_a_process() == value  # the same libraries, the same settings
    parts = fingerprint_parts()
    assert set(parts) == {"propagation", "convolution", "network_dense", "network_pooled", "memory_float64"}
    assert all(len(v) == 8 and int(v, 16) >= 0 for v in parts.values())
    assert numerics() == {"cpu": numerics()["cpu"], "fingerprint": value, "parts": parts, "mkl_cbwr": os.environ.get("MKL_CBWR")}
    assert numerics()["cpu"] and value in numerics_line()
    # The setting the run had, whatever MKL did with it.
    monkeypatch.setenv("MKL_CBWR", "AVX2")
    assert numerics()["mkl_cbwr"] == "AVX2" and "MKL_CBWR AVX2" in numerics_line()
    monkeypatch.delenv("MKL_CBWR")
    assert numerics()["mkl_cbwr"] is None and "MKL_CBWR unset" in numerics_line()


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or not torch.backends.mkl.is_available(),
    reason="MKL's code paths are an x86 matter",
)
def test_the_fingerprint_tells_mkl_s_code_paths_apart():
    # MKL's compatible path (SSE2, no fused multiply-add) rounds unlike the paths an x86 CPU of
    # this decade takes by itself (AVX2 or AVX-512): the fingerprint must see the products
    # themselves, not only the inputs.
    if os.environ.get("MKL_CBWR"):
        pytest.skip("this run already fixes MKL's path")
    assert _fingerprint_in_a_process(MKL_CBWR="COMPATIBLE") != _fingerprint_in_a_process()


def test_the_fingerprint_sees_the_appearance_network():
    # The first recipe (the large product and a convolution) gave an AMD EPYC an Intel Xeon's
    # value, yet the two tracked a video differently; the network's many small products may be
    # where they part: a last bit of the network's outputs must move the fingerprint.
    from highlighter.track.features import backbone

    before = _digests.__wrapped__()
    weight = backbone()[0][0].weight  # the first convolution's
    saved = weight.clone()
    with torch.no_grad():
        weight.copy_(torch.nextafter(weight, torch.full_like(weight, float("inf"))))
    try:
        after = _digests.__wrapped__()
    finally:
        with torch.no_grad():
            weight.copy_(saved)
    assert after[0] != before[0]
    # The parts say where: the network's two outputs, and nothing else.
    moved = {name for name in before[1] if after[1][name] != before[1][name]}
    assert moved == {"network_dense", "network_pooled"}
    assert _digests.__wrapped__() == before
