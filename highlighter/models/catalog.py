"""The models the tracker can use, by the folder name they get under the models folder.

``source`` is the model-hub id ``models fetch`` downloads from (once, on a machine with internet).
SAM 2 checkpoints are Meta's ``.pt`` files with the matching config from the ``sam2`` package;
transformers models are written with ``save_pretrained`` (config, safetensors, processor files).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSpec:
    name: str  # folder under HIGHLIGHTER_MODELS_DIR
    role: str  # "sam2", "detector" or "embedder"
    source: str  # model-hub id
    sam2_config: str = ""  # config inside the sam2 package (SAM 2 only)
    checkpoint: str = ""  # file in the hub repository (SAM 2 only)


def _sam2(size: str, letter: str) -> ModelSpec:
    return ModelSpec(
        name=f"sam2.1-hiera-{size}",
        role="sam2",
        source=f"facebook/sam2.1-hiera-{size}",
        sam2_config=f"configs/sam2.1/sam2.1_hiera_{letter}.yaml",
        checkpoint=f"sam2.1_hiera_{size.replace('-', '_')}.pt",
    )


CATALOG: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _sam2("tiny", "t"),
        _sam2("small", "s"),
        _sam2("base-plus", "b+"),
        _sam2("large", "l"),
        ModelSpec("owlv2-base", "detector", "google/owlv2-base-patch16-ensemble"),
        ModelSpec("owlv2-large", "detector", "google/owlv2-large-patch14-ensemble"),
        ModelSpec("clip-vit-b32", "embedder", "openai/clip-vit-base-patch32"),
        ModelSpec("clip-vit-l14", "embedder", "openai/clip-vit-large-patch14"),
        ModelSpec("siglip-base", "embedder", "google/siglip-base-patch16-224"),
    )
}


def spec_for(name: str, role: str) -> ModelSpec:
    """The catalogue entry ``name`` for ``role``; ``ValueError`` saying what to choose otherwise."""
    spec = CATALOG.get(name)
    if spec is None or spec.role != role:
        choices = ", ".join(sorted(s.name for s in CATALOG.values() if s.role == role))
        raise ValueError(f"There is no {role} model called '{name}'. Choose one of: {choices}.")
    return spec
