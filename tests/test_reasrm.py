"""A ReasRM as the reward of policy training and for best-of-N: the reward rules, judge caching,
costs, GRPO runs with both reward modes, and ``rmr1 best-of-n``.

The judge is a real OpenAI-compatible server on 127.0.0.1 whose verdict follows a fixed rule
(prefer the response with more of a marker), so every expected reward can be worked out by hand.
"""

from __future__ import annotations

import json

import pytest

from rmr1_utils.errors import DataError
from rmr1_utils.generation.openai import OpenAIBackend
from rmr1_utils.reasrm import (
    PairwiseJudge,
    best_candidates,
    best_of_n,
    both_orders_wins,
    reference_reward,
    tournament_reward,
    tournament_scores,
)
from rmr1_utils.runlog import read_log

from .conftest import DATA_DIR, run_rmr1
from .openai_test_server import OpenAITestServer


def _responses(request) -> tuple[str, str]:
    text = request["messages"][-1]["content"]
    a = text.split("[The Start of Chatbot A's Response]\n", 1)[1].split("\n[The End of Chatbot A's Response]", 1)[0]
    b = text.split("[The Start of Chatbot B's Response]\n", 1)[1].split("\n[The End of Chatbot B's Response]", 1)[0]
    return a, b


def prefers(marker: str, biased_to_a: bool = False):
    """A judge that prefers the response with more ``marker``; a tie gives no verdict (or A if biased)."""

    def reply(request):
        a, b = _responses(request)
        if a.count(marker) == b.count(marker):
            return ["<answer>[[A]]</answer>" if biased_to_a else "<eval>I cannot tell.</eval>"]
        return [f"<eval>…</eval>\n<answer>[[{'A' if a.count(marker) > b.count(marker) else 'B'}]]</answer>"]

    return reply


def prefers_density(marker: str):
    """A judge that prefers the response in which ``marker`` is denser (ties: no verdict)."""

    def reply(request):
        a, b = (r.count(marker) / max(1, len(r)) for r in _responses(request))
        return ["<eval>I cannot tell.</eval>" if a == b else f"<answer>[[{'A' if a > b else 'B'}]]</answer>"]

    return reply


@pytest.fixture
def judge_server():
    with OpenAITestServer(replies=prefers("GOOD")) as server:
        yield server


def _judge(server, **kw) -> PairwiseJudge:
    return PairwiseJudge(OpenAIBackend(server.url, "judge"), max_new_tokens=64, **kw)


def test_both_orders_cancel_a_position_bias():
    with OpenAITestServer(replies=prefers("GOOD", biased_to_a=True)) as server:
        judge = _judge(server)
        # Equal answers: the biased judge says A both times, so each side wins once.
        assert both_orders_wins(judge, [("Q?", "same", "same too")]) == [(1, 1)]
        assert both_orders_wins(judge, [("Q?", "GOOD", "bad")]) == [(2, 0)]


def test_reference_reward_and_caching(judge_server, tmp_path):
    judge = _judge(judge_server, cache_path=tmp_path / "cache.jsonl")
    reward = reference_reward(judge)
    prompts = [[{"role": "user", "content": "Say something good."}]] * 3
    completions = [[{"role": "assistant", "content": c}] for c in ("GOOD GOOD", "meh", "GOOD")]
    rewards = reward(prompts=prompts, completions=completions, reference=["GOOD", "GOOD", "GOOD"])
    assert rewards == [1.0, 0.0, 0.5]  # beats the reference both times / loses both / ties (no verdicts: ½ each)
    # 2 judgements per sample, but "GOOD" vs the reference "GOOD" reads the same in both orders:
    # the cache serves the second one.
    assert judge.calls == 5 and judge.hits == 1
    assert len(judge_server.requests) == 5
    again = reward(prompts=prompts, completions=completions, reference=["GOOD"] * 3)
    assert again == rewards and judge.calls == 5 and judge.hits == 7  # all from the cache
    reloaded = _judge(judge_server, cache_path=tmp_path / "cache.jsonl")
    assert reference_reward(reloaded)(prompts=prompts, completions=completions, reference=["GOOD"] * 3) == rewards
    assert reloaded.calls == 0 and len(judge_server.requests) == 5  # the disk cache answered
    with pytest.raises(DataError, match="reference"):
        reward(prompts=prompts, completions=completions)


def test_round_robin_scores_and_cost(judge_server):
    judge = _judge(judge_server)
    candidates = ["GOOD GOOD GOOD", "GOOD", "GOOD GOOD", "bad"]
    scores = tournament_scores(judge, "Q?", candidates, "round-robin")
    assert scores == [1.0, pytest.approx(1 / 3), pytest.approx(2 / 3), 0.0]
    assert judge.calls == 4 * 3  # G(G-1) judgements: every pair, both orders


def test_knockout_scores_cost_and_seed(judge_server):
    judge = _judge(judge_server)
    candidates = ["GOOD GOOD GOOD", "GOOD", "GOOD GOOD", "bad", "GOOD GOOD GOOD GOOD"]
    scores = tournament_scores(judge, "Q?", candidates, "knockout", seed=3)
    assert scores[4] == 1.0 and max(scores[:4]) < 1.0  # the strongest wins every round it plays
    assert judge.calls <= 2 * (len(candidates) - 1)  # 2 judgements per match, G-1 matches (a bye is free)
    assert tournament_scores(judge, "Q?", candidates, "knockout", seed=3) == scores  # seeded bracket
    index, _ = best_of_n(judge, "Q?", candidates, "knockout", seed=3)
    assert index == 4
    assert best_of_n(judge, "Q?", ["only"])[0] == 0


def test_tournament_reward_groups_by_prompt(judge_server):
    judge = _judge(judge_server)
    reward = tournament_reward(judge, "round-robin")
    p1 = [{"role": "user", "content": "one"}]
    p2 = [{"role": "user", "content": "two"}]
    prompts = [p1, p2, p1, p2]  # groups interleaved, as after TRL's shuffle
    completions = ["GOOD", "x", "y", "GOOD GOOD"]
    assert reward(prompts=prompts, completions=completions) == [1.0, 0.0, 0.0, 1.0]
    assert reward.__name__ == "reasrm_round_robin"


@pytest.mark.parametrize("mode", ["reasrm-reference", "reasrm-round-robin", "reasrm-knockout"])
def test_grpo_trains_a_policy_with_the_reasrm_reward(tmp_path, mode):
    from rmr1_utils import grpo

    with OpenAITestServer(replies=prefers_density("e")) as server:
        report = grpo.main([
            "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(tmp_path / "run"),
            "--dataset_path", str(DATA_DIR / "policy_prompts.jsonl"), "--max_train_samples", "4", "--max_steps", "2",
            "--max_completion_length", "12", "--learning_rate", "1e-3", "--reward_funcs", mode,
            "--reasrm_judge", "judge", "--reasrm_judge_url", server.url,
        ])  # fmt: skip
        requests = len(server.requests)
    steps = [h for h in report["log_history"] if "reward" in h]
    assert len(steps) == 2 and requests > 0
    assert all(0.0 <= h["reward"] <= 1.0 for h in steps)
    assert any(h["grad_norm"] > 0 for h in steps)  # the judge's preferences vary inside groups
    cached = read_log(tmp_path / "run" / "judgements.jsonl")
    assert len(cached) == requests  # every judgement generated once, and kept
    if mode == "reasrm-reference":
        assert requests <= 2 * 8 * 2  # ≤ 2 judgements per sample: 8 samples per step, 2 steps


def test_policy_prompts_dataset(tiny):
    from rmr1_utils.grpo import load_grpo_dataset

    _, tokenizer = tiny
    dataset, dropped = load_grpo_dataset(str(DATA_DIR / "policy_prompts.jsonl"), tokenizer, 4096)
    assert len(dataset) == 24 and dropped == 0
    row = dataset[0]
    assert row["prompt"][0]["role"] == "user" and row["reference"].startswith("Let's solve")


def test_best_of_n_cli(tmp_path):
    data = tmp_path / "candidates.jsonl"
    data.write_text(
        json.dumps({"prompt": "Which is good?", "candidates": ["bad", "GOOD GOOD", "GOOD"]}) + "\n"
        + json.dumps({"context": [{"role": "user", "content": "Again?"}], "candidates": ["GOOD", "no"]}) + "\n"
    )  # fmt: skip
    with OpenAITestServer(replies=prefers("GOOD")) as server:
        proc = run_rmr1("best-of-n", "--data", str(data), "--out", str(tmp_path / "picks.jsonl"), "--judge", "judge",
                        "--judge-url", server.url, "--tournament", "round-robin")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    picks = read_log(tmp_path / "picks.jsonl")
    assert [p["best"] for p in picks] == ["GOOD GOOD", "GOOD"] and picks[0]["scores"] == [0.0, 1.0, 0.5]
    assert [(p["decided"], p["tied"]) for p in picks] == [(True, [1]), (True, [0])]
    assert "judge calls 8" in proc.stdout and "undecided" not in proc.stdout  # 3·2 + 2·1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "x", "candidates": []}) + "\n")
    proc = run_rmr1("best-of-n", "--data", str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert proc.returncode == 2 and "record 1" in proc.stderr.strip().splitlines()[-1]


def test_best_of_n_cli_samples_candidates_from_a_policy(tmp_path):
    data = tmp_path / "prompts.jsonl"
    data.write_text(json.dumps({"prompt": "Name a colour."}) + "\n")
    with OpenAITestServer(replies=prefers("e")) as server:
        proc = run_rmr1("best-of-n", "--data", str(data), "--out", str(tmp_path / "picks.jsonl"), "--policy", "tiny-random",
                        "--n", "3", "--policy-max-new-tokens", "8", "--judge", "judge", "--judge-url", server.url)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (pick,) = read_log(tmp_path / "picks.jsonl")
    assert len(pick["candidates"]) == 3 and pick["best"] == pick["candidates"][pick["best_index"]]


# ---------------------------------------------------------------------------- a judge that gives no verdict

NO_VERDICT = "<eval>Both answers have merits; it is hard to say which one is better overall.</eval>"


def never_answers(request):
    """A judge that reasons but never reaches an ``<answer>`` tag."""
    return [NO_VERDICT]


def always_a(request):
    """A judge that always names the response shown first: position bias, no information."""
    return ["<answer>[[A]]</answer>"]


# GRPO groups of 2 to 5 samples (odd sizes: the knockout has byes), gibberish and empty ones included.
GROUPS = [
    ["Paris.", "The capital of France is Paris.", "asdf qwer zxcv", "", "Lyon"],
    ["1", "2"],
    ["x", "yy", "zzz"],
    ["gibberish ###", "a careful, correct answer", "another answer", "no"],
]


@pytest.fixture(params=["server-no-answer-tag", "server-always-A", "tiny-model-3-tokens"])
def undecided_judge(request, tiny):
    """Real judges that never decide anything: a server whose replies have no verdict, a
    position-biased server, and a real (random) model cut off at 3 tokens."""
    if request.param == "tiny-model-3-tokens":
        from rmr1_utils.generation import TransformersBackend

        yield PairwiseJudge(TransformersBackend(*tiny, batch_size=8), max_new_tokens=3)
        return
    with OpenAITestServer(replies=never_answers if request.param == "server-no-answer-tag" else always_a) as server:
        yield _judge(server)


def test_a_judge_that_never_decides_gives_every_sample_the_same_reward(undecided_judge):
    judge = undecided_judge
    verdicts = judge.judge([("Q?", "a", "b"), ("Q?", "b", "a")])
    assert verdicts in ([None, None], ["A", "A"])  # no verdict, or one that only reflects the position
    prompts = [[{"role": "user", "content": f"question {g}"}] for g, group in enumerate(GROUPS) for _ in group]
    completions = [[{"role": "assistant", "content": c}] for group in GROUPS for c in group]

    reference = reference_reward(judge)(prompts=prompts, completions=completions, reference=["Paris."] * len(prompts))
    assert set(reference) == {0.5}  # a tie with the reference for everyone: nobody gains on anybody
    round_robin = tournament_reward(judge, "round-robin")(prompts=prompts, completions=completions)
    assert set(round_robin) == {0.5}
    for seed in range(4):  # whatever the bracket: no coin decides a match the judge did not
        knockout = tournament_reward(judge, "knockout", seed=seed)(prompts=prompts, completions=completions)
        assert set(knockout) == {1.0}  # nobody is ever eliminated: everyone shares the champion's seat
        for group in GROUPS:
            index, scores = best_of_n(judge, "Q?", group, "knockout", seed=seed)
            assert index == 0 and best_candidates(scores) == list(range(len(group)))  # no preference


def test_knockout_ties_share_a_seat_and_decided_matches_still_count(judge_server):
    """Equal candidates (the judge gives no verdict between them) get equal scores, whatever the
    bracket, and the better ones still beat the worse."""
    judge = _judge(judge_server)
    candidates = ["bad", "GOOD", "worse", "GOOD also"]
    for seed in range(6):
        scores = tournament_scores(judge, "Q?", candidates, "knockout", seed=seed)
        assert scores[1] == scores[3] == 1.0 and scores[0] == scores[2] < 1.0
        index, _ = best_of_n(judge, "Q?", candidates, "knockout", seed=seed)
        assert index == 1 and best_candidates(scores) == [1, 3]  # two co-champions: not a decided pick
    # Round-robin, 6 judgements each: a GOOD wins 2 + 2 against the bad ones and ties its twin (½ + ½).
    assert tournament_scores(judge, "Q?", candidates, "round-robin") == pytest.approx([1 / 6, 5 / 6, 1 / 6, 5 / 6])


@pytest.mark.parametrize("tournament", ["knockout", "round-robin"])
def test_best_of_n_cli_flags_a_pick_the_judge_did_not_make(tmp_path, tournament):
    data = tmp_path / "candidates.jsonl"
    data.write_text(
        json.dumps({"prompt": "Which is good?", "candidates": ["zzz gibberish", "a real answer", "another", "no"]}) + "\n"
        + json.dumps({"prompt": "And this?", "candidates": ["###", "fine"]}) + "\n"
    )  # fmt: skip
    with OpenAITestServer(replies=never_answers) as server:
        proc = run_rmr1("best-of-n", "--data", str(data), "--out", str(tmp_path / "picks.jsonl"), "--judge", "judge",
                        "--judge-url", server.url, "--tournament", tournament)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    picks = read_log(tmp_path / "picks.jsonl")
    for pick in picks:
        n = len(pick["candidates"])
        assert len(set(pick["scores"])) == 1 and pick["best_index"] == 0  # the first, by convention, not by preference
        assert pick["decided"] is False and pick["tied"] == list(range(n))
    assert "no preference, tie between all of 4; kept 0" in proc.stdout
    assert "no preference, tie between all of 2; kept 0" in proc.stdout
    assert "2 of 2 picks undecided (ties)" in proc.stdout
