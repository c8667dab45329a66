"""The tracking evaluation: every tracker on every scenario, scored, and summarised per family.

    results = run_suite(["occlusion"], seeds=2, trackers=("framewise", "propagate", "memory"))
    results = run_multi_suite(["cross2", "trio"], seeds=5, modes=("joint", "independent"))

Each scenario is written to an H.264 file first and tracked through ``track_video`` exactly as a
worker would, so decoding, working resolution and the track file are part of what is measured.

The multi-product families (``highlighter.eval.multi``) are tracked two ways: ``joint``, every
product in one ``track_video(path, [Product, ...])`` run (the products are each other's known
distractors and a pixel belongs to at most one), and ``independent``, the one-product tracker run
once per product with its own prompt and the tracks put side by side: what tracking them together
buys is the difference. Each product is scored alone (J, F, J&F, identity switches, absence), then
the products against each other (``metrics.cross_product_scores``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from highlighter.eval.metrics import (
    boundary_f, box_stability, confidently_wrong, cross_product_scores, false_visible, frame_scores, hidden_in_view,
    identity_switches, mask_iou, overlaps, reacquisition_delays, score_correlation,
)  # fmt: skip
from highlighter.eval.multi import MULTI_FAMILIES, MultiScenario, MultiTruth, build_multi, write_multi
from highlighter.eval.scenarios import FAMILIES, build, write_scenario
from highlighter.errors import TrackError
from highlighter.track import track_video
from highlighter.track.prompt import Prompt
from highlighter.trackfile import Track, TrackObject

TRACKERS = ("framewise", "propagate", "memory")
MODES = ("joint", "independent")  # how the multi-product families are tracked
BAR_JF = 0.90  # the issue's bar: every product's mean J&F, and no frame with a mask mostly on another product


def score_track(track, truth) -> dict[str, Any]:
    """Every metric of one track against one scenario's truth. ``score_rho``: Spearman's rank
    correlation of the track's score with J over the frames it shows with the target in them
    (``score_correlation``; None when nothing varies, e.g. every such frame perfect).
    ``confidently_wrong`` and ``hidden_in_view``: frames so judged (``metrics``), the real-footage
    bench's two honesty counts, over every frame."""
    scores = frame_scores(track, truth)
    visible = [i < len(track.frames) and track.frames[i].visible for i in range(truth.frame_count)]
    absent, hidden = [], 0
    for i in range(truth.frame_count):  # each truth mask read once
        mask = truth.mask(i)
        absent.append(not mask.any())
        hidden += hidden_in_view(visible[i], mask)
    seen = [i for i in range(truth.frame_count) if visible[i] and not absent[i]]
    rho = score_correlation([track.frames[i].score for i in seen], [float(scores.j[i]) for i in seen])
    wrong = sum(confidently_wrong(track.frames[i].score, float(scores.j[i])) for i in range(truth.frame_count) if visible[i])
    shown, n_absent = false_visible(track, truth)
    delays = reacquisition_delays(scores, absent, truth.shot_starts())
    stability = box_stability([f.box if f.visible else None for f in track.frames], truth.boxes)
    return {
        "jf": round(scores.jf, 4),
        "j": round(float(scores.j.mean()), 4),
        "f": round(float(scores.f.mean()), 4),
        "id_switches": identity_switches(track, truth),
        "false_visible": shown,
        "absent_frames": n_absent,
        "reacquisition_delays": delays,
        "score_rho": None if rho is None else round(rho, 4),
        "confidently_wrong": wrong,
        "hidden_in_view": hidden,
        "frames": truth.frame_count,
        **{f"box_{k}": round(v, 4) for k, v in stability.items()},
    }


def frame_rows(track: Track, truth) -> list[dict[str, Any]]:
    """What ``score_track``'s means and counts are made of, one row per frame of ``truth`` (a
    scenario's, or one product's): J, F, the track's visibility and score, its area against the
    truth's, its pixels on the target and on the other object it covers most (``other``: that
    object's index in ``truth.other_masks``), and whether the frame is an identity switch."""
    rows = []
    for i in range(truth.frame_count):
        pred, target = track.mask(i), truth.mask(i)
        shown = track.frames[i] if i < len(track.frames) else None
        on_target, on_other, other = overlaps(pred, target, truth.other_masks(i))
        rows.append({
            "frame": i, "j": round(mask_iou(pred, target), 4), "f": round(boundary_f(pred, target), 4),
            "visible": bool(shown and shown.visible), "score": round(shown.score, 3) if shown else None,
            "area": int(np.count_nonzero(pred)), "truth_area": int(np.count_nonzero(target)),
            "on_target": on_target, "on_other": on_other, "other": other,
            "identity_switch": bool(pred.any() and on_other > on_target),
        })  # fmt: skip
    return rows


def run_suite(
    families: Sequence[str] = FAMILIES,
    seeds: int = 5,
    trackers: Sequence[str] = TRACKERS,
    *,
    width: int = 640,
    height: int = 360,
    first_seed: int = 0,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """``{"families": {family: {tracker: summary}}, "videos": [per video and tracker rows]}``."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="highlighter-eval-") as tmp:
        for family in families:
            for seed in range(first_seed, first_seed + seeds):
                scenario = build(family, seed, width=width, height=height)
                path = Path(tmp) / f"{family}-{seed}.mp4"
                truth = write_scenario(path, scenario)
                prompt = Prompt.from_dict(scenario.prompt)
                for name in trackers:
                    started = time.monotonic()
                    track = track_video(path, prompt, backend=name)
                    seconds = time.monotonic() - started
                    row = {"family": family, "seed": seed, "tracker": name, **score_track(track, truth)}
                    row["fps"] = round(scenario.frame_count / seconds, 1)
                    rows.append(row)
                    if log:
                        log(f"{family} seed {seed} {name}: J&F {row['jf']:.3f} ids {row['id_switches']} "
                            f"false-visible {row['false_visible']}/{row['absent_frames']} "
                            f"delays {row['reacquisition_delays']} ({row['fps']} fps)")  # fmt: skip
                path.unlink()
    return {"families": summarise(rows), "videos": rows}


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for family in dict.fromkeys(r["family"] for r in rows):
        out[family] = {}
        for name in dict.fromkeys(r["tracker"] for r in rows):
            mine = [r for r in rows if r["family"] == family and r["tracker"] == name]
            if not mine:
                continue
            delays = [d for r in mine for d in r["reacquisition_delays"]]
            absent = sum(r["absent_frames"] for r in mine)
            rhos = [r["score_rho"] for r in mine if r["score_rho"] is not None]
            out[family][name] = {
                "jf": round(float(np.mean([r["jf"] for r in mine])), 4),
                "j": round(float(np.mean([r["j"] for r in mine])), 4),
                "f": round(float(np.mean([r["f"] for r in mine])), 4),
                "id_switches": sum(r["id_switches"] for r in mine),
                "false_visible_rate": round(sum(r["false_visible"] for r in mine) / absent, 4) if absent else None,
                "max_reacquisition_delay": max(delays) if delays else None,
                "mean_reacquisition_delay": round(float(np.mean(delays)), 2) if delays else None,
                "box_centre": round(float(np.mean([r["box_centre"] for r in mine])), 4),
                "box_scale_ratio": round(float(np.mean([r["box_scale_ratio"] for r in mine])), 4),
                "box_fragment": round(float(np.mean([r["box_fragment"] for r in mine])), 4),
                "score_rho": round(float(np.mean(rhos)), 4) if rhos else None,  # over the videos where it is defined
                "confidently_wrong": sum(r["confidently_wrong"] for r in mine),
                "hidden_in_view": sum(r["hidden_in_view"] for r in mine),
                "frames": sum(r["frames"] for r in mine),
                "fps": round(float(np.mean([r["fps"] for r in mine])), 1),
                "videos": len(mine),
            }
    return out


def overall(families: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """Mean J&F over families, per tracker."""
    names = dict.fromkeys(n for f in families.values() for n in f)
    return {n: round(float(np.mean([f[n]["jf"] for f in families.values() if n in f])), 4) for n in names}


# --- several products ---------------------------------------------------------------------------


def track_independently(path: str | Path, scenario: MultiScenario, *, backend: str = "auto") -> Track:
    """Each product of ``scenario`` tracked alone (its own ``track_video`` run and prompt), the
    tracks put side by side in one multi-object ``Track``: the baseline the joint tracker beats."""
    objects, metas, seconds = [], [], 0.0
    for product in scenario.products:
        started = time.monotonic()
        single = track_video(path, Prompt.from_dict(product.prompt), backend=backend)
        seconds += time.monotonic() - started
        objects.append(TrackObject(product.id, product.name, single.prompt, single.frames, dict(single.meta)))
        metas.append(single)
    first = metas[0]
    meta = {"backend": first.meta.get("backend"), "mode": "independent", "seconds": round(seconds, 3)}
    return Track(video=first.video, shots=first.shots, meta=meta, objects=objects)


def track_jointly(path: str | Path, scenario: MultiScenario, *, backend: str = "auto") -> Track:
    """Every product of ``scenario`` in one ``track_video`` run (the engine's multi-object API)."""
    try:
        from highlighter.track import Product
    except ImportError as exc:  # the engine without several products
        raise TrackError("This tracker cannot follow several products in one run (no highlighter.track.Product).") from exc
    products = [Product(id=p.id, name=p.name, prompt=Prompt.from_dict(p.prompt)) for p in scenario.products]
    return track_video(path, products, backend=backend)


def track_products(path: str | Path, scenario: MultiScenario, mode: str, *, backend: str = "auto") -> Track:
    if mode == "joint":
        return track_jointly(path, scenario, backend=backend)
    if mode == "independent":
        return track_independently(path, scenario, backend=backend)
    raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")


def score_products(track: Track, truth: MultiTruth) -> dict[str, Any]:
    """Every product of ``track`` scored alone against its truth, then the products against each
    other. Objects are matched to products by id."""
    ids = [p.id for p in truth.products]
    missing = [i for i in ids if i not in track.ids]
    if missing:
        raise TrackError(f"The track has no object for the products {missing}.")
    cross = cross_product_scores(track, truth, ids)
    products = []
    for k, spec in enumerate(truth.products):
        row = score_track(track.single(spec.id), truth.product(k))
        on_other = cross.on_other[k]
        products.append({
            "id": spec.id, "name": spec.name, "role": spec.role, "prompt": spec.kind, **row,
            "on_other_frames": len(on_other),
            "on_other_at": [[a, b, ids[j]] for a, b, j in _runs_with_target(on_other)],
        })  # fmt: skip
    return {
        "jf": round(float(np.mean([p["jf"] for p in products])), 4),
        "min_product_jf": min(p["jf"] for p in products),
        "products": products,
        "on_other_frames": sum(p["on_other_frames"] for p in products),
        "swaps": len(cross.swaps),
        "swaps_at": [[i, ids[a], ids[b]] for i, a, b in cross.swaps],
        "swap_frames": cross.swap_frames,
        "double_pixels": cross.double_pixels,
        "double_frames": cross.double_frames,
    }


def _runs_with_target(on_other: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """``(frame, other)`` pairs as ``(start, end, other)`` runs of consecutive frames on one other product."""
    out: list[tuple[int, int, int]] = []
    for frame, other in on_other:
        if out and out[-1][2] == other and out[-1][1] == frame - 1:
            out[-1] = (out[-1][0], frame, other)
        else:
            out.append((frame, frame, other))
    return out


def run_multi_suite(
    families: Sequence[str] = MULTI_FAMILIES,
    seeds: int = 5,
    modes: Sequence[str] = MODES,
    *,
    backend: str = "auto",
    width: int = 640,
    height: int = 360,
    first_seed: int = 0,
    log: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """``{"families": {family: {mode: summary}}, "videos": [per video and mode rows]}``."""
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown modes {unknown}; expected some of {MODES}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="highlighter-eval-") as tmp:
        for family in families:
            for seed in range(first_seed, first_seed + seeds):
                scenario = build_multi(family, seed, width=width, height=height)
                path = Path(tmp) / f"{family}-{seed}.mp4"
                truth = write_multi(path, scenario)
                for mode in modes:
                    started = time.monotonic()
                    track = track_products(path, scenario, mode, backend=backend)
                    seconds = time.monotonic() - started
                    row = {"family": family, "seed": seed, "tracker": mode, "backend": track.meta.get("backend"),
                           **score_products(track, truth)}  # fmt: skip
                    row["seconds"] = round(seconds, 2)
                    row["fps"] = round(scenario.frame_count / seconds, 1)
                    rows.append(row)
                    if log:
                        per = " ".join(f"{p['id']} {p['jf']:.3f}" for p in row["products"])
                        log(f"{family} seed {seed} {mode}: J&F {per}; on another product {row['on_other_frames']} "
                            f"swaps {row['swaps']} double px {row['double_pixels']} ({row['fps']} fps)")  # fmt: skip
                path.unlink()
    return {"families": summarise_multi(rows), "videos": rows}


def summarise_multi(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per family and mode: each product's means over seeds (by id: a product keeps its role in a
    family), their mean and minimum, and the cross-product errors summed."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for family in dict.fromkeys(r["family"] for r in rows):
        out[family] = {}
        for mode in dict.fromkeys(r["tracker"] for r in rows):
            mine = [r for r in rows if r["family"] == family and r["tracker"] == mode]
            if not mine:
                continue
            products = {}
            for spec in mine[0]["products"]:
                each = [p for r in mine for p in r["products"] if p["id"] == spec["id"]]
                absent = sum(p["absent_frames"] for p in each)
                products[spec["id"]] = {
                    # Some roles change with the seed (which of two crossing products is in front).
                    "role": ", ".join(f"{r} x{n}" if n < len(each) else r for r, n in _counts(p["role"] for p in each).items()),
                    "prompts": _counts(p["prompt"] for p in each),
                    "jf": round(float(np.mean([p["jf"] for p in each])), 4),
                    "j": round(float(np.mean([p["j"] for p in each])), 4),
                    "f": round(float(np.mean([p["f"] for p in each])), 4),
                    "min_jf": min(p["jf"] for p in each),
                    "on_other_frames": sum(p["on_other_frames"] for p in each),
                    "id_switches": sum(p["id_switches"] for p in each),
                    "confidently_wrong": sum(p["confidently_wrong"] for p in each),
                    "hidden_in_view": sum(p["hidden_in_view"] for p in each),
                    "false_visible_rate": round(sum(p["false_visible"] for p in each) / absent, 4) if absent else None,
                }
            jfs = [p["jf"] for p in products.values()]
            out[family][mode] = {
                "jf": round(float(np.mean(jfs)), 4),
                "min_product_jf": min(jfs),
                "products": products,
                "on_other_frames": sum(r["on_other_frames"] for r in mine),
                "swaps": sum(r["swaps"] for r in mine),
                "swap_frames": sum(r["swap_frames"] for r in mine),
                "double_pixels": sum(r["double_pixels"] for r in mine),
                "double_frames": sum(r["double_frames"] for r in mine),
                "passes": bool(min(jfs) >= BAR_JF and sum(r["on_other_frames"] for r in mine) == 0),
                "seconds": round(float(np.mean([r["seconds"] for r in mine])), 2),
                "fps": round(float(np.mean([r["fps"] for r in mine])), 1),
                "videos": len(mine),
            }
    return out


def _counts(values) -> dict[str, int]:
    values = list(values)
    return {v: values.count(v) for v in sorted(set(values))}


def multi_table(families: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A Markdown table, one line per family, mode and product (then the family's mean), for reading.
    The honesty counts (``score_track``) are frames per product, summed on the family's line."""
    lines = [
        "| family | tracker | product | role | prompts | J | F | J&F | min J&F | on another product | swaps | px in two masks "
        "| confidently wrong | hidden in view |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family, modes in families.items():
        for mode, s in modes.items():
            for pid, p in s["products"].items():
                prompts = ", ".join(f"{k} x{n}" for k, n in p["prompts"].items())
                lines.append(f"| {family} | {mode} | {pid} | {p['role']} | {prompts} | {p['j']:.3f} | {p['f']:.3f} | "
                             f"{p['jf']:.3f} | {p['min_jf']:.3f} | {p['on_other_frames']} | | | "
                             f"{p['confidently_wrong']} | {p['hidden_in_view']} |")  # fmt: skip
            verdict = "passes" if s["passes"] else "FAILS"
            honest = [sum(p[k] for p in s["products"].values()) for k in ("confidently_wrong", "hidden_in_view")]
            lines.append(f"| {family} | {mode} | **mean** | {verdict} the bar | | | | **{s['jf']:.3f}** | "
                         f"{s['min_product_jf']:.3f} | {s['on_other_frames']} | {s['swaps']} | {s['double_pixels']} | "
                         f"{honest[0]} | {honest[1]} |")  # fmt: skip
    return "\n".join(lines)
