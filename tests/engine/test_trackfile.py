"""The track file's mask codec: decoding a box of a mask gives exactly that part of the whole mask."""

from __future__ import annotations

import numpy as np
import pytest

from highlighter.trackfile import FrameTrack, Track, decode_mask, decode_mask_region, encode_mask, rle_counts


def _masks():
    rng = np.random.default_rng(7)
    yield np.zeros((9, 13), bool)
    yield np.ones((9, 13), bool)
    for _ in range(60):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        yield rng.random((h, w)) < rng.random()
    # A 1080p product: the first run is longer than 2^20, which needs the fifth 5-bit group.
    yy, xx = np.mgrid[0:1080, 0:1920]
    big = ((xx - 1500) / 150) ** 2 + ((yy - 800) / 216) ** 2 <= 1
    big[1070:, 1910:] = True
    yield big


def test_the_run_lengths_rebuild_the_mask_pycocotools_decodes():
    for mask in _masks():
        rle = encode_mask(mask)
        counts = rle_counts(rle["counts"])
        assert counts.sum() == mask.size
        flat = np.repeat(np.arange(counts.size) % 2 == 1, counts)  # runs alternate, zeros first
        rebuilt = flat.reshape(mask.shape[1], mask.shape[0]).T  # column-major
        assert np.array_equal(rebuilt, decode_mask(rle))
        assert np.array_equal(rebuilt, mask)


@pytest.mark.parametrize("seed", range(5))
def test_a_region_is_that_part_of_the_whole_mask(seed):
    rng = np.random.default_rng(seed)
    for mask in _masks():
        h, w = mask.shape
        rle = encode_mask(mask)
        for _ in range(8):
            x0, x1 = sorted(int(v) for v in rng.integers(-3, w + 4, 2))
            y0, y1 = sorted(int(v) for v in rng.integers(-3, h + 4, 2))
            region = decode_mask_region(rle, x0, y0, x1, y1)
            expected = mask[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
            assert region.shape == expected.shape
            assert np.array_equal(region, expected)


def test_a_hidden_frame_has_an_empty_region():
    mask = np.zeros((20, 30), bool)
    mask[5:9, 10:14] = True
    frames = [FrameTrack.from_mask(0, 0.0, mask, 0.9), FrameTrack.hidden(1, 0.04)]
    track = Track({"width": 30, "height": 20, "fps": 25.0, "frame_count": 2}, {"text": "x"}, frames, [[0, 1]])
    assert np.array_equal(track.mask_region(0, 8, 4, 16, 12), mask[4:12, 8:16])
    assert track.mask_region(1, 8, 4, 16, 12).shape == (8, 8)
    assert not track.mask_region(1, 8, 4, 16, 12).any()
    assert track.mask_region(1, 25, 15, 40, 30).shape == (5, 5)  # clipped to the frame
