"""The tracker on real footage with ground truth, against two box baselines run in the same process.

    .venv/bin/python bench/real_footage.py /work/shared/data/real-footage [--clips blackswan,dog]
        [--tracker auto] [--skip-baselines] [--nudged] [--prompt box|click] [--table]

For every clip folder (``NAME/video.mp4`` + ``NAME/masks/00000.png...``, ``highlighter.eval.footage``),
following the protocol of the footage's README: the prompt is the box around the object in mask 0 on
frame 0, and every frame but the first is scored. With ``--prompt click``, ``ours`` starts from a
click instead, at the point of mask 0 farthest from its outline (``FootageClip.click_prompt``: where
interactive segmentation's benchmarks put the first click), as a marketer who clicks on the product
does; the baselines, box trackers, still start from the box. Per clip and method:

- ``j``, ``f``, ``jf``: mean mask IoU (1 when both masks are empty), mean DAVIS boundary F, and their mean;
- ``box_iou``: mean IoU of the predicted mask's box against the truth mask's box (both absent = 1);
- ``fps``: frames per second of the whole run: for ``ours`` the whole ``track_video`` call (probing,
  decoding and building the track included); for a baseline its share of one shared decoding pass plus
  its own work. What a worker process pays once, not per video (importing torch and the tracker,
  loading the network's weights), is paid before the first clip by tracking a tiny generated clip,
  and reported apart as ``startup_seconds``: without it the first clip's fps would count it;
- ``confidently_wrong``: frames with score >= 0.8 while J < 0.3 (None for the baselines, which have no
  score);
- ``hidden_in_view``: frames said not visible while the truth is non-empty and touches no frame border;
- ``score_rho``: whether the score marks the frames to check: Spearman's rank correlation between the
  score and J over the frames shown as visible with the object in them
  (``highlighter.eval.metrics.score_correlation``; 1: the lower the score on the review timeline, the
  worse the mask; 0: the score says nothing; below 0: the worse masks score higher); None for a method
  with no score, or when nothing varies. Summaries give its mean over the clips where it is defined
  (``score_rho_clips``);
- ``refused``: the prompt was refused (``TrackError``) or the run failed; the clip then scores 0;
- with ``--nudged``, ``j_boxes`` and ``j_over_boxes`` (``ours`` only): J from the protocol's box and
  from three boxes a few pixels off it (``NUDGES``: 4 px larger on every side, 3 px smaller, moved 3 px
  right and 3 px up; the tracker clips a box past the frame's edge), and their mean. One box is one
  draw: where a clip's track is on the edge of a wrong decision, a box a few pixels off tips it (the
  dog's J was either about 0.69 or about 0.86 between two forms of the colour model), and a change
  judged on one box per clip may be judging that. The other figures are the protocol's box's.

The JSON's ``machine`` says what other processes took of the CPUs while the clips ran
(``bench/common.py``, ``MachineShare``): with ``"contended": true`` (and a warning on stderr) the
fps figures are not comparable with another run's. ``numerics`` names the CPU and how its libraries
round (``highlighter.eval.numerics``): J compares clip for clip only between runs with the same
fingerprint.

Methods: ``ours`` (``track_video`` with ``--tracker``), ``still`` (the frame-0 box held still, filled as
the mask) and ``csrt`` (OpenCV's CSRT box tracker started on the frame-0 box, its box filled as the
mask; a frame it reports lost counts as hidden). Summaries are means over clips (fps: all frames over
all seconds; counts: totals), for all clips and for the "tune" and "check" subsets of
``highlighter.eval.footage.split``, which is computed over every clip in the folder, whatever
``--clips`` selects. Prints JSON on stdout; ``--table`` also prints a markdown table on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MachineShare, warm_up  # noqa: E402
from highlighter.errors import HighlighterError  # noqa: E402
from highlighter.eval.footage import FootageClip, select_clips  # noqa: E402
from highlighter.eval.metrics import (  # noqa: E402
    boundary_f, box_iou, confidently_wrong, hidden_in_view, mask_iou, score_correlation,
)  # fmt: skip
from highlighter.eval.numerics import numerics  # noqa: E402
from highlighter.media import iter_frames  # noqa: E402
from highlighter.track import resolve_backend, track_video  # noqa: E402
from highlighter.track.prompt import BoxPrompt, Prompt  # noqa: E402
from highlighter.trackfile import Track, mask_box  # noqa: E402

Box = tuple[float, float, float, float]  # [x1, y1, x2, y2] in pixels


# --- baselines -----------------------------------------------------------------------------------


class StillBox:
    """The frame-0 box, held still on every frame: what a tracker must beat to be worth running."""

    name = "still"

    def start(self, frame: np.ndarray, box: Box) -> None:
        self.box = box

    def step(self, frame: np.ndarray) -> Box | None:
        return self.box


class CsrtBox:
    """OpenCV's CSRT correlation-filter box tracker (opencv-contrib), a classical box-only tracker."""

    name = "csrt"

    def start(self, frame: np.ndarray, box: Box) -> None:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        self.tracker = cv2.TrackerCSRT_create()
        self.tracker.init(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), (x1, y1, x2 - x1, y2 - y1))

    def step(self, frame: np.ndarray) -> Box | None:
        ok, (x, y, w, h) = self.tracker.update(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        return (x, y, x + w, y + h) if ok else None  # not ok: CSRT says it lost the target


def box_mask(box: Box | None, shape: tuple[int, int]) -> np.ndarray:
    """A bool mask of ``shape`` with the ``[x1, y1, x2, y2]`` box filled (clipped); empty for None."""
    mask = np.zeros(shape, bool)
    if box is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        mask[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)] = True
    return mask


# --- scoring -------------------------------------------------------------------------------------


@dataclass
class FrameTally:
    """One method's per-frame figures on one clip, added frame by frame; ``seconds`` is its run time."""

    j: list[float] = field(default_factory=list)
    f: list[float] = field(default_factory=list)
    box: list[float] = field(default_factory=list)
    confidently_wrong: int | None = 0  # None: the method gives no score
    hidden_in_view: int = 0
    shown: list[tuple[float, float]] = field(default_factory=list)  # (score, J) of frames shown with the object in them
    seconds: float = 0.0

    def add(self, pred: np.ndarray, truth: np.ndarray, *, visible: bool, score: float | None) -> None:
        j = mask_iou(pred, truth)
        self.j.append(j)
        self.f.append(boundary_f(pred, truth))
        self.box.append(box_iou(mask_box(pred), mask_box(truth)))
        if score is None:
            self.confidently_wrong = None
        elif self.confidently_wrong is not None and confidently_wrong(score, j):
            self.confidently_wrong += 1
        if score is not None and visible and truth.any():
            self.shown.append((score, j))
        if hidden_in_view(visible, truth):
            self.hidden_in_view += 1

    def row(self, frames_run: int) -> dict[str, Any]:
        """The clip's figures; ``frames_run`` is how many frames the method went through in ``seconds``."""
        j, f = float(np.mean(self.j)), float(np.mean(self.f))
        return {
            "j": round(j, 4),
            "f": round(f, 4),
            "jf": round((j + f) / 2, 4),
            "box_iou": round(float(np.mean(self.box)), 4),
            "fps": round(frames_run / self.seconds, 2) if self.seconds > 0 else None,
            "seconds": round(self.seconds, 3),
            "frames_run": frames_run,
            "frames_scored": len(self.j),
            "confidently_wrong": self.confidently_wrong,
            "hidden_in_view": self.hidden_in_view,
            "score_rho": self._score_rho(),
            "refused": False,
        }

    def _score_rho(self) -> float | None:
        if self.confidently_wrong is None:  # the method gives no score
            return None
        rho = score_correlation([s for s, _ in self.shown], [j for _, j in self.shown])
        return None if rho is None else round(rho, 4)


def refused_row(error: BaseException) -> dict[str, Any]:
    """The protocol's score for a refused prompt or a failed run: 0 on the clip."""
    return {"j": 0.0, "f": 0.0, "jf": 0.0, "box_iou": 0.0, "fps": None, "seconds": None, "frames_run": 0,
            "frames_scored": 0, "confidently_wrong": None, "hidden_in_view": None, "score_rho": None, "refused": True,
            "error": f"{type(error).__name__}: {error}"}  # fmt: skip


NUDGES = ((-4, -4, 4, 4), (3, 3, -3, -3), (3, -3, 3, -3))  # added to the box's x1, y1, x2, y2


def nudged_prompts(clip: FootageClip) -> list[Prompt]:
    """The protocol's box a few pixels off (``NUDGES``), each a prompt on frame 0; a nudge that would
    leave a box under 2 px on a side is left out."""
    box = clip.box_prompt().boxes[0]
    prompts = []
    for dx1, dy1, dx2, dy2 in NUDGES:
        x1, y1, x2, y2 = box.x1 + dx1, box.y1 + dy1, box.x2 + dx2, box.y2 + dy2
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            prompts.append(Prompt(boxes=(BoxPrompt(x1, y1, x2, y2, 0),)))
    return prompts


def run_ours(clip: FootageClip, backend: str, prompt: Prompt | None = None) -> tuple[Track | None, float, BaseException | None]:
    """``(track, seconds of the whole track_video call, error)`` from ``prompt`` (the protocol's box by
    default); track is None when it was refused."""
    started = time.monotonic()
    try:
        track = track_video(clip.video, prompt or clip.box_prompt(), backend=backend)
    except Exception as e:  # noqa: BLE001 - any failure of the run scores 0, as the protocol says
        return None, time.monotonic() - started, e
    return track, time.monotonic() - started, None


def score_clip(
    clip: FootageClip, track: Track | None, baselines: Sequence[StillBox | CsrtBox] = ()
) -> dict[str, FrameTally]:
    """One streaming pass over the clip's truth masks (and frames, when there are baselines to run):
    ``{"ours": tally (when there is a track), baseline name: tally}``. Frame 0 is the prompt, not scored;
    the baselines start there from the prompt's box."""
    if track is None and not baselines:
        return {}
    prompt = clip.box_prompt().boxes[0]
    start_box = (prompt.x1, prompt.y1, prompt.x2, prompt.y2)
    tallies = {b.name: FrameTally() for b in baselines}
    if track is not None:
        tallies["ours"] = FrameTally()
    decode_seconds = 0.0
    with contextlib.ExitStack() as stack:
        frames = stack.enter_context(contextlib.closing(iter_frames(clip.video))) if baselines else None
        for i in range(clip.frame_count):
            truth = clip.mask(i)
            boxes: dict[str, Box | None] = {}
            if frames is not None:
                began = time.monotonic()
                frame = next(frames, None)
                decode_seconds += time.monotonic() - began
                if frame is None:
                    raise ValueError(f"{clip.name}: the video has fewer frames than masks ({clip.frame_count}).")
                for baseline in baselines:
                    began = time.monotonic()
                    if i == 0:
                        baseline.start(frame, start_box)
                    else:
                        boxes[baseline.name] = baseline.step(frame)
                    tallies[baseline.name].seconds += time.monotonic() - began
            if i == 0:
                continue
            if track is not None:
                shown = track.frames[i] if i < len(track.frames) else None
                tallies["ours"].add(track.mask(i), truth, visible=bool(shown and shown.visible),
                                    score=shown.score if shown else 0.0)  # fmt: skip
            for name, box in boxes.items():
                tallies[name].add(box_mask(box, truth.shape), truth, visible=box is not None, score=None)
    for baseline in baselines:
        tallies[baseline.name].seconds += decode_seconds  # each baseline needs the frames decoded
    return tallies


def run_clip(
    clip: FootageClip, *, backend: str, subset: str, baselines: bool = True, nudged: bool = False, click: bool = False
) -> list[dict[str, Any]]:
    """One row per method on ``clip``: ``{"clip", "split", "method", ...figures}``; with ``nudged``,
    ``ours`` also tracks from ``nudged_prompts`` (``j_boxes``, ``j_over_boxes``); with ``click``,
    ``ours`` starts from ``clip.click_prompt()`` (the baselines from the box all the same)."""
    track, seconds, error = run_ours(clip, backend, clip.click_prompt() if click else None)
    tallies = score_clip(clip, track, [StillBox(), CsrtBox()] if baselines else [])
    rows = []
    if track is None:
        assert error is not None
        ours = refused_row(error)
    else:
        tallies["ours"].seconds = seconds
        ours = {**tallies["ours"].row(len(track.frames)), "backend": track.meta.get("backend")}
    if nudged:
        ours["j_boxes"] = [ours["j"]] + [_j_from(clip, backend, prompt) for prompt in nudged_prompts(clip)]
        ours["j_over_boxes"] = round(float(np.mean(ours["j_boxes"])), 4)
    rows.append({"clip": clip.name, "split": subset, "method": "ours", **ours})
    for name in ("still", "csrt"):
        if name in tallies:
            rows.append({"clip": clip.name, "split": subset, "method": name, **tallies[name].row(clip.frame_count)})
    return rows


def _j_from(clip: FootageClip, backend: str, prompt: Prompt) -> float:
    """Mean J of the track from ``prompt`` (0 when it was refused)."""
    track, _, _ = run_ours(clip, backend, prompt)
    return 0.0 if track is None else score_clip(clip, track)["ours"].row(len(track.frames))["j"]


def summarise(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per method: means over clips of J, F, J&F and box IoU; fps over all frames and seconds; totals."""
    out: dict[str, Any] = {}
    rows = list(rows)
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        ran = [r for r in mine if not r["refused"]]
        seconds = sum(r["seconds"] for r in ran)
        frames = sum(r["frames_run"] for r in ran)
        wrong = [r["confidently_wrong"] for r in ran if r["confidently_wrong"] is not None]
        rhos = [r["score_rho"] for r in ran if r.get("score_rho") is not None]
        out[method] = {
            "clips": len(mine),
            **{k: round(float(np.mean([r[k] for r in mine])), 4) for k in ("j", "f", "jf", "box_iou")},
            "fps": round(frames / seconds, 2) if seconds > 0 else None,
            "confidently_wrong": sum(wrong) if wrong else None,
            "hidden_in_view": sum(r["hidden_in_view"] for r in ran),
            "score_rho": round(float(np.mean(rhos)), 4) if rhos else None,
            "score_rho_clips": len(rhos),
            "refused": len(mine) - len(ran),
        }
        boxes = [r["j_over_boxes"] for r in mine if "j_over_boxes" in r]
        if boxes:
            out[method]["j_over_boxes"] = round(float(np.mean(boxes)), 4)
    return out


# --- command line --------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown_table(rows: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]) -> str:
    by_clip: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_clip.setdefault(r["clip"], {})[r["method"]] = r
    boxes = any("j_over_boxes" in r for r in rows)
    head = "| clip | split | J | F | J&F | box IoU | fps | score rho | J still | J CSRT |" + (" J 4 boxes |" if boxes else "")
    lines = [head, "|---" * (11 if boxes else 10) + "|"]

    def line(label: str, subset: str, methods: dict[str, dict[str, Any]]) -> str:
        ours = methods.get("ours", {})
        figures = [_cell(ours.get(k)) for k in ("j", "f", "jf", "box_iou")] + [_cell(ours.get("fps"), 1), _cell(ours.get("score_rho"), 2)]
        figures += [_cell(methods.get(m, {}).get("j")) for m in ("still", "csrt")]
        if boxes:
            figures.append(_cell(ours.get("j_over_boxes")))
        refused = " (refused)" if ours.get("refused") else ""
        return f"| {label}{refused} | {subset} | " + " | ".join(figures) + " |"

    for clip, methods in by_clip.items():
        lines.append(line(clip, methods["ours"]["split"], methods))
    for subset, summary in summaries.items():
        if summary:
            n = summary["ours"]["clips"]
            lines.append(line(f"**mean of {n}**", subset, summary))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/real_footage.py", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder of clip folders (NAME/video.mp4 + NAME/masks/00000.png...)")
    parser.add_argument("--clips", help="comma separated clip names (default: every clip in the folder)")
    parser.add_argument("--tracker", default="auto", help="the track_video backend to score (default: auto)")
    parser.add_argument("--skip-baselines", action="store_true", help="score only the tracker")
    parser.add_argument("--nudged", action="store_true",
                        help="also track each clip from three boxes a few pixels off the protocol's (j_boxes, j_over_boxes)")  # fmt: skip
    parser.add_argument("--prompt", choices=("box", "click"), default="box",
                        help="start ours from the protocol's box (default) or from a click at mask 0's deepest point")  # fmt: skip
    parser.add_argument("--table", action="store_true", help="also print a markdown table on stderr")
    args = parser.parse_args(argv)
    if args.nudged and args.prompt == "click":
        parser.error("--nudged nudges the box; it does not go with --prompt click")

    try:
        backend = resolve_backend(args.tracker)
    except HighlighterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        clips, subsets = select_clips(args.folder, args.clips)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    try:
        startup = round(warm_up(track_video, args.tracker), 2)
    except Exception as e:  # noqa: BLE001 - the clips then pay the start, and their fps says so
        print(f"warm-up failed ({type(e).__name__}: {e}); the first clip's fps includes the start", file=sys.stderr)
        startup = None
    machine = MachineShare()
    rows: list[dict[str, Any]] = []
    for clip in clips:
        mine = run_clip(clip, backend=args.tracker, subset=subsets[clip.name], baselines=not args.skip_baselines,
                        nudged=args.nudged, click=args.prompt == "click")  # fmt: skip
        rows += mine
        figures = [f"{r['method']} J {r['j']:.3f} J&F {r['jf']:.3f} {_cell(r['fps'], 1)} fps"
                   + (" REFUSED" if r["refused"] else "") for r in mine]  # fmt: skip
        print(f"{clip.name} ({subsets[clip.name]}): " + " | ".join(figures), file=sys.stderr, flush=True)
    summaries = {
        "all": summarise(rows),
        "tune": summarise(r for r in rows if r["split"] == "tune"),
        "check": summarise(r for r in rows if r["split"] == "check"),
    }
    report = machine.report()
    machine.warn(report)
    print(json.dumps({"folder": str(args.folder), "tracker": args.tracker, "backend": backend, "prompt": args.prompt,
                      "startup_seconds": startup,
                      "split": subsets, "rows": rows, "summary": summaries, "machine": report,
                      "numerics": numerics()}, indent=1))  # fmt: skip
    if args.table:
        print(markdown_table(rows, summaries), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
