"""How a machine's libraries round (highlighter.eval.numerics): the fingerprint the suite's and the
benches' figures carry."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch

from highlighter.eval.numerics import _digests, cpu_name, fingerprint, fingerprint_parts, numerics, numerics_line

ROOT = Path(__file__).resolve().parents[2]
CV_CPU_AVX2 = 11  # OpenCV's number for the feature (cv::CpuFeatures), which its Python module does not name


def _fingerprint_in_a_process(**env: str) -> str:
    """``fingerprint()`` in a fresh Python process, with ``env`` over this one's environment."""
    return _in_a_process("print(fingerprint())", **env)


def _parts_in_a_process(**env: str) -> dict[str, str]:
    """``fingerprint_parts()`` in a fresh Python process, with ``env`` over this one's environment."""
    return json.loads(_in_a_process("import json; print(json.dumps(fingerprint_parts()))", **env))


def _in_a_process(code: str, **env: str) -> str:
    code = "from highlighter.eval.numerics import fingerprint, fingerprint_parts; " + code
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_the_fingerprint_is_the_same_in_every_process_that_rounds_alike(monkeypatch):
    value = fingerprint()
    assert len(value) == 12 and int(value, 16) >= 0
    assert _fingerprint_in_a_process() == value  # the same libraries, the same settings
    parts = fingerprint_parts()
    assert set(parts) == {
        "propagation", "convolution", "network_dense", "network_pooled", "memory_float64", "opencv_flow", "opencv_warp",
    }  # fmt: skip
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


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or not cv2.checkHardwareSupport(CV_CPU_AVX2),
    reason="OpenCV's AVX2 kernels need an x86 CPU with AVX2",
)
def test_the_fingerprint_tells_opencv_s_code_paths_apart():
    # OpenCV dispatches its optical flow and resampling to kernels built for the CPU's vector
    # unit; with AVX2 and FMA3 turned off it takes its SSE builds, which round otherwise (and on
    # an AMD EPYC moved a real clip's J): the OpenCV parts move, and only they.
    if os.environ.get("OPENCV_CPU_DISABLE"):
        pytest.skip("this run already turns OpenCV's kernels off")
    usual, sse = _parts_in_a_process(), _parts_in_a_process(OPENCV_CPU_DISABLE="AVX2,FMA3")
    assert {name for name in usual if sse[name] != usual[name]} == {"opencv_flow", "opencv_warp"}


AMD_AVX2 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse4_2 avx avx2 fma

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse4_2 avx avx2 fma
"""


def test_the_cpu_is_named_with_its_model_and_vector_unit():
    # Two AMD EPYC models (one with AVX-512) both call themselves "AMD EPYC" and round differently.
    assert cpu_name(AMD_AVX2) == "AMD EPYC (family 25, model 1; AVX2)"
    avx512 = AMD_AVX2.replace("model\t\t: 1", "model\t\t: 17").replace("avx2 fma", "avx2 fma avx512f avx512bw")
    assert cpu_name(avx512) == "AMD EPYC (family 25, model 17; AVX-512)"
    intel = "processor\t: 0\ncpu family\t: 6\nmodel\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: avx2 avx512f\n"
    assert cpu_name(intel) == "Intel(R) Xeon(R) Platinum 8480+ (family 6, model 143; AVX-512)"
    assert cpu_name("processor\t: 0\nmodel name\t: Some CPU\n") == "Some CPU"  # nothing more to say
    # Without a model name (an ARM board's cpuinfo), platform's word for it.
    assert cpu_name("processor\t: 0\nBogoMIPS\t: 50.00\n") == (platform.processor() or platform.machine())
    assert cpu_name() and cpu_name() == numerics()["cpu"]
