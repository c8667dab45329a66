"""The models folder: what ``models fetch`` writes, what ``models check`` reports, what workers load.

Layout, one folder per model under ``HIGHLIGHTER_MODELS_DIR``::

    sam2.1-hiera-base-plus/config.yaml      the sam2 package's config for this size
                          /model.pt         Meta's checkpoint ({"model": state_dict})
                          /highlighter.json written last: the folder is complete
    owlv2-base/config.json, model.safetensors, preprocessor_config.json, tokenizer files, highlighter.json
    clip-vit-b32/...                        the same, from save_pretrained

A fetch writes into ``NAME.partial`` and renames it when complete, so a worker never sees half a
model. Nothing here imports torch: checking what is there must stay cheap (the job's backend
choice asks it).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from highlighter.models.catalog import ModelSpec, spec_for
from highlighter.models.settings import ModelSettings

MARKER = "highlighter.json"
SAM2_CONFIG = "config.yaml"
SAM2_WEIGHTS = "model.pt"


@dataclass(frozen=True)
class Installed:
    role: str
    name: str
    folder: Path
    present: bool
    size_bytes: int = 0
    source: str = ""


def model_folder(settings: ModelSettings, role: str) -> Path:
    return Path(settings.models_dir) / getattr(settings, role)


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def write_marker(folder: Path, spec: ModelSpec | None, *, role: str, source: str) -> None:
    """Mark ``folder`` complete (the last file a fetch writes)."""
    data = {"role": role, "source": source, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if spec is not None:
        data["name"] = spec.name
    (folder / MARKER).write_text(json.dumps(data, indent=2) + "\n")


def inspect(settings: ModelSettings) -> list[Installed]:
    """One row per role: the folder the settings point at and whether a complete model is there."""
    rows = []
    for role, name in settings.roles().items():
        folder = Path(settings.models_dir) / name
        if not is_complete(folder):
            rows.append(Installed(role, name, folder, False))
            continue
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        source = json.loads((folder / MARKER).read_text()).get("source", "")
        rows.append(Installed(role, name, folder, True, size, source))
    return rows


def models_available(settings: ModelSettings | None = None) -> bool:
    """Whether every model the tracker needs is in the models folder (cheap: no model is loaded)."""
    return all(row.present for row in inspect(settings or ModelSettings.from_env()))


def fetch(settings: ModelSettings, *, roles: tuple[str, ...] = ("sam2", "detector", "embedder"), force: bool = False) -> list[Path]:
    """Download the chosen models into the models folder (needs internet and the hub; run once).

    Already complete folders are kept unless ``force``. Returns the folders written.
    """
    written = []
    for role in roles:
        spec = spec_for(getattr(settings, role), role)
        final = Path(settings.models_dir) / spec.name
        if is_complete(final) and not force:
            continue
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        if role == "sam2":
            _fetch_sam2(spec, partial)
        else:
            _fetch_transformers(spec, partial)
        write_marker(partial, spec, role=role, source=spec.source)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        written.append(final)
    return written


def _fetch_sam2(spec: ModelSpec, folder: Path) -> None:
    from importlib import resources

    from huggingface_hub import hf_hub_download

    config = resources.files("sam2") / spec.sam2_config
    (folder / SAM2_CONFIG).write_text(config.read_text())
    downloaded = hf_hub_download(repo_id=spec.source, filename=spec.checkpoint, local_dir=folder / ".download")
    Path(downloaded).rename(folder / SAM2_WEIGHTS)
    shutil.rmtree(folder / ".download", ignore_errors=True)


def _fetch_transformers(spec: ModelSpec, folder: Path) -> None:
    from transformers import AutoModel, AutoModelForZeroShotObjectDetection, AutoProcessor

    model_class = AutoModelForZeroShotObjectDetection if spec.role == "detector" else AutoModel
    model_class.from_pretrained(spec.source).save_pretrained(folder)
    AutoProcessor.from_pretrained(spec.source).save_pretrained(folder)
