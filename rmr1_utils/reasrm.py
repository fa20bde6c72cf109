"""A trained ReasRM as the reward of policy training, and for best-of-N (``rmr1 best-of-n``).

RM-R1 trains a *pairwise* judge: it reads a question and two answers and names the better one. A
policy trainer wants a number per sample. Two ways to get one, both TRL reward functions (they
take ``prompts`` and ``completions`` and return one float each), batched through any generation
backend (transformers, vLLM, or an OpenAI-compatible server):

* **against a reference** (:func:`reference_reward`): each sample is judged against the dataset's
  reference answer in *both* orders (position bias cancels out); reward = wins / 2. Cost: 2 judge
  calls per sample.
* **groupwise** (:func:`tournament_reward`): the samples of one GRPO group (same prompt) play a
  tournament; reward = share of judgements won. ``round-robin``: every pair, both orders —
  G(G−1) calls per group, i.e. G−1 per sample (21 at the paper's G = 7); ``knockout``: a seeded
  bracket, each match judged in both orders — 2(G−1) calls per group, under 2 per sample, but the
  reward only ranks winners by how far they got.

Both go through :class:`PairwiseJudge`, which renders the byte-exact RM-R1 prompt, generates
greedily, parses the verdict with the evaluation rule, and **caches** every judgement by content
(optionally on disk): repeated samples, which small policies produce a lot, and repeated epochs
are judged once.

**A judgement without a verdict is a tie** — half a win to each side — in every mode, and so is a
match the two orders split (a position-biased judge). A judge that never decides therefore gives
every sample the same reward, which is no signal (GRPO's group advantage is zero), never a false
one: a knockout match with no decision does not eliminate anyone, the two candidates go on
sharing one seat of the bracket (see :func:`tournament_scores`), and nothing is left to chance.

:func:`best_of_n` picks one of N candidates by the same tournaments, for inference, and says when
the pick was not decided (:func:`best_candidates`).

How we differ from the paper: RM-R1 evaluates its judges on reward-model benchmarks and does not
train policies with them; this module is the course's answer to how one would (RM-R1 issue 5,
TRL issue 4707 on groupwise judge rewards).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.data import pair_to_judge_task, read_jsonl
from rmr1_utils.errors import DataError
from rmr1_utils.generation import BACKENDS, SamplingParams, backend_for
from rmr1_utils.judgement import parse_judgement
from rmr1_utils.rewards import completion_text
from rmr1_utils.runlog import RunLog, file_fingerprint, generate_into_log, model_identity
from rmr1_utils.stage import (
    add_endpoint_arguments,
    data_path,
    endpoint_options,
    http_url,
    non_negative_float,
    non_negative_int,
    output_file,
    parse_stage_args,
    positive_int,
    stage_parser,
)

TOURNAMENTS = ("round-robin", "knockout")


def _question_of(prompt) -> dict:
    """A pair's question fields from a TRL prompt (a string or chat messages)."""
    if isinstance(prompt, str):
        return {"prompt": prompt}
    messages = [m for m in prompt if m["role"] != "system"]  # the policy's own system prompt is not the question
    return {"context": [{"role": m["role"], "content": m["content"]} for m in messages]}


class PairwiseJudge:
    """A ReasRM answering "which of these two is better?", batched and cached.

    Args:
        backend: a :class:`~rmr1_utils.generation.GenerationBackend` running the judge.
        max_new_tokens: the judgement's length cap (a judgement cut before its verdict is a tie).
        style: RM-R1 prompt style (``instruct`` or ``reasoning``).
        verdict_rule: how verdicts are read (:data:`rmr1_utils.judgement.VERDICT_RULES`).
        cache_path: a JSONL run log that keeps judgements across runs (``None``: memory only). It
            records the judge's identity (model, length cap, style, verdict rule): a cache written
            by another judge stops with one line instead of answering for it.
        restart: set an existing cache aside (``<cache>.old-<n>``) and start afresh.
        chunk_size: judgements generated and logged together (a kill loses at most one chunk).

    Attributes:
        calls: judgements generated (cache misses). ``hits``: judgements served from the cache.
    """

    #: The cache's identity stage (a subclass judging another prompt names its own, so one cache
    #: file never answers for the other kind of judgement).
    stage = "pairwise-judge"

    def __init__(self, backend, max_new_tokens: int = 512, style: str = "instruct", verdict_rule: str = "rmr1-eval",
                 cache_path: str | Path | None = None, restart: bool = False, chunk_size: int = 64):  # fmt: skip
        self.backend = backend
        self.max_new_tokens = max_new_tokens
        self.style = style
        self.verdict_rule = verdict_rule
        self.chunk_size = chunk_size
        self.cache_path = Path(cache_path) if cache_path else None
        identity = {
            "stage": self.stage, "judge": model_identity(backend), "max_new_tokens": max_new_tokens,
            "style": style, "verdict_rule": verdict_rule,
        }  # fmt: skip
        self.log = RunLog(self.cache_path, identity, restart=restart, what="--restart (or another --cache)")
        self.cache: dict[str, str | None] = {r["key"]: r["verdict"] for r in self.log.records}
        self.calls = 0
        self.hits = 0

    def _key(self, messages: list[dict]) -> str:
        text = json.dumps([self.style, self.verdict_rule, self.max_new_tokens, messages], ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def judge(self, comparisons: Sequence[tuple]) -> list[str | None]:
        """Verdicts for ``(prompt, response_a, response_b)`` triples: ``"A"``, ``"B"`` or ``None``.

        Args:
            comparisons: the prompt (a string or chat messages) and the two responses, in the
                order they are shown.

        Returns:
            One verdict per comparison.
        """
        tasks = [
            pair_to_judge_task({"id": "judged", **_question_of(p), "chosen": a, "rejected": b}, "A", style=self.style)["messages"]
            for p, a, b in comparisons
        ]
        return self.generate_parsed(tasks, lambda text: parse_judgement(text, verdict_rule=self.verdict_rule).verdict)

    def generate_parsed(self, tasks: Sequence[list[dict]], parse) -> list:
        """What ``parse`` reads in the judge's greedy answer to each prompt, cached by content.

        Args:
            tasks: the chat messages of each prompt.
            parse: completion text → the value kept (a verdict, a rating; None when unreadable).

        Returns:
            One parsed value per prompt (a repeated prompt is generated once).
        """
        keys = [self._key(m) for m in tasks]
        todo = {}
        for key, messages in zip(keys, tasks):
            if key not in self.cache and key not in todo:
                todo[key] = messages
        self.hits += len(keys) - len(todo)
        if todo:

            def records_of(key: str, completions: list) -> list[dict]:
                return [{"key": key, "verdict": parse(completions[0].text)}]

            new = generate_into_log(
                self.backend, list(todo), todo.__getitem__, records_of, self.log,
                SamplingParams(max_new_tokens=self.max_new_tokens), chunk_size=self.chunk_size, progress=False,
            )  # fmt: skip
            self.calls += len(new)
            self.cache.update({r["key"]: r["verdict"] for r in new})
        return [self.cache[key] for key in keys]


def _shares(verdict: str | None) -> tuple[float, float]:
    """(share of the response shown as A, share of B) of one judgement: 1/0, 0/1, or ½/½ with no verdict."""
    if verdict == "A":
        return 1.0, 0.0
    if verdict == "B":
        return 0.0, 1.0
    # No verdict (cut off, no <answer> tag, unparsable): the judge said nothing about the pair, so
    # neither side may gain on the other. Zero to both would also be equal, but it would drag a
    # sample judged against a reference below one the judge actually found equal.
    return 0.5, 0.5


def both_orders_wins(judge: PairwiseJudge, matches: Sequence[tuple]) -> list[tuple[float, float]]:
    """Each ``(prompt, x, y)`` judged as (x, y) and as (y, x).

    Args:
        judge: the pairwise judge.
        matches: ``(prompt, x, y)`` triples.

    Returns:
        ``(wins of x, wins of y)`` per match, out of 2 judgements; a judgement without a verdict
        gives each side ½, so the two always sum to 2.
    """
    comparisons = []
    for prompt, x, y in matches:
        comparisons += [(prompt, x, y), (prompt, y, x)]
    verdicts = judge.judge(comparisons)
    wins = []
    for k in range(len(matches)):
        x_first, y_first = _shares(verdicts[2 * k])  # x shown as A
        y_second, x_second = _shares(verdicts[2 * k + 1])  # y shown as A
        wins.append((x_first + x_second, y_first + y_second))
    return wins


def _prompt_key(prompt) -> str:
    return json.dumps(prompt, sort_keys=True, ensure_ascii=False)


def tournament_scores(
    judge: PairwiseJudge, prompt, candidates: Sequence[str], mode: str = "round-robin", seed: int = 0
) -> list[float]:
    """Scores in [0, 1] for the candidates answering one prompt, from a tournament.

    A judgement without a verdict is half a win to each side, so a judge that never decides gives
    every candidate the same score in both modes (0.5 in round-robin, 1 in knockout).

    Knockout: the seeded bracket pairs the seats of each round; a seat holds one candidate at the
    start. The winner of a match (more of its two judgements won) goes on, the loser is out. A
    match with no winner (1–1: no verdicts, or the orders split) eliminates nobody and decides
    nothing between the two, so both go on *sharing one seat*: the seat plays later rounds
    through its first candidate and every candidate in it shares the result. A coin would instead
    hand one of them a reward the judge never gave. The bracket still shrinks as usual (every
    match leaves one seat), so the cost stays 2(G−1) judgements.

    Args:
        judge: the pairwise judge.
        prompt: the prompt the candidates answer.
        candidates: the answers.
        mode: ``round-robin`` (share of all judgements won) or ``knockout`` (share of the rounds
            survived; the champions score 1).
        seed: the bracket seed (knockout).

    Returns:
        One score per candidate.
    """
    n = len(candidates)
    if n == 1:
        return [1.0]
    if mode == "round-robin":
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        won = [0.0] * n
        for (i, j), (wi, wj) in zip(pairs, both_orders_wins(judge, [(prompt, candidates[i], candidates[j]) for i, j in pairs])):
            won[i] += wi
            won[j] += wj
        return [w / (2 * (n - 1)) for w in won]
    if mode != "knockout":
        raise ValueError(f"unknown tournament {mode!r}: expected one of {', '.join(TOURNAMENTS)}")
    order = list(range(n))
    random.Random(f"{seed}:{n}").shuffle(order)
    seats = [[i] for i in order]  # candidates that share a seat share every result
    rounds_won = [0] * n
    total_rounds = 0
    while len(seats) > 1:
        total_rounds += 1
        matches = [(seats[k], seats[k + 1]) for k in range(0, len(seats) - 1, 2)]
        survivors = [seats[-1]] if len(seats) % 2 else []  # a bye
        results = both_orders_wins(judge, [(prompt, candidates[s[0]], candidates[t[0]]) for s, t in matches])
        for (s, t), (ws, wt) in zip(matches, results):
            survivors.append(s if ws > wt else t if wt > ws else s + t)  # no decision: one seat for both
        for seat in survivors:
            for i in seat:
                rounds_won[i] += 1
        seats = survivors
    return [r / total_rounds for r in rounds_won]


def reference_reward(judge: PairwiseJudge, reference_column: str = "reference"):
    """A TRL reward function: each completion judged against the reference answer, both orders.

    Args:
        judge: the pairwise judge.
        reference_column: the dataset column holding the reference answer.

    Returns:
        ``reward(prompts, completions, **columns) -> list[float]`` (wins / 2, in [0, 1]).
    """

    def reasrm_vs_reference(prompts, completions, **columns) -> list[float]:
        if reference_column not in columns:
            raise DataError(f"reference reward: the dataset has no {reference_column!r} column")
        references = columns[reference_column]
        matches = [(p, completion_text(c), r) for p, c, r in zip(prompts, completions, references)]
        return [wins / 2 for wins, _ in both_orders_wins(judge, matches)]

    return reasrm_vs_reference


def tournament_reward(judge: PairwiseJudge, mode: str = "round-robin", seed: int = 0):
    """A TRL reward function: the samples of each prompt play a tournament (GRPO groupwise).

    Samples are grouped by identical prompt, wherever they sit in the batch.

    Args:
        judge: the pairwise judge.
        mode: ``round-robin`` or ``knockout`` (see :func:`tournament_scores`).
        seed: bracket and tie-break seed.

    Returns:
        ``reward(prompts, completions, **columns) -> list[float]`` in [0, 1].
    """
    if mode not in TOURNAMENTS:
        raise ValueError(f"unknown tournament {mode!r}: expected one of {', '.join(TOURNAMENTS)}")

    def reasrm_tournament(prompts, completions, **columns) -> list[float]:
        groups: dict[str, list[int]] = {}
        for k, p in enumerate(prompts):
            groups.setdefault(_prompt_key(p), []).append(k)
        rewards = [0.0] * len(completions)
        for rows in groups.values():
            scores = tournament_scores(judge, prompts[rows[0]], [completion_text(completions[k]) for k in rows], mode, seed)
            for k, score in zip(rows, scores):
                rewards[k] = score
        return rewards

    reasrm_tournament.__name__ = f"reasrm_{mode.replace('-', '_')}"
    return reasrm_tournament


def best_candidates(scores: Sequence[float]) -> list[int]:
    """The candidates sharing the top score, in order; the pick was decided only when there is one.

    Args:
        scores: tournament scores (:func:`tournament_scores`).

    Returns:
        Their indices; all of them when the judge decided nothing (every score equal).
    """
    top = max(scores)
    return [k for k, s in enumerate(scores) if s == top]


def best_of_n(
    judge: PairwiseJudge, prompt, candidates: Sequence[str], mode: str = "knockout", seed: int = 0
) -> tuple[int, list[float]]:
    """The best of N candidates by tournament (ties: the earliest candidate).

    A tie at the top is not a preference: ``best_candidates(scores)`` lists every candidate that
    shares the top score, and a pick is decided only when that list has one entry (with a judge
    that never gives a verdict it has all of them, and the pick is just the first candidate).

    Args:
        judge: the pairwise judge.
        prompt: the prompt the candidates answer.
        candidates: the answers (at least one).
        mode: ``knockout`` or ``round-robin``.
        seed: the bracket seed (knockout).

    Returns:
        ``(index of the best, scores)``.
    """
    if not candidates:
        raise ValueError("best_of_n needs at least one candidate")
    scores = tournament_scores(judge, prompt, candidates, mode, seed)
    return best_candidates(scores)[0], scores


# ---------------------------------------------------------------------------------------------
# rmr1 best-of-n
# ---------------------------------------------------------------------------------------------


def load_candidates(path: str | Path) -> list[dict]:
    """Records with ``prompt`` (string) or ``context`` (messages), and optionally ``candidates``.

    Raises:
        DataError: a record without a prompt or with an empty candidate list (file and record named).
    """
    records = read_jsonl(path)
    if not records:
        raise DataError(f"{path}: no records")
    for k, r in enumerate(records, 1):
        if "prompt" not in r and "context" not in r:
            raise DataError(f"{path}: record {k}: needs 'prompt' or 'context'")
        candidates = r.get("candidates")
        if "candidates" in r and (
            not isinstance(candidates, list) or not candidates or not all(isinstance(c, str) for c in candidates)
        ):
            raise DataError(f"{path}: record {k}: 'candidates' must be a non-empty list of strings")
        prompt = r.get("prompt", r.get("context"))
        if not (isinstance(prompt, str) and prompt.strip()) and not (
            isinstance(prompt, list) and prompt and all(isinstance(m, dict) and {"role", "content"} <= set(m) for m in prompt)
        ):
            raise DataError(f"{path}: record {k}: 'prompt' must be a non-empty string, or 'context' a list of messages")
    return records


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 best-of-n``."""
    parser = stage_parser(subparsers, "best-of-n", "Pick the best of N answers per prompt with a ReasRM tournament.")
    parser.add_argument(
        "--data", type=data_path, required=True, help="JSONL: prompt or context, and candidates (or use --policy)"
    )
    parser.add_argument(
        "--out", type=output_file, required=True, help="run log of the picks (JSONL, one per prompt, written as they come)"
    )
    parser.add_argument("--judge", default="embedded", help="the ReasRM (model name/folder, or the served model name)")
    parser.add_argument("--judge-url", type=http_url, help="an OpenAI-compatible server running the judge")
    parser.add_argument("--backend", choices=("auto", *BACKENDS), default="auto")
    parser.add_argument("--tournament", choices=TOURNAMENTS, default="knockout")
    parser.add_argument("--policy", help="sample the candidates from this model instead of reading them")
    parser.add_argument("--n", type=positive_int, default=4, help="candidates per prompt with --policy")
    parser.add_argument("--temperature", type=non_negative_float, default=1.0, help="--policy sampling temperature")
    parser.add_argument("--policy-max-new-tokens", type=positive_int, default=256)
    parser.add_argument("--max-new-tokens", type=positive_int, default=512, help="judgement length cap")
    parser.add_argument(
        "--cache", type=output_file, help="JSONL judgement cache kept across runs (default: <out>.judgements.jsonl)"
    )
    parser.add_argument("--restart", action="store_true", help="set existing --out and --cache logs aside and start afresh")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--quiet", action="store_true")
    add_endpoint_arguments(parser, "judge endpoint")
    return parser


def main(args=None) -> list[dict]:
    """Entry point of ``rmr1 best-of-n``: one pick per prompt, appended to the ``--out`` run log.

    Picks and judgements are written as they are made: a rerun with the same ``--out`` resumes
    (candidates sampled with ``--policy`` are logged with their pick, so a resumed run does not
    sample them again), and a log of another run (other data, judge, tournament, seed) stops.

    Returns:
        ``{"key", "record", "prompt"/"context", "candidates", "scores", "best", "best_index", "decided",
        "tied"}`` per record: ``decided`` is false when several candidates share the top score
        (``tied``, their indices; all of them when the judge gave no verdict), and ``best_index`` is
        then merely the first of them, not a preference.
    """
    args = parse_stage_args(args, make_parser)
    records = load_candidates(args.data)
    if not args.policy:
        missing = [k for k, r in enumerate(records, 1) if not r.get("candidates")]
        if missing:
            raise DataError(f"{args.data}: record {missing[0]}: no candidates (add a 'candidates' list or pass --policy)")
    options = endpoint_options(args, args.judge_url) if args.judge_url else {}
    backend = "openai" if args.judge_url else args.backend
    engine = backend_for(backend, args.judge, len(records), args.max_new_tokens, **options)
    identity = {
        "stage": "best-of-n", "data": file_fingerprint(args.data), "judge": engine.identity(), "tournament": args.tournament,
        "seed": args.seed, "max_new_tokens": args.max_new_tokens,
        "policy": None if not args.policy else {"model": args.policy, "n": args.n, "temperature": args.temperature,
                                                "max_new_tokens": args.policy_max_new_tokens},
    }  # fmt: skip
    picks_log = RunLog(args.out, identity, restart=args.restart)
    judge = PairwiseJudge(engine, max_new_tokens=args.max_new_tokens, cache_path=args.cache or f"{args.out}.judgements.jsonl",
                          restart=args.restart)  # fmt: skip
    todo = [(k, r) for k, r in enumerate(records, 1) if f"record-{k}" not in picks_log.keys]
    if args.policy and todo:
        policy = backend_for("transformers", args.policy)
        questions = [[{"role": "user", "content": r["prompt"]}] if "prompt" in r else r["context"] for _, r in todo]
        params = SamplingParams(n=args.n, temperature=args.temperature, max_new_tokens=args.policy_max_new_tokens, seed=args.seed)
        for (_, r), outs in zip(todo, policy.generate(questions, params, progress=not args.quiet)):
            r["candidates"] = [o.text for o in outs]
    for k, r in todo:
        prompt = r.get("prompt") or r["context"]
        index, scores = best_of_n(judge, prompt, r["candidates"], args.tournament, args.seed)
        tied = best_candidates(scores)
        picks_log.append([{"key": f"record-{k}", "record": k, **r, "scores": scores, "best_index": index,
                           "best": r["candidates"][index], "decided": len(tied) == 1, "tied": tied}])  # fmt: skip
    picks = picks_log.records
    if not args.quiet:
        for p in picks:
            question = p.get("prompt") or p["context"][-1]["content"]
            shown = [round(s, 2) for s in p["scores"]]
            n = len(p["candidates"])
            if p["decided"]:
                print(f"{question[:60]!r}: best {p['best_index']} of {n} (scores {shown})")
            else:
                tied = "all" if len(p["tied"]) == n else ", ".join(map(str, p["tied"]))
                print(f"{question[:60]!r}: no preference, tie between {tied} of {n}; kept {p['best_index']} (scores {shown})")
        undecided = sum(not p["decided"] for p in picks)
        note = f"; {undecided} of {len(picks)} picks undecided (ties)" if undecided else ""
        print(f"judge calls {judge.calls}, cache hits {judge.hits}{note}; wrote {args.out}")
    return picks
