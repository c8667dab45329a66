"""The models folder: fetch's layout and atomicity, check's report, the ``models`` subcommand."""

from __future__ import annotations

import argparse
import json

import pytest

from highlighter.models import store
from highlighter.models.cli import add_models_parser
from highlighter.models.settings import ModelSettings


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_models_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


@pytest.fixture
def fake_hub(monkeypatch):
    """Downloads that write a file instead of reaching a model hub; records what was asked for."""
    asked = []

    def sam2(spec, folder):
        asked.append(spec.source)
        (folder / store.SAM2_CONFIG).write_text("model: {}\n")
        (folder / store.SAM2_WEIGHTS).write_bytes(b"x" * 1000)

    def transformers(spec, folder):
        asked.append(spec.source)
        (folder / "config.json").write_text("{}")

    monkeypatch.setattr(store, "_fetch_sam2", sam2)
    monkeypatch.setattr(store, "_fetch_transformers", transformers)
    return asked


def test_fetch_writes_each_model_once_and_marks_it_complete(tmp_path, fake_hub):
    settings = ModelSettings(models_dir=tmp_path, sam2="sam2.1-hiera-large")
    written = store.fetch(settings)
    assert [p.name for p in written] == ["sam2.1-hiera-large", "owlv2-base", "clip-vit-b32"]
    assert fake_hub == ["facebook/sam2.1-hiera-large", "google/owlv2-base-patch16-ensemble", "openai/clip-vit-base-patch32"]
    assert json.loads((tmp_path / "sam2.1-hiera-large" / "highlighter.json").read_text())["role"] == "sam2"
    assert not list(tmp_path.glob("*.partial"))
    assert store.fetch(settings) == []  # installed: nothing downloaded again
    assert store.models_available(settings)


def test_an_interrupted_fetch_leaves_no_model_behind(tmp_path, fake_hub, monkeypatch):
    def broken(spec, folder):
        (folder / "config.json").write_text("{}")
        raise ConnectionError("hub unreachable")

    monkeypatch.setattr(store, "_fetch_transformers", broken)
    with pytest.raises(ConnectionError):
        store.fetch(ModelSettings(models_dir=tmp_path))
    assert [r.present for r in store.inspect(ModelSettings(models_dir=tmp_path))] == [True, False, False]
    assert not store.models_available(ModelSettings(models_dir=tmp_path))


def test_an_unknown_model_name_lists_the_choices(tmp_path):
    with pytest.raises(ValueError, match="Choose one of: sam2.1-hiera-base-plus, sam2.1-hiera-large"):
        store.fetch(ModelSettings(models_dir=tmp_path, sam2="sam3"))


def test_models_check_says_what_is_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HIGHLIGHTER_MODELS_DIR", str(tmp_path))
    for role in ("SAM2", "DETECTOR", "EMBEDDER"):
        monkeypatch.delenv(f"HIGHLIGHTER_{role}_MODEL", raising=False)
    assert run_cli("models", "check") == 1
    out = capsys.readouterr().out
    assert "sam2.1-hiera-base-plus" in out and "MISSING" in out and "models fetch" in out


def test_models_fetch_then_check_through_the_subcommand(tmp_path, fake_hub, capsys):
    assert run_cli("models", "fetch", "--dir", str(tmp_path), "--sam2", "sam2.1-hiera-tiny") == 0
    assert "fetched" in capsys.readouterr().out
    assert run_cli("models", "check", "--dir", str(tmp_path), "--sam2", "sam2.1-hiera-tiny", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert [m["present"] for m in report["models"]] == [True, True, True]


def test_models_check_loads_the_random_models(models_dir, capsys):
    assert run_cli("models", "check", "--dir", str(models_dir), "--sam2", "sam2.1-hiera-tiny", "--load") == 0
    assert "loaded on cpu (float32)" in capsys.readouterr().out
