"""Shared-prefix decoding (same outputs as a repeated cache) and the compact, shipped judge format."""

from __future__ import annotations

import pytest
import torch

from rmr1_utils.compact import apply_delta, compress, save_judge, shipped_judges
from rmr1_utils.data import load_pairs, pair_to_judge_task
from rmr1_utils.errors import ModelNotFoundError
from rmr1_utils.generation import SamplingParams, TransformersBackend
from rmr1_utils.generation import transformers as transformers_backend
from rmr1_utils.models import load_model_and_tokenizer, resolve_model_path

from .conftest import DATA_DIR


@pytest.mark.slow  # ~30 s each: the embedded model decodes with a shared and a repeated cache
@pytest.mark.parametrize(
    "sampling", [SamplingParams(max_new_tokens=12), SamplingParams(max_new_tokens=12, temperature=1.0, n=2, seed=5)]
)
def test_shared_prefix_decoding_matches_a_repeated_cache(embedded, monkeypatch, sampling):
    model, tokenizer = embedded
    pairs = load_pairs(DATA_DIR / "quickstart_pairs.jsonl")[:3]
    conversations = [pair_to_judge_task(p, side)["messages"] for p in pairs for side in "AB"]
    backend = TransformersBackend(model, tokenizer, batch_size=4)
    shared = backend.generate(conversations, sampling, progress=False)
    monkeypatch.setattr(transformers_backend, "supports_shared_prefix", lambda m: False)
    repeated = backend.generate(conversations, sampling, progress=False)
    assert [[c.text for c in row] for row in shared] == [[c.text for c in row] for row in repeated]


def test_compress_and_apply_delta_round_trip():
    base, _ = load_model_and_tokenizer("tiny-random")
    trained, _ = load_model_and_tokenizer("tiny-random")
    torch.manual_seed(0)
    with torch.no_grad():
        layer = trained.model.layers[1]
        update = torch.randn(layer.mlp.up_proj.weight.shape[0], 3) @ torch.randn(3, layer.mlp.up_proj.weight.shape[1])
        layer.mlp.up_proj.weight.add_(0.01 * update)  # a rank-3 change
        layer.input_layernorm.weight.mul_(1.5)  # a changed vector
    tensors, stats = compress(base, trained, rank=4)
    assert stats["matrices"] == 1 and stats["vectors"] == 1 and stats["relative_error"] < 1e-3
    assert set(tensors) == {"model.layers.1.mlp.up_proj.weight.lora_A", "model.layers.1.mlp.up_proj.weight.lora_B",
                            "model.layers.1.input_layernorm.weight"}  # fmt: skip
    apply_delta(base, tensors)
    for (name, a), (_, b) in zip(base.named_parameters(), trained.named_parameters()):
        assert torch.allclose(a, b, atol=2e-3), name  # float16 factors
    _, truncated = compress(load_model_and_tokenizer("tiny-random")[0], trained, rank=1)
    assert truncated["relative_error"] > 0.05  # rank 1 cannot hold a rank-3 change


def test_saved_judge_loads_by_name(tmp_path, monkeypatch):
    import rmr1_utils.compact as compact
    import rmr1_utils.models as models

    base, _ = load_model_and_tokenizer("tiny-random")
    trained, _ = load_model_and_tokenizer("tiny-random")
    with torch.no_grad():
        trained.model.norm.weight.mul_(2.0)
    tensors, _ = compress(base, trained, rank=2)
    monkeypatch.setattr(compact, "JUDGES_DIR", tmp_path / "judges")
    monkeypatch.setenv("RMR1_CACHE", str(tmp_path / "cache"))
    save_judge(tmp_path / "judges" / "toy-judge", tensors, {"name": "toy-judge", "base_model": "tiny-random"})
    assert "toy-judge" in shipped_judges()
    path = resolve_model_path("toy-judge")
    assert "toy-judge" in path and (tmp_path / "cache") in models.Path(path).parents
    loaded, _ = load_model_and_tokenizer("toy-judge")
    assert torch.equal(loaded.model.norm.weight, trained.model.norm.weight)
    with pytest.raises(ModelNotFoundError):
        models.shipped_judge_path("no-such-judge")


def test_an_installed_package_ships_into_the_cache_and_still_lists_its_own_judges(tmp_path, monkeypatch):
    from rmr1_utils import compact

    package, cache = tmp_path / "site-packages" / "judges", tmp_path / "cache"
    monkeypatch.setattr(compact, "JUDGES_DIR", package)
    monkeypatch.setenv("RMR1_CACHE", str(cache))
    save_judge(package / "course-judge", {}, {"name": "course-judge"})
    assert compact.ship_folder() == package  # a source checkout: shipped with the course
    monkeypatch.setattr(compact, "source_checkout", lambda: None)  # as after pip install
    assert compact.ship_folder() == cache / "judges"
    save_judge(compact.ship_folder() / "my-judge", {}, {"name": "my-judge"})
    assert shipped_judges() == {"course-judge": package / "course-judge", "my-judge": cache / "judges" / "my-judge"}
