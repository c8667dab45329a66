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


# -- several objects ---------------------------------------------------------------------------------

VIDEO = {"width": 30, "height": 20, "fps": 25.0, "frame_count": 2}


def _box_mask(x0, y0, x1, y1):
    mask = np.zeros((20, 30), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _two_products() -> Track:
    from highlighter.trackfile import TrackObject

    bag = [FrameTrack.from_mask(0, 0.0, _box_mask(2, 2, 8, 8), 0.9), FrameTrack.hidden(1, 0.04)]
    shoes = [FrameTrack.from_mask(0, 0.0, _box_mask(20, 5, 28, 15), 0.8), FrameTrack.from_mask(1, 0.04, _box_mask(18, 5, 26, 15), 0.7)]
    return Track(
        VIDEO,
        shots=[[0, 1]],
        objects=[
            TrackObject("bag", "the red bag", {"text": "the red bag"}, bag),
            TrackObject("shoes", "the white sneakers", {"boxes": [[20, 5, 8, 10]]}, shoes, {"init_frame": 0}),
        ],
    )


def test_a_one_object_track_is_written_as_version_1_exactly_as_before():
    frames = [FrameTrack.from_mask(0, 0.0, _box_mask(2, 2, 8, 8), 0.9), FrameTrack.hidden(1, 0.04)]
    track = Track(VIDEO, {"text": "the red bag"}, frames, [[0, 1]], {"backend": "memory"})
    data = track.to_dict()
    assert list(data) == ["version", "video", "prompt", "frames", "shots", "meta"]
    assert data["version"] == 1 and data["prompt"] == {"text": "the red bag"}
    assert track.ids == ["1"] and track.objects[0].name == "the red bag"
    again = Track.from_json(track.to_json())
    assert again.to_dict() == data and again.frames[0].mask == frames[0].mask


def test_a_named_single_object_keeps_its_id_and_name_in_version_1():
    track = _two_products().single("shoes")
    data = track.to_dict()
    assert data["version"] == 1 and data["object"]["id"] == "shoes" and data["object"]["name"] == "the white sneakers"
    again = Track.from_json(track.to_json())
    assert again.ids == ["shoes"] and again.objects[0].meta == {"init_frame": 0}
    assert np.array_equal(again.mask(1), _box_mask(18, 5, 26, 15))


def test_several_objects_round_trip_as_version_2():
    track = _two_products()
    data = track.to_dict()
    assert data["version"] == 2 and "frames" not in data and [o["id"] for o in data["objects"]] == ["bag", "shoes"]
    again = Track.from_json(track.to_json())
    assert again.to_dict() == data
    # The first object is what code written for one product reads.
    assert again.frames is again.objects[0].frames and again.prompt == {"text": "the red bag"}
    assert np.array_equal(again.mask(0), _box_mask(2, 2, 8, 8))
    assert np.array_equal(again.mask(0, "shoes"), _box_mask(20, 5, 28, 15))
    assert np.array_equal(again.mask_region(1, 16, 0, 30, 20, "shoes"), _box_mask(18, 5, 26, 15)[:, 16:])
    assert again.visible_fraction("bag") == 0.5 and again.visible_fraction("shoes") == 1.0
    assert again.overlaps() == []


def test_replacing_one_object_leaves_the_others_untouched():
    from highlighter.trackfile import TrackObject

    track = _two_products()
    hidden = TrackObject("bag", "the red bag", {"text": "the red bag"}, [FrameTrack.hidden(0, 0.0), FrameTrack.hidden(1, 0.04)])
    revised = track.replace_object(hidden)
    assert revised.visible_fraction("bag") == 0.0
    assert revised.object("shoes").to_dict() == track.object("shoes").to_dict()
    assert track.visible_fraction("bag") == 0.5  # the original is unchanged


def test_overlapping_objects_are_reported():
    from highlighter.trackfile import TrackObject

    track = _two_products()
    over = [FrameTrack.from_mask(0, 0.0, _box_mask(6, 2, 22, 8), 0.9), FrameTrack.hidden(1, 0.04)]
    assert track.replace_object(TrackObject("bag", "the red bag", {}, over)).overlaps() == [0]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"version": 3, "video": VIDEO, "objects": []}, "version 1 or 2"),
        ({"version": 2, "video": VIDEO, "objects": []}, "damaged"),
        ({"version": 2, "video": VIDEO, "objects": [{"id": "a", "frames": []}, {"id": "a", "frames": []}]}, "same id"),
        ({"version": 2, "video": VIDEO, "objects": [{"id": "../x", "frames": []}]}, "not a valid product id"),
    ],
)
def test_bad_multi_object_files_are_refused_clearly(data, message):
    from highlighter.errors import TrackError

    with pytest.raises(TrackError, match=message):
        Track.from_dict(data)


def test_an_unknown_object_is_a_clear_error():
    from highlighter.errors import TrackError

    with pytest.raises(TrackError, match="no product 'hat'"):
        _two_products().mask(0, "hat")
