"""Reframe quality on synthetic scenarios with exact ground truth. Prints JSON.

    .venv/bin/python bench/reframe_quality.py [--seeds 3] [--aspect 9:16] [--motion default]

For each scenario the track is built from the ground-truth masks (so this measures the camera, not
the tracker), the camera path is planned with ``plan_camera``, and compared with the naive camera a
per-frame detector gives: a window centred on each frame's box (clamped to the frame), holding the
last position while the product is away. Reported, over all scenarios:

- ``inside_crop``: share of visible frames whose product box lies inside the window (target >= 99%);
  ``inside_safe_zone``: inside the window's safe zone (or the frame edge where the zone leaves it).
- ``mean_abs_accel``: mean |second difference| of the window centre per frame, as a fraction of the
  frame width (FACTS.md, "Metrics"), within shots (the camera may cut at a cut);
  ``accel_reduction`` = naive / ours (target >= 5).
- ``max_move_px``: the largest single-frame move within a shot, in source pixels.

Each is reported twice: on the exact boxes, and with each box edge jittered as a per-frame
detector's are (Gaussian, 2% of the box's size), which is what a naive crop follows in practice.
Containment is always judged against the exact boxes. Both cameras are measured at the sub-pixel
positions they crop at (the same rounding for both: rounding either adds up to a pixel of shake
per frame, which on a 640 px frame is as large as the whole difference being measured).

Scenarios come from ``highlighter.eval.scenarios`` when present (smooth, crossing, occlusion, exit,
cut, camera pan ...), otherwise from ``highlighter.eval.synthetic.moving_object_scene``.

``--multi`` adds the focus camera on the several-product families (``highlighter.eval.multi``, truth
tracks, ``focus="auto"``): ``focus_inside_crop``, the share of frames whose product in focus is
visible (outside the glides between products) and inside the window; ``switches_per_minute`` against
a camera that would take the product most in view on each frame (``naive_switches_per_minute``);
the shortest hold between two switches in a shot; the share of frames that frame all products; and
the largest single-frame move within a shot.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.render import plan_camera  # noqa: E402
from highlighter.render.compositor import parse_aspect  # noqa: E402
from highlighter.render.presets import SAFE_ZONES  # noqa: E402
from highlighter.render.reframe import shot_ranges, window_size  # noqa: E402
from highlighter.trackfile import FrameTrack, Track  # noqa: E402


def scenarios(seeds: int):
    """``(name, width, height, fps, frame_count, mask(i), shot starts)`` for each scenario."""
    try:
        from highlighter.eval import scenarios as family

        for name in family.FAMILIES:
            for seed in range(seeds):
                s = family.build(name, seed)
                yield f"{name}/{seed}", s.width, s.height, s.fps, s.frame_count, s.mask, [shot.start for shot in s.shots]
    except ImportError:
        from highlighter.eval.synthetic import moving_object_scene

        for seed in range(seeds):
            for exits in ((), ((1.5, 2.5),)):
                s = moving_object_scene(seed=seed, seconds=6.0, exits=exits, distractor="blue")
                yield f"moving/{seed}{'/exit' if exits else ''}", s.width, s.height, s.fps, s.frame_count, s.target_mask, [0]


def truth_track(width, height, fps, count, mask, starts) -> Track:
    frames = [FrameTrack.from_mask(i, i / fps, mask(i), 1.0) for i in range(count)]
    edges = [*starts, count]
    shots = [[a, b - 1] for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return Track({"width": width, "height": height, "fps": fps, "frame_count": count}, {}, frames, shots)


def with_jitter(track: Track, sigma: float, seed: int) -> Track:
    """The same track with each box edge moved by Gaussian noise of ``sigma`` x the box's size, as a
    per-frame detector or segmenter gives it (the masks are untouched; the camera reads boxes)."""
    rng = np.random.default_rng(seed)
    frames = []
    for f in track.frames:
        if f.visible and f.box:
            x, y, w, h = f.box
            dx0, dx1 = rng.normal(0, sigma * w, 2)
            dy0, dy1 = rng.normal(0, sigma * h, 2)
            box = [x + dx0, y + dy0, max(1.0, w + dx1 - dx0), max(1.0, h + dy1 - dy0)]
            f = FrameTrack(f.index, f.time, True, f.score, box, f.mask)
        frames.append(f)
    return Track(track.video, track.prompt, frames, track.shots)


def naive_windows(track: Track, aspect: tuple[int, int]) -> np.ndarray:
    cw, ch = window_size(track.width, track.height, aspect)
    out = np.zeros((len(track.frames), 4))
    last = ((track.width - cw) / 2, (track.height - ch) / 2)
    for i, f in enumerate(track.frames):
        if f.visible and f.box:
            x, y, w, h = f.box
            last = (min(max(x + w / 2 - cw / 2, 0), track.width - cw), min(max(y + h / 2 - ch / 2, 0), track.height - ch))
        out[i] = (*last, cw, ch)
    return out  # at sub-pixel positions, as ours are (the compositor crops between pixels)


def motion_stats(windows: np.ndarray, track: Track) -> tuple[list[float], list[float]]:
    accels, moves = [], []
    centres = windows[:, :2] + windows[:, 2:] / 2
    for start, stop in shot_ranges(track.shots, len(track.frames)):
        part = centres[start:stop]
        if len(part) >= 3:
            accels.extend((np.abs(np.diff(part[:, 0], 2)) / track.width).tolist())
        if len(part) >= 2:
            moves.extend(np.hypot(*np.diff(part, axis=0).T).tolist())
    return accels, moves


def containment(windows: np.ndarray, track: Track, zone) -> tuple[int, int, int]:
    visible = inside = safe = 0
    for (x, y, w, h), f in zip(windows, track.frames):
        if not (f.visible and f.box):
            continue
        visible += 1
        bx, by, bw, bh = f.box
        inside += x - 0.5 <= bx and bx + bw <= x + w + 0.5 and y - 0.5 <= by and by + bh <= y + h + 0.5
        left, right = max(0, x + zone.left * w), min(track.width, x + w - zone.right * w)
        top, bottom = max(0, y + zone.top * h), min(track.height, y + h - zone.bottom * h)
        safe += left - 0.5 <= bx and bx + bw <= right + 0.5 and top - 0.5 <= by and by + bh <= bottom + 0.5
    return visible, inside, safe


def multi_focus(seeds: int, aspect: tuple[int, int], motion: str, zone_name: str) -> dict:
    """The focus camera on the several-product families (see the module docstring)."""
    from highlighter.eval.multi import MULTI_FAMILIES, build_multi, truth_of
    from highlighter.render.presets import motion as motion_preset
    from highlighter.render.reframe import ALL, focus_targets
    from highlighter.trackfile import TrackObject

    zone = SAFE_ZONES[zone_name]
    frames = inside = framed = all_frames = switches = naive = 0
    seconds, holds, moves = 0.0, [], []
    per = {}
    for family in MULTI_FAMILIES:
        for seed in range(seeds):
            scenario = build_multi(family, seed)
            truth = truth_of(scenario)
            n, fps = scenario.frame_count, scenario.fps
            objects = [TrackObject(p.id, p.name, p.prompt,
                                   [FrameTrack.from_mask(i, i / fps, truth.product_mask(i, k), 1.0) for i in range(n)])
                       for k, p in enumerate(scenario.products)]  # fmt: skip
            starts = [*truth.shot_starts(), n]
            video = {"width": scenario.width, "height": scenario.height, "fps": fps, "frame_count": n}
            track = Track(video, shots=[[a, b - 1] for a, b in zip(starts[:-1], starts[1:]) if b > a], objects=objects)
            camera = plan_camera(track, aspect=aspect, motion=motion, safe_zone=zone)
            cw, ch = window_size(track.width, track.height, aspect)
            m = motion_preset(motion)
            targets, labels, _ = focus_targets(
                track, "auto", fits=(cw * (1 - zone.left - zone.right), ch * (1 - zone.top - zone.bottom)),
                shots=shot_ranges(track.shots, n), speed=(m.max_speed * track.width / fps, m.max_speed * track.height / fps),
            )  # fmt: skip
            ok = seen = 0
            for i, (x, y, w, h) in enumerate(camera.windows.tolist()):
                if np.isnan(targets[i, 0]):
                    continue  # hidden, or the camera gliding to a new product
                seen += 1
                bx, by, bw, bh = targets[i]
                ok += x - 0.5 <= bx and bx + bw <= x + w + 0.5 and y - 0.5 <= by and by + bh <= y + h + 0.5
            frames += n
            framed += seen
            inside += ok
            all_frames += sum(label == ALL for label in labels)
            seconds += n / fps
            ranges = shot_ranges(track.shots, n)
            areas = np.array([[o.frames[i].box[2] * o.frames[i].box[3] if o.frames[i].visible else 0.0 for i in range(n)]
                              for o in objects])  # fmt: skip
            for start, stop in ranges:
                cuts = [i for i in range(start + 1, stop) if labels[i] != labels[i - 1]]
                switches += len(cuts)
                holds += (np.diff(cuts) / fps).tolist() if len(cuts) > 1 else []
                best = np.argmax(areas[:, start:stop], axis=0)
                naive += int((np.diff(best) != 0).sum())
                centres = camera.windows[start:stop, :2] + camera.windows[start:stop, 2:] / 2
                if stop - start >= 2:
                    moves += np.hypot(*np.diff(centres, axis=0).T).tolist()
            per[f"{family}/{seed}"] = {"focus_inside_crop": round(ok / max(1, seen), 4),
                                       "switches": sum(labels[i] != labels[i - 1] for i in range(1, n))}  # fmt: skip
    return {
        "scenarios": len(per),
        "focus_inside_crop": round(inside / max(1, framed), 4),
        "followed_frames": framed,
        "switches_per_minute": round(switches / seconds * 60, 2),
        "naive_switches_per_minute": round(naive / seconds * 60, 2),
        "shortest_hold_s": round(min(holds), 2) if holds else None,
        "all_products_framed": round(all_frames / frames, 4),
        "max_move_px": round(max(moves), 1),
        "per_scenario": per,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--aspect", default="9:16")
    parser.add_argument("--motion", default="default")
    parser.add_argument("--safe-zone", default="default")
    parser.add_argument("--multi", action="store_true", help="also the focus camera on the several-product families")
    args = parser.parse_args()
    aspect, zone = parse_aspect(args.aspect), SAFE_ZONES[args.safe_zone]
    tracks = [(name, truth_track(*spec)) for name, *spec in scenarios(args.seeds)]
    result = {"aspect": args.aspect, "motion": args.motion, "safe_zone": args.safe_zone, "scenarios": len(tracks)}
    for label, jitter in (("exact_boxes", 0.0), ("detector_jitter_2pct", 0.02)):
        totals = {"visible": 0, "inside": 0, "safe": 0}
        ours_acc, ours_move, naive_acc, naive_move = [], [], [], []
        per, modes = {}, {}
        for k, (name, truth) in enumerate(tracks):
            track = with_jitter(truth, jitter, k) if jitter else truth
            camera = plan_camera(track, aspect=aspect, motion=args.motion, safe_zone=zone)
            windows = camera.windows.astype(float)
            visible, inside, safe = containment(windows, truth, zone)  # judged on the true boxes
            totals["visible"] += visible
            totals["inside"] += inside
            totals["safe"] += safe
            a, m = motion_stats(windows, track)
            na, nm = motion_stats(naive_windows(track, aspect), track)
            ours_acc += a
            ours_move += m
            naive_acc += na
            naive_move += nm
            for shot in camera.shots:
                modes[shot.mode] = modes.get(shot.mode, 0) + 1
            per[name] = {"inside_crop": round(inside / max(1, visible), 4),
                         "accel_reduction": round(float(np.mean(na) / max(np.mean(a), 1e-9)), 1)}  # fmt: skip
        result[label] = {
            "visible_frames": totals["visible"],
            "inside_crop": round(totals["inside"] / totals["visible"], 4),
            "inside_safe_zone": round(totals["safe"] / totals["visible"], 4),
            "ours": {"mean_abs_accel": round(float(np.mean(ours_acc)), 6), "max_move_px": round(max(ours_move), 1)},
            "naive": {"mean_abs_accel": round(float(np.mean(naive_acc)), 6), "max_move_px": round(max(naive_move), 1)},
            "accel_reduction": round(float(np.mean(naive_acc) / np.mean(ours_acc)), 1),
            "max_move_reduction": round(max(naive_move) / max(ours_move), 2),
            "shot_modes": modes,
            "per_scenario": per,
        }
    if args.multi:
        result["several_products"] = multi_focus(args.seeds, aspect, args.motion, args.safe_zone)
    result["targets"] = {"inside_crop": ">= 0.99", "accel_reduction": ">= 5"}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
