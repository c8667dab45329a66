"""The SAM 2, OWLv2 and CLIP parts on their own, with the random-weight models from the models folder."""

from __future__ import annotations

import numpy as np
import pytest

from highlighter.models.settings import ModelSettings
from highlighter.track.parts import Candidate, WorkFrame


@pytest.fixture(scope="module")
def loaded(models_dir):
    from highlighter.models.loading import Runtime, load_embedder, load_sam2

    settings = ModelSettings(models_dir=models_dir, device="cpu", sam2="sam2.1-hiera-tiny")
    runtime = Runtime.from_settings(settings)
    return settings, runtime, load_sam2(settings, runtime), load_embedder(settings, runtime)


def frames(count: int, seed: int = 0) -> list[WorkFrame]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)
    out = []
    for i in range(count):
        rgb = base.copy()
        rgb[30:60, 20 + 2 * i : 50 + 2 * i] = (220, 30, 30)
        out.append(WorkFrame(i, rgb))
    return out


def square(frame: WorkFrame) -> np.ndarray:
    mask = np.zeros(frame.rgb.shape[:2], bool)
    mask[30:60, 20 + 2 * frame.index : 50 + 2 * frame.index] = True
    return mask


def test_the_propagator_hands_over_every_candidate_with_its_scores(loaded):
    from highlighter.models.sam2_video import Sam2Frames, Sam2Propagator

    _, runtime, model, _ = loaded
    propagator = Sam2Propagator(Sam2Frames(model, runtime))
    video = frames(2)
    assert propagator.step(video[0]) == []  # nothing to follow before a reset
    propagator.reset(video[0], square(video[0]))
    candidates = propagator.step(video[1])
    assert 1 <= len(candidates) <= 3
    assert len({c.object_score for c in candidates}) == 1  # one object score per frame
    for c in candidates:
        assert c.mask.shape == (96, 128) and c.mask.dtype == bool
        assert 0.0 <= c.quality <= 1.0 and 0.0 <= c.object_score <= 1.0
        assert c.source.startswith("sam2-")


def test_the_memory_bank_stays_bounded_and_keeps_only_confident_frames(loaded):
    from highlighter.models.sam2_video import Sam2Frames, Sam2Propagator

    _, runtime, model, _ = loaded
    video = frames(24)
    propagator = Sam2Propagator(Sam2Frames(model, runtime), min_memory_quality=-1.0, min_memory_object_logit=-1e9)
    propagator.reset(video[0], square(video[0]))
    for frame in video[1:]:
        candidates = propagator.step(frame)
        propagator.commit(frame, candidates[0].mask if candidates else None)
    spatial = [t for t, e in propagator._recent.items() if e["maskmem_features"] is not None]
    assert len(propagator._recent) == model.max_obj_ptrs_in_encoder - 1  # 15 object pointers
    assert len(spatial) == model.num_maskmem - 1  # 6 spatial memories, the latest ones
    assert spatial == list(propagator._recent)[-len(spatial) :]

    strict = Sam2Propagator(Sam2Frames(model, runtime), min_memory_quality=2.0)  # nothing is confident
    strict.reset(video[0], square(video[0]))
    for frame in video[1:6]:
        candidates = strict.step(frame)
        strict.commit(frame, candidates[0].mask if candidates else None)
    assert strict.memory_frames == 1  # the conditioning frame only


def test_a_reset_drops_recent_memory_and_keeps_a_few_conditioning_frames(loaded):
    from highlighter.models.sam2_video import Sam2Frames, Sam2Propagator

    _, runtime, model, _ = loaded
    video = frames(8)
    propagator = Sam2Propagator(Sam2Frames(model, runtime), min_memory_quality=-1.0, min_memory_object_logit=-1e9, max_cond_frames=2)
    for frame in video[:3]:
        propagator.reset(frame, square(frame))
        c = propagator.step(video[frame.index + 4])
        propagator.commit(video[frame.index + 4], c[0].mask if c else None)
    propagator.reset(video[7], square(video[7]))
    assert len(propagator._cond) == 2 and not propagator._recent


def test_the_proposer_puts_sam2_masks_of_the_click_first(loaded):
    from highlighter.models.sam2_proposer import ProposerSettings, Sam2Proposer
    from highlighter.models.sam2_video import Sam2Frames

    _, runtime, model, _ = loaded
    frame = frames(1)[0]
    settings = ProposerSettings(points_per_side=4, min_quality=0.0, min_stability=0.0, max_fraction=1.0, limit=5)
    proposer = Sam2Proposer(Sam2Frames(model, runtime), settings, points={0: [(35.0, 45.0, True)]}, boxes={0: [(20, 30, 30, 30)]})
    candidates = proposer.propose(frame)
    prompted = [c for c in candidates if c.source == "prompt"]
    assert candidates[: len(prompted)] == prompted and 1 <= len(prompted) <= 6
    assert [c.quality for c in prompted] == sorted((c.quality for c in prompted), reverse=True)
    assert len(candidates) - len(prompted) <= 5
    assert all(c.mask.shape == (96, 128) for c in candidates)
    assert Sam2Proposer(Sam2Frames(model, runtime), settings).propose(WorkFrame(1, frame.rgb)) is not None


def test_the_embedder_gives_unit_vectors_and_batches_a_frame(loaded):
    from highlighter.models.embedding import ImageTextEmbedder

    _, runtime, _, (model, processor) = loaded
    embedder = ImageTextEmbedder(model, processor, runtime)
    frame = frames(1)[0]
    a = Candidate.from_mask(square(frame))
    other = np.zeros((96, 128), bool)
    other[70:90, 90:120] = True
    b = Candidate.from_mask(other)
    batch = embedder.embed_many(frame, [a, b])
    assert batch.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(embedder.embed(frame, a), batch[0])  # answered from the batch
    fresh = ImageTextEmbedder(model, processor, runtime).embed(frame, b)
    np.testing.assert_allclose(fresh, batch[1], atol=1e-5)


class _FixedDetector:
    def __init__(self, boxes, probs):
        self.calls, self.result = 0, (np.array(boxes, float), np.array(probs, float))

    def detect(self, rgb):
        self.calls += 1
        return self.result


def test_the_detector_grounder_scores_by_box_agreement_and_confidence():
    from highlighter.models.grounding import DetectorGrounder
    from highlighter.track.prompt import PointPrompt, Prompt

    frame = frames(1)[0]
    detector = _FixedDetector([[20, 30, 30, 30], [80, 60, 20, 20]], [0.6, 0.05])
    grounder = DetectorGrounder(Prompt(text="the bag"), (1.0, 1.0), detector, confident=0.3)
    assert grounder.can_ground()
    inside = Candidate.from_mask(square(frame))
    elsewhere = np.zeros((96, 128), bool)
    elsewhere[60:80, 80:100] = True
    far = Candidate.from_mask(elsewhere)
    assert grounder.text_score(frame, inside) == pytest.approx(1.0)  # exact box, sure detection
    assert grounder.text_score(frame, far) == pytest.approx(0.05 / 0.3)  # exact box, unsure detection
    assert detector.calls == 1  # one detector pass per frame
    clicks_only = DetectorGrounder(Prompt(points=(PointPrompt(35, 45, 0),)), (1.0, 1.0), detector)
    assert not clicks_only.can_ground() and clicks_only.text_score(frame, far) == 1.0


def test_settings_come_from_the_environment():
    from highlighter.models.loading import Runtime

    s = ModelSettings.from_env({"HIGHLIGHTER_MODELS_DIR": "/m", "HIGHLIGHTER_HALF": "1", "HIGHLIGHTER_COMPILE": "yes", "HIGHLIGHTER_SAM2_MODEL": "sam2.1-hiera-large"})
    assert (str(s.models_dir), s.half, s.compile, s.sam2, s.device) == ("/m", True, True, "sam2.1-hiera-large", "auto")
    assert ModelSettings.from_env({}).half is None
    with pytest.raises(ValueError, match="HIGHLIGHTER_HALF"):
        ModelSettings.from_env({"HIGHLIGHTER_HALF": "maybe"})
    cpu = Runtime.from_settings(ModelSettings(device="cpu", half=True))
    assert cpu.autocast is None  # half precision only where it is safe: bfloat16 on a GPU


def test_non_maximum_suppression_keeps_the_best_of_overlapping_boxes():
    import torch

    from highlighter.models.sam2_proposer import _nms

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 10, 9]], dtype=torch.float32)
    scores = torch.tensor([0.5, 0.9, 0.7, 0.2])
    assert _nms(boxes, scores, 0.7, keep=10).tolist() == [1, 2]
    assert _nms(boxes, scores, 0.7, keep=1).tolist() == [1]
    assert _nms(boxes, scores, 0.99, keep=10).tolist() == [1, 2, 0, 3]
