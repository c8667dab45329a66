"""Random-weight models in the layout ``models fetch`` writes, for tests and benchmarks.

No pretrained weights can be downloaded on the project's machines, so the loading and inference
code is exercised with models of the real architectures and random weights, saved into a models
folder exactly as a fetch would, and loaded back through ``loading``.

    from highlighter.models.testing import write_random_models
    settings = write_random_models(tmp_path / "models", size="tiny")   # a few MB, CPU-friendly
    settings = write_random_models(folder, size="full", sam2="sam2.1-hiera-large")  # real sizes

``size="tiny"``: SAM 2.1 hiera-t's config shrunk (256 px, a 16-wide Hiera of 5 blocks, one memory
attention layer), OWLv2 and CLIP with one 32-wide layer per tower. ``size="full"``: the catalogue
configs at their real sizes (for the GPU check).
"""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path

import torch

from highlighter.models.catalog import CATALOG, spec_for
from highlighter.models.settings import ModelSettings
from highlighter.models.store import SAM2_CONFIG, SAM2_WEIGHTS, write_marker

TINY_NAMES = {"sam2": "sam2.1-hiera-tiny", "detector": "owlv2-base", "embedder": "clip-vit-b32"}


def write_random_models(
    models_dir: str | Path, *, size: str = "tiny", sam2: str | None = None, seed: int = 0, image_size: int | None = None
) -> ModelSettings:
    """Write random SAM 2, OWLv2 and CLIP folders under ``models_dir``; return settings that use them."""
    models_dir = Path(models_dir)
    names = dict(TINY_NAMES, sam2=sam2 or TINY_NAMES["sam2"])
    torch.manual_seed(seed)
    write_sam2(models_dir / names["sam2"], spec_for(names["sam2"], "sam2").sam2_config, tiny=size == "tiny", image_size=image_size)
    vocab = _vocab()
    write_owlv2(models_dir / names["detector"], vocab, tiny=size == "tiny")
    write_clip(models_dir / names["embedder"], vocab, tiny=size == "tiny")
    return ModelSettings(models_dir=models_dir, device="cpu" if size == "tiny" else "auto", **names)


def write_sam2(folder: Path, package_config: str, *, tiny: bool, image_size: int | None = None) -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    folder.mkdir(parents=True, exist_ok=True)
    cfg = OmegaConf.create((resources.files("sam2") / package_config).read_text())
    m = cfg.model
    if tiny:
        m.image_size = 256
        trunk = m.image_encoder.trunk
        trunk.embed_dim, trunk.num_heads = 16, 1
        trunk.stages, trunk.global_att_blocks, trunk.window_spec = [1, 1, 2, 1], [3], [8, 4, 4, 2]
        m.image_encoder.neck.backbone_channel_list = [128, 64, 32, 16]
        m.memory_attention.num_layers = 1
        m.memory_attention.layer.dim_feedforward = 256
        m.memory_encoder.fuser.num_layers = 1
    if image_size:
        m.image_size = image_size
    side = int(m.image_size) // 16
    m.memory_attention.layer.self_attention.feat_sizes = [side, side]
    m.memory_attention.layer.cross_attention.feat_sizes = [side, side]
    (folder / SAM2_CONFIG).write_text(OmegaConf.to_yaml(cfg))
    model = instantiate(cfg.model, _recursive_=True)
    torch.save({"model": model.state_dict()}, folder / SAM2_WEIGHTS)
    write_marker(folder, CATALOG.get(folder.name), role="sam2", source="random weights")


def _vocab() -> dict[str, int]:
    """A character-level CLIP vocabulary (the real one is a 49k BPE file that only the hub has)."""
    chars = list(string.ascii_lowercase + string.digits + ".,'-!?&")
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def _tokenizer(vocab: dict[str, int], max_length: int):
    from transformers import CLIPTokenizer

    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _towers(vocab: dict[str, int], *, tiny: bool, image_size: int, patch_size: int, max_text: int) -> dict:
    ids = {
        "vocab_size": len(vocab),
        "bos_token_id": vocab["<|startoftext|>"],
        "eos_token_id": vocab["<|endoftext|>"],
        "pad_token_id": vocab["<|endoftext|>"],
    }
    if not tiny:
        return {"text_config": ids}
    layer = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    return {
        "text_config": {**layer, **ids, "max_position_embeddings": max_text},
        "vision_config": {**layer, "image_size": image_size, "patch_size": patch_size},
        "projection_dim": 32,
    }


def write_owlv2(folder: Path, vocab: dict[str, int], *, tiny: bool) -> None:
    from transformers import Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor

    image_size = 64 if tiny else 960
    config = Owlv2Config(**_towers(vocab, tiny=tiny, image_size=image_size, patch_size=16, max_text=16))
    model = Owlv2ForObjectDetection(config).eval()
    if tiny:
        # An untrained box head that predicts its prior: each patch's box is that patch. Random box
        # offsets saturate the sigmoid (every box becomes the whole frame), which tests nothing.
        torch.nn.init.zeros_(model.box_head.dense2.weight)
        torch.nn.init.zeros_(model.box_head.dense2.bias)
    model.save_pretrained(folder)
    processor = Owlv2Processor(
        image_processor=Owlv2ImageProcessor(size={"height": image_size, "width": image_size}),
        tokenizer=_tokenizer(vocab, 16),
    )
    processor.save_pretrained(folder)
    write_marker(folder, CATALOG.get(folder.name), role="detector", source="random weights")


def write_clip(folder: Path, vocab: dict[str, int], *, tiny: bool) -> None:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    image_size = 32 if tiny else 224
    config = CLIPConfig(**_towers(vocab, tiny=tiny, image_size=image_size, patch_size=8 if tiny else 32, max_text=16))
    CLIPModel(config).eval().save_pretrained(folder)
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}),
        tokenizer=_tokenizer(vocab, 16),
    )
    processor.save_pretrained(folder)
    write_marker(folder, CATALOG.get(folder.name), role="embedder", source="random weights")

