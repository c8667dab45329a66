"""Where a description starts: the start region of each synthetic scenario prompted by words, against the truth.

    .venv/bin/python bench/description_starts.py [--families clutter] [--seeds 20] [--first-seed 0]

Only the start (``initialise.find_initial_target``, the tracker's own code path on the written
video at its working size), not the tracking: a few seconds a scenario, so many more seeds than
the tracking suite can afford, and the seeds nobody tuned on. A start with IoU under 0.5 on its
frame is on the wrong thing, and a track that starts there follows the wrong thing. Prints one JSON
line per scenario, then a summary line: ``{"summary": {family: {"seeds", "wrong", "mean_iou"}}}``.
Scenarios prompted otherwise (a box or a click) are skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from highlighter.eval.scenarios import FAMILIES, build, write_scenario  # noqa: E402
from highlighter.media import probe  # noqa: E402
from highlighter.track.embedding import AppearanceEmbedder  # noqa: E402
from highlighter.track.frames import FrameSource, work_size  # noqa: E402
from highlighter.track.grounding import CueGrounder  # noqa: E402
from highlighter.track.initialise import find_initial_target  # noqa: E402
from highlighter.track.prompt import Prompt  # noqa: E402
from highlighter.track.proposals import ColourSegmentProposer  # noqa: E402

WRONG = 0.5  # a start under this IoU with the product is on something else


def start_of(family: str, seed: int, tmp: Path) -> dict | None:
    scenario = build(family, seed)
    if not scenario.prompt.get("text"):
        return None
    path = tmp / f"{family}-{seed}.mp4"
    write_scenario(path, scenario)
    info = probe(path)
    size = work_size(info, 480)
    grounder = CueGrounder(Prompt.from_dict(scenario.prompt), (size[0] / info.width, size[1] / info.height))
    init = find_initial_target(FrameSource(path, info, size), info.frame_count, ColourSegmentProposer(), grounder,
                               AppearanceEmbedder())  # fmt: skip
    path.unlink()
    truth = cv2.resize(scenario.mask(init.frame.index).astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    mask = init.candidate.mask
    iou = float(np.count_nonzero(mask & truth)) / max(1, int(np.count_nonzero(mask | truth)))
    return {
        "family": family, "seed": seed, "prompt": scenario.prompt["text"], "frame": init.frame.index,
        "score": round(init.score, 3), "iou": round(iou, 3), "area": int(init.candidate.area),
        "truth_area": int(np.count_nonzero(truth)), "source": init.candidate.source, "memory_seeds": len(init.seeds),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", default="clutter", help=f"comma-separated, of {', '.join(FAMILIES)}")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    summary: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="highlighter-starts-") as tmp:
        for family in args.families.split(","):
            ious = []
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                row = start_of(family, seed, Path(tmp))
                if row is None:
                    break
                ious.append(row["iou"])
                print(json.dumps(row), flush=True)
            if ious:
                summary[family] = {"seeds": len(ious), "wrong": sum(i < WRONG for i in ious), "mean_iou": round(float(np.mean(ious)), 3)}
    print(json.dumps({"summary": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
