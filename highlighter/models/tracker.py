"""The model tracker: the product's controller over SAM 2, OWLv2 and CLIP (the ``sam2`` backend).

Same driver and controller as the weight-free ``memory`` tracker (key-frame initialisation, Kalman
prior, target and distractor memories, re-detection, cuts); only the parts differ:

- proposer: ``Sam2Proposer`` (grid prompts, the marketer's clicks and boxes, and SAM 2 masks of
  the detector's confident boxes: SPARROW's dual prompt);
- grounder: ``DetectorGrounder`` (OWLv2 reads the whole description);
- propagator: ``Sam2Propagator`` (streaming SAM 2, all candidate masks, confident-only memory);
- embedder: ``ImageTextEmbedder`` (CLIP or SigLIP), fed in one batch per frame.

Models come from ``HIGHLIGHTER_MODELS_DIR`` and are built once per process (``loading``); a
tracker is built per video and holds that video's state only.
"""

from __future__ import annotations

from typing import Any

from highlighter.errors import TrackError
from highlighter.media import VideoInfo
from highlighter.models.settings import ModelSettings
from highlighter.track.backends import MemoryTracker
from highlighter.track.controller import ControllerSettings
from highlighter.track.frames import work_size
from highlighter.track.parts import Candidate, WorkFrame
from highlighter.track.prompt import Prompt

NO_PROMPT_MESSAGE = "Describe the product (for example 'the red handbag') or click on it."


class ModelTracker(MemoryTracker):
    """Built with ``(prompt, info)`` like every backend; ``settings`` defaults to the environment.

    Raises ``TrackError`` when a model is not installed (``models fetch`` was not run).
    """

    name = "sam2"

    def __init__(
        self,
        prompt: Prompt,
        info: VideoInfo,
        *,
        settings: ModelSettings | None = None,
        proposer_settings: Any = None,  # a sam2_proposer.ProposerSettings; the default reads the settings
        max_side: int = 640,
        confident: float = 0.3,
    ) -> None:
        from highlighter.models.embedding import ImageTextEmbedder
        from highlighter.models.grounding import DetectorGrounder, OpenVocabularyDetector
        from highlighter.models.loading import Runtime, load_detector, load_embedder, load_sam2
        from highlighter.models.sam2_proposer import ProposerSettings, Sam2Proposer
        from highlighter.models.sam2_video import Sam2Frames

        # Not MemoryTracker.__init__: it refuses descriptions without a colour or shape word, which
        # the detector reads fine. These are the attributes the shared driver uses.
        self.prompt, self.info = prompt, info
        self.fps = info.fps or 25.0
        self.work_size = work_size(info, max_side)
        # SAM 2's memory holds the target far better than flow does, and each lookalike scan is a
        # full proposal pass (hundreds of decoder prompts): scan once a second, not every 10 frames.
        self.settings = ControllerSettings(distractors_every=max(10, int(round(self.fps))))
        self._cuts: set[int] = set()
        self._meta: dict[str, Any] = {}

        self.model_settings = settings or ModelSettings.from_env()
        self.runtime = Runtime.from_settings(self.model_settings)
        scale = (self.work_size[0] / info.width, self.work_size[1] / info.height)
        detector = None
        if prompt.text.strip():
            detector = OpenVocabularyDetector(*load_detector(self.model_settings, self.runtime), self.runtime, prompt.text.strip())
        self.grounder = DetectorGrounder(prompt, scale, detector, confident=confident)
        if not self.grounder.can_ground() and not self.grounder.prompted_frames():
            raise TrackError(NO_PROMPT_MESSAGE)
        self.frames = Sam2Frames(load_sam2(self.model_settings, self.runtime), self.runtime)
        self.embedder = ImageTextEmbedder(*load_embedder(self.model_settings, self.runtime), self.runtime)
        sam2_proposer = Sam2Proposer(
            self.frames,
            proposer_settings or ProposerSettings(points_per_side=self._grid_points()),
            points=self.grounder.points,
            boxes=self.grounder.boxes,
            box_source=self._detected_boxes if detector is not None else None,
        )
        self.proposer = _EmbedInBatches(sam2_proposer, self.embedder)

    @property
    def meta(self) -> dict[str, Any]:
        s = self.model_settings
        return {
            **super().meta,
            "models": {"sam2": s.sam2, "detector": s.detector if self.grounder.can_ground() else None, "embedder": s.embedder},
            "device": str(self.runtime.device),
            "precision": str(self.runtime.autocast or "float32").replace("torch.", ""),
            "compiled": self.runtime.compile,
        }

    def make_propagator(self):
        from highlighter.models.sam2_video import Sam2Propagator

        # The embedder is fed each frame's candidates in one batch before the controller asks.
        return _EmbedInBatches(Sam2Propagator(self.frames), self.embedder)

    def _grid_points(self) -> int:
        """Points per side of the proposal grid: the setting, else one per 64 px of SAM 2's input
        (16 at 1024 px, SAM's own density for re-detection; 4 for a 256 px test model)."""
        return self.model_settings.proposer_points or max(4, int(self.frames.size) // 64)

    def _detected_boxes(self, frame: WorkFrame) -> list[tuple[float, float, float, float]]:
        """The detector's confident boxes on ``frame`` (at most 3), for SAM 2 to segment."""
        boxes, probs = self.grounder.detections(frame)
        keep = [tuple(map(float, b)) for b, p in zip(boxes, probs) if p >= 0.5 * self.grounder.confident]
        return keep[:3]


class _EmbedInBatches:
    """A proposer or propagator whose candidates are embedded in one batch as they are made.

    The controller embeds candidates one by one; the embedder answers those calls from the batch.
    Every other attribute is the wrapped part's.
    """

    def __init__(self, part: Any, embedder: Any) -> None:
        self._part, self._embedder = part, embedder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._part, name)

    def propose(self, frame: WorkFrame) -> list[Candidate]:
        return self._batch(frame, self._part.propose(frame))

    def step(self, frame: WorkFrame) -> list[Candidate]:
        return self._batch(frame, self._part.step(frame))

    def reset(self, frame: WorkFrame, mask) -> None:
        self._part.reset(frame, mask)

    def commit(self, frame: WorkFrame, mask) -> None:
        self._part.commit(frame, mask)

    def _batch(self, frame: WorkFrame, candidates: list[Candidate]) -> list[Candidate]:
        if candidates:
            self._embedder.embed_many(frame, candidates)
        return candidates
