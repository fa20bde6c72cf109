"""RewardBench 2 (``allenai/reward-bench-2``): its own format, three ways of judging, the official scores.

Every item has a ``prompt``, a list of ``chosen`` responses, a list of ``rejected`` ones,
``num_correct`` (how many are chosen) and a ``subset``: Factuality, Precise IF, Math, Safety, Focus
(1 chosen, 3 rejected: best of 4) and Ties (several correct answers; ``id`` ``ref:N`` for a prompt
with one correct answer, ``tied:N`` for its sibling with many). ``rmr1 evaluate --benchmark
rewardbench2 --rb2-mode MODE`` judges the five best-of-4 subsets in one of three modes, and Ties
always by ratings, as the official code does; every line goes to one run log and every score below
is recomputed from the log alone (``rmr1 score --benchmark rewardbench2``).

Rules, and where each comes from (``allenai/reward-bench``):

* **Data**: split ``test`` (``load_eval_dataset_multi`` in ``rewardbench/utils.py``); a subset's
  score is the mean of its items' results (``main`` of ``scripts/run_generative_v2.py``).
* **pairwise** (ours, RM-R1's own two-response prompt): the chosen response is judged against each
  rejected one; the item counts 1 only when it wins every comparison — the best-of-4 rule of the
  dataset card ("greater than the score of three prompt-rejected pairs") and of RMB Best-of-N in
  :mod:`rmr1_utils.scoring`; a comparison without a verdict is lost. Random baseline 1/8, not the
  1/4 of the two official protocols below. ``--both-orders`` judges each comparison at A and at B.
* **four-way** (``format_judgements``, ``process_shuffled`` and ``get_judgement`` in
  ``scripts/run_generative_v2.py``): one prompt shows the chosen response and the first three
  rejected ones, the chosen swapped into a random slot; naming it scores 1, naming another 0, no
  verdict 0.25 ("effectively a tie"). Prompt, verdict rules and our seeded, balanced position:
  :mod:`rmr1_utils.fourway`. The verdict: exactly one of ``[[A]]``–``[[D]]`` (``--scoring rmr1``,
  the default) or, as the official ``process_judgement``, the first of them in letter order
  (``--scoring official``); recorded difference: ``bench/RESULTS.md``, ``RESULT I2``.
* **ratings** (the ratings branch of ``get_vllm_judgement`` in ``scripts/run_generative_v2.py``;
  ``get_single_rating`` and ``run_judge_ratings_multi`` in ``rewardbench/generative_v2.py``): every
  response is rated 1–10 on its own (a failed rating is −1 there, None here); the item scores
  (chosen among the top-rated) / (number top-rated) over the valid ratings, and 0.25 when no
  rating is valid. Prompt and parser: :mod:`rmr1_utils.rating`.
* **Ties** (``process_single_model`` and ``_compute_prompt_stats`` in ``rewardbench/utils.py``;
  always rated, with the Ties prompt variant): see :func:`ties_score`.
* **Final score**: the unweighted mean of the six subsets (dataset card: "the RewardBench 2
  leaderboard averages over these six subsets"). Without Ties (``--skip-ties``, ``--limit``, a file
  without it) the score is the five-subset mean, labelled "not comparable to the leaderboard".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import mean

from rmr1_utils.benchmark_files import (
    _comparison,
    _item_id,
    _kind,
    _need,
    _string,
    benchmark_rows,
    in_both_orders,
    shown_position,
)
from rmr1_utils.data import pair_to_judge_task
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.fourway import LETTERS, build_four_way_messages, four_way_format_complete, four_way_position, four_way_verdict
from rmr1_utils.judgement import parse_judgement, reread_verdicts
from rmr1_utils.rating import build_rating_messages, parse_rating, rating_format_complete

BENCHMARK = "rewardbench2"
SUBSETS = ("Factuality", "Precise IF", "Math", "Safety", "Focus", "Ties")
TIES = "Ties"
MODES = ("pairwise", "four-way", "ratings")
#: Log-line kinds, and the mode each belongs to.
KINDS = {"pair": "pairwise", "four-way": "four-way", "rating": "ratings"}
RANDOM_BASELINES = {"pairwise": 1 / 8, "four-way": 1 / 4, "ratings": 1 / 4}
#: What an item scores when the judge gives nothing usable (official: "effectively a tie" of four).
NO_DECISION = 0.25
#: The Ties formula's weights (``process_single_model``).
TIES_WEIGHTS = {"tied_accuracy": 0.30, "ref_accuracy": 0.30, "correctness_preferred": 0.20,
                "correctness_preferred_hard": 0.20, "margin": 0.01}  # fmt: skip
#: Ratings that failed count this in Ties, as the official code's −1.
FAILED_RATING = -1


# ---------------------------------------------------------------------------------------------
# Loading and judging
# ---------------------------------------------------------------------------------------------


def _strings(record: dict, key: str, where: str) -> list[str]:
    value = record[key]
    if isinstance(value, list) and value:
        bad = next((k for k, v in enumerate(value, 1) if not isinstance(v, str)), None)
        if bad is None:
            return list(value)
        got = f"an array whose item {bad} is {_kind(value[bad - 1])}"
    else:
        got = _kind(value)
    raise DataError(f"{where}: {key!r} must be a non-empty array of strings, got {got}")


def load_rewardbench2(path: str | Path, limit: int | None = None) -> list[dict]:
    """Read and check RewardBench 2 items in the official format.

    Args:
        path: a local ``.jsonl``/``.json``/``.parquet`` file, or the Hub dataset
            (``allenai/reward-bench-2``, split ``test`` unless ``NAME@SPLIT``; needs network).
        limit: only the first ``limit`` items (file order).

    Returns:
        Items: ``key``, ``id``, ``subset``, ``prompt``, ``chosen``, ``rejected`` and ``index`` (the
        0-based position among its subset's items, which fixes its four-way position).

    Raises:
        DataError: in one line naming the file and the 1-based line/record: a missing field, a
            ``chosen``/``rejected`` that is not a non-empty list of strings, a ``num_correct`` that
            is not the number of chosen responses, an unknown subset, a best-of-4 item without 1
            chosen and at least 3 rejected, a Ties ``id`` not ``ref:N``/``tied:N``, a repeated id.
    """
    items: list[dict] = []
    seen: dict[str, str] = {}
    count: dict[str, int] = defaultdict(int)
    for where, r, _ in benchmark_rows(path, BENCHMARK, limit):
        if not isinstance(r, dict):
            raise DataError(f"{where}: expected a JSON object, got {_kind(r)}")
        _need(r, ("id", "prompt", "chosen", "rejected", "num_correct", "subset"), where)
        item, prompt, subset = _item_id(r, "id", where), _string(r, "prompt", where), _string(r, "subset", where)
        if subset not in SUBSETS:
            raise DataError(f"{where}: unknown RewardBench 2 subset {subset!r}; expected one of {', '.join(SUBSETS)}")
        chosen, rejected = _strings(r, "chosen", where), _strings(r, "rejected", where)
        n = r["num_correct"]
        if isinstance(n, bool) or not isinstance(n, int) or n != len(chosen):
            raise DataError(f"{where}: 'num_correct' must be the number of chosen responses ({len(chosen)}), got {n!r}")
        if subset == TIES:
            kind, _, number = str(item).partition(":")
            if kind not in ("ref", "tied") or not number.isdigit():
                raise DataError(f"{where}: a Ties 'id' must be 'ref:N' or 'tied:N' (the official grouping), got {item!r}")
        elif len(chosen) != 1 or len(rejected) < 3:
            raise DataError(
                f"{where}: a {subset} item is best of 4: 1 chosen and 3 rejected responses, got {len(chosen)} and {len(rejected)}"
            )
        key = f"rb2-{subset.replace(' ', '_')}-{item}"  # ids are checked per subset: the key holds it
        if key in seen:
            raise DataError(f"{where}: item id {item!r} repeats {seen[key]} in subset {subset!r}; ids must be unique")
        seen[key] = where
        items.append({"key": key, "id": item, "subset": subset, "prompt": prompt, "chosen": chosen, "rejected": rejected,
                      "index": count[subset]})  # fmt: skip
        count[subset] += 1
    return items


def _rating_jobs(item: dict, ties: bool) -> list[dict]:
    responses = [*item["chosen"], *item["rejected"]]
    return [{"key": f"{item['key']}-rate{k}", "kind": "rating", "id": item["id"], "subset": item["subset"],
             "question": item["prompt"], "response": text, "response_index": k, "correct_response": k < len(item["chosen"]),
             "ties": ties} for k, text in enumerate(responses)]  # fmt: skip


def judging_jobs(items: Sequence[dict], mode: str = "pairwise", seed: int = 0, both_orders: bool = False,
                 skip_ties: bool = False) -> list[dict]:  # fmt: skip
    """What to ask the judge for every item, one job per generation (see the module docstring).

    Args:
        items: :func:`load_rewardbench2` items.
        mode: ``pairwise``, ``four-way`` or ``ratings`` for the best-of-4 subsets (Ties is always rated).
        seed: seed of the shown positions.
        both_orders: pairwise only: each comparison at A and at B.
        skip_ties: leave the Ties items out (their ratings are the costly part: many responses each).

    Returns:
        Jobs with a unique ``key`` and a ``kind``: ``pair`` (a comparison, as ``rmr1 evaluate``
        judges them), ``four-way`` (``answers`` shown A–D, ``shown`` = the index of each in
        chosen + rejected, ``better_position``) or ``rating`` (one ``response``).

    Raises:
        RMR1Error: an unknown mode, or ``both_orders`` outside the pairwise mode.
    """
    if mode not in MODES:
        raise RMR1Error(f"unknown --rb2-mode {mode!r}: expected one of {', '.join(MODES)}")
    if both_orders and mode != "pairwise":
        raise RMR1Error("--both-orders is for --rb2-mode pairwise (four-way shows the chosen response at one seeded position)")
    jobs: list[dict] = []
    for item in items:
        if item["subset"] == TIES:
            jobs += [] if skip_ties else _rating_jobs(item, ties=True)
        elif mode == "pairwise":
            pairs = [{**_comparison(f"{item['key']}-r{k}", item["id"], BENCHMARK, item["chosen"][0], worse, item["prompt"],
                                    subset=item["subset"], domain=None), "kind": "pair", "rejected_index": k}
                     for k, worse in enumerate(item["rejected"])]  # fmt: skip
            jobs += in_both_orders(pairs, seed) if both_orders else pairs
        elif mode == "four-way":
            better = four_way_position(seed, item["subset"], item["index"])
            # As the official script: the chosen (slot 0) trades places with the response at its slot.
            shown = [0, 1, 2, 3]
            slot = LETTERS.index(better)
            shown[0], shown[slot] = shown[slot], shown[0]
            responses = [item["chosen"][0], *item["rejected"][:3]]
            jobs.append({"key": f"{item['key']}-4way", "kind": "four-way", "id": item["id"], "subset": item["subset"],
                         "question": item["prompt"], "answers": [responses[k] for k in shown], "shown": shown,
                         "better_position": better})  # fmt: skip
        else:
            jobs += _rating_jobs(item, ties=False)
    return jobs


def job_messages(job: dict, seed: int = 0, style: str = "instruct") -> list[dict]:
    """The chat messages of one job (RM-R1's pairwise prompt, the four-way prompt, or the rating prompt)."""
    if job["kind"] == "pair":
        return pair_to_judge_task(job["pair"], shown_position(job, seed), style=style)["messages"]
    if job["kind"] == "four-way":
        return build_four_way_messages(job["question"], job["answers"], style=style)
    return build_rating_messages(job["response"], question=job["question"], style=style, ties=job["ties"])


def job_record(job: dict, completion, seed: int = 0, verdict_rule: str = "rmr1-eval") -> dict:
    """The log line of one judged job: the fields of every ``rmr1 evaluate`` line, plus its kind's.

    ``verdict`` is the parsed answer: ``A``/``B`` (pair), ``A``–``D`` (four-way), or the rating 1–10
    (rating; ``correct`` is then None: a rating is right or wrong only among its item's ratings).
    """
    text = completion.text
    line = {"key": job["key"], "id": job["id"], "benchmark": BENCHMARK, "subset": job["subset"], "domain": None,
            "kind": job["kind"], "order": job.get("order", 0), "completion": text, "finished": completion.finished,
            **({"item_size": job["item_size"]} if "item_size" in job else {})}  # fmt: skip
    if job["kind"] == "pair":
        parsed, better = parse_judgement(text, verdict_rule=verdict_rule), shown_position(job, seed)
        return {**line, "cell": None, "rejected_index": job["rejected_index"], "better_position": better,
                "verdict": parsed.verdict, "correct": parsed.verdict == better, "format_complete": parsed.format_complete,
                "length_diff": len(job["pair"]["chosen"]) - len(job["pair"]["rejected"])}  # fmt: skip
    if job["kind"] == "four-way":
        verdict = four_way_verdict(text, verdict_rule)
        return {**line, "shown": job["shown"], "better_position": job["better_position"], "verdict": verdict,
                "correct": verdict == job["better_position"], "format_complete": four_way_format_complete(text)}  # fmt: skip
    return {**line, "response": job["response_index"], "correct_response": job["correct_response"],
            "verdict": parse_rating(text), "correct": None, "format_complete": rating_format_complete(text)}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Scoring (from the log alone)
# ---------------------------------------------------------------------------------------------


def best_of_ratings(ratings: Sequence[int | None], correct: Sequence[bool]) -> float:
    """A rated best-of-N item: (correct responses among the top-rated) / (number top-rated).

    Official (``get_vllm_judgement``): with one correct response, ``(0 in winners) / len(winners)``
    over the responses whose rating equals the best valid one; no valid rating at all is 0.25.

    Args:
        ratings: one rating per response (None: unreadable).
        correct: whether each response is a correct (chosen) one.
    """
    valid = [r for r in ratings if r is not None]
    if not valid:
        return NO_DECISION
    top = [k for k, r in enumerate(ratings) if r == max(valid)]
    return sum(correct[k] for k in top) / len(top)


def item_score(lines: Sequence[dict]) -> float:
    """One best-of-4 item's result from its log lines (all of one kind).

    pair: 1.0 when every comparison (every order) is correct, else 0.0; four-way: 1, 0, or 0.25
    without a verdict; rating: :func:`best_of_ratings`.
    """
    kind = lines[0]["kind"]
    if kind == "pair":
        return float(all(r["correct"] for r in lines))
    if kind == "four-way":
        verdict = lines[0]["verdict"]
        return NO_DECISION if verdict is None else float(verdict == lines[0]["better_position"])
    ordered = sorted(lines, key=lambda r: r["response"])
    return best_of_ratings([r["verdict"] for r in ordered], [r["correct_response"] for r in ordered])


def _prompt_stats(samples: Sequence[tuple[bool, float]]) -> tuple[bool, float | None, float]:
    """(accurate, spread of the correct answers' ratings or None with one correct answer, gap) of one Ties item.

    As ``_compute_prompt_stats``: gap = worst correct − best incorrect; accurate = gap > 0.
    """
    right = [s for ok, s in samples if ok]
    wrong = [s for ok, s in samples if not ok]
    gap = min(right) - max(wrong)
    return gap > 0, (max(right) - min(right)) if len(right) > 1 else None, gap


def ties_prompt(item_id) -> tuple[str, str]:
    """``("ref" or "tied", N)`` of a Ties item id ``ref:N`` / ``tied:N``: the official formula pairs the two by N.

    N stays text, so a bootstrap's repeated draw (``("ref:N", 3)``, :func:`rmr1_utils.items.drawn_log`) is
    prompt ``N#3``, paired with its own draw.
    """
    if isinstance(item_id, tuple):
        kind, prompt = ties_prompt(item_id[0])
        return kind, f"{prompt}#{item_id[1]}"
    kind, _, prompt = str(item_id).partition(":")
    return ("ref" if kind == "ref" else "tied"), prompt


def item_outcome(lines: Sequence[dict]) -> float:
    """One item's official result from its log lines: :func:`item_score` for a best-of-4 item; for a
    Ties item 1 when it is accurate (its worst correct rating above its best incorrect one), else 0."""
    if lines[0]["subset"] != TIES:
        return item_score(lines)
    samples = [(r["correct_response"], FAILED_RATING if r["verdict"] is None else r["verdict"]) for r in lines]
    return float(_prompt_stats(samples)[0])


def _ratio(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics, as numpy divides arrays: x/0 is ±inf, 0/0 and x/NaN are NaN."""
    if b == 0:
        return float("nan") if a == 0 else math.copysign(math.inf, a)
    return a / b


def ties_score(items: dict) -> dict:
    """The Ties subset's score, as ``process_single_model`` computes it.

    Each item is a prompt ``ref:N`` (one correct answer) or ``tied:N`` (several) with its
    responses' ratings (a failed rating counts −1, as the official −1). Per item (``_prompt_stats``):
    accurate = worst correct rating > best incorrect one; gap = worst correct − best incorrect;
    spread = best correct − worst correct. Then, over the prompt numbers N having both a ``ref``
    and a ``tied`` item ("paired"):

    * ``ref_accuracy``, ``tied_accuracy``: share of accurate items of each type (0 without any);
    * ``correctness_preferred``: share of paired N with tied gap > tied spread;
    * ``correctness_preferred_hard``: share with min(ref gap, tied gap) > tied spread;
    * ``margin``: mean of tanh(min(ref gap, tied gap) / tied spread − 1), a NaN term (0/0) as 0 —
      so all correct answers rated equal (spread 0) give +1 when the gap is positive, −1 when negative;
    * score = 0.30·tied + 0.30·ref + 0.20·preferred + 0.20·hard + 0.01·margin.

    Two cases the official code does not survive, and what we do (each named in ``notes``): a
    ``tied`` item with one correct answer has no spread (official: a comparison with None raises);
    we treat it as NaN, so its comparisons are false and its margin term 0. No paired prompt at
    all (official: means of nothing, a NaN score): the three margin terms count 0.

    Args:
        items: ``{"ref:N"/"tied:N": [(is_correct, rating or None), ...]}``.

    Returns:
        ``score``, the five terms, ``n_ref``, ``n_tied``, ``n_paired`` and ``notes``.
    """
    stats: dict[str, dict[str, tuple]] = {"ref": {}, "tied": {}}
    for item_id, samples in items.items():
        if {ok for ok, _ in samples} != {True, False}:
            raise DataError(f"Ties item {item_id!r}: the log rates no correct or no incorrect response (an incomplete log?)")
        kind, prompt = ties_prompt(item_id)
        stats[kind][prompt] = _prompt_stats([(ok, FAILED_RATING if r is None else r) for ok, r in samples])
    ref, tied = stats["ref"], stats["tied"]
    terms = {
        "tied_accuracy": float(mean(s[0] for s in tied.values())) if tied else 0.0,
        "ref_accuracy": float(mean(s[0] for s in ref.values())) if ref else 0.0,
    }
    paired = sorted(set(ref) & set(tied))
    preferred, hard, margins = [], [], []
    for n in paired:
        spread = math.nan if tied[n][1] is None else tied[n][1]
        least = min(ref[n][2], tied[n][2])
        preferred.append(tied[n][2] > spread)
        hard.append(least > spread)
        margin = math.tanh(_ratio(least, spread) - 1)
        margins.append(0.0 if math.isnan(margin) else margin)
    terms["correctness_preferred"] = float(mean(preferred)) if paired else 0.0
    terms["correctness_preferred_hard"] = float(mean(hard)) if paired else 0.0
    terms["margin"] = mean(margins) if paired else 0.0
    notes = []
    single = sorted((n for n in paired if tied[n][1] is None), key=lambda n: (len(n), n))
    if single:
        notes.append(f"Ties: tied item(s) {', '.join(f'tied:{n}' for n in single)} have one correct answer (no spread): "
                     "their margin terms count 0 (the official code raises here)")  # fmt: skip
    if not paired:
        notes.append("Ties: no prompt has both its ref and its tied item, so the three margin terms (0.41 of the weight) "
                     "count 0 (the official code gives NaN)")  # fmt: skip
    return {"score": sum(TIES_WEIGHTS[k] * v for k, v in terms.items()), **terms, "n_ref": len(ref), "n_tied": len(tied),
            "n_paired": len(paired), "notes": notes}  # fmt: skip


def _checked(log: Sequence[dict]) -> None:
    need = {"pair": ("correct",), "four-way": ("better_position",), "rating": ("response", "correct_response")}
    for k, r in enumerate(log, 1):
        if r.get("kind") not in need:
            raise DataError(f"log line {k}: 'kind' must be one of {', '.join(need)} (a rewardbench2 log), got {r.get('kind')!r}")
        missing = [f for f in need[r["kind"]] if f not in r]
        if missing:
            raise DataError(f"log line {k}: missing field(s) {', '.join(missing)}")
        if r["subset"] not in SUBSETS:
            raise DataError(f"log line {k}: unknown RewardBench 2 subset {r['subset']!r}")
        if r["subset"] == TIES and r["kind"] != "rating":
            raise DataError(f"log line {k}: a Ties line must be a rating (the official Ties score is computed from ratings)")


def score_rewardbench2(log: Sequence[dict], scoring: str = "rmr1") -> dict:
    """RewardBench 2: each subset's mean item result, Ties by its formula, the mean of the six.

    Args:
        log: rewardbench2 log lines (``kind``, ``subset``, ``id`` and the kind's fields).
        scoring: ``rmr1`` (a four-way verdict as logged: exactly one mark) or ``official`` (four-way
            verdicts re-read from the completions, the first of ``[[A]]``–``[[D]]`` as
            ``run_generative_v2.py`` does); pairwise and rating lines score the same under both.

    Returns:
        ``score``, ``subsets`` (in the official order), ``missing_subsets``, ``comparable`` (all six
        present: the leaderboard's number), ``label``, ``mode`` (of the best-of-4 subsets),
        ``random_baseline``, ``ties`` (its terms, or None), ``n_items`` (per subset),
        ``parse_rates`` (per kind: share of lines with a verdict or rating) and ``notes``.

    Raises:
        DataError: a line without a kind or its fields, an unknown subset, a Ties line that is not a
            rating, or an item whose lines mix kinds.
    """
    _checked(log)
    if scoring == "official":
        log = reread_verdicts(log, "".join(LETTERS), kind="four-way")
    items: dict[tuple, list[dict]] = defaultdict(list)
    for r in log:
        items[(r["subset"], r["id"])].append(r)
    per_subset: dict[str, list[float]] = defaultdict(list)
    ties_items: dict = {}
    for (subset, item), lines in items.items():
        if len({r["kind"] for r in lines}) > 1:
            raise DataError(f"{subset} item {item!r}: its log lines mix kinds ({', '.join(sorted({r['kind'] for r in lines}))})")
        if subset == TIES:
            ties_items[item] = [(r["correct_response"], r["verdict"]) for r in sorted(lines, key=lambda r: r["response"])]
        else:
            per_subset[subset].append(item_score(lines))
    ties = ties_score(ties_items) if ties_items else None
    subsets = {s: mean(per_subset[s]) for s in SUBSETS if s in per_subset}
    if ties:
        subsets[TIES] = ties["score"]
    missing = [s for s in SUBSETS if s not in subsets]
    modes = sorted({KINDS[r["kind"]] for r in log if r["subset"] != TIES})
    by_kind = {k: [r for r in log if r["kind"] == k] for k in KINDS}
    by_kind = {k: lines for k, lines in by_kind.items() if lines}
    notes = list(ties["notes"]) if ties else []
    if not missing:
        label = "the mean of the six subsets (the leaderboard's score)"
    elif missing == [TIES]:
        label = "the five-subset mean (Ties not run): not comparable to the leaderboard, which averages all six"
    else:
        label = f"the mean of the {len(subsets)} subset(s) present: not comparable to the leaderboard, which averages all six"
    if missing:
        notes.append(f"subset(s) missing from this run: {', '.join(missing)}; score = {label}")
    if "pairwise" in modes:
        notes.append("pairwise mode: an item needs the chosen response to win all its comparisons (random baseline 1/8, "
                     "the official four-way and ratings protocols have 1/4)")  # fmt: skip
    return {
        "score": mean(subsets.values()) if subsets else float("nan"),
        "subsets": subsets,
        "missing_subsets": missing,
        "comparable": not missing,
        "label": label,
        "mode": modes[0] if len(modes) == 1 else modes,
        "random_baseline": {m: RANDOM_BASELINES[m] for m in modes},
        "ties": {k: v for k, v in ties.items() if k != "notes"} if ties else None,
        "n_items": {s: len(per_subset[s]) if s != TIES else len(ties_items) for s in subsets},
        "parse_rates": {k: float(mean(r["verdict"] is not None for r in lines)) for k, lines in by_kind.items()},
        "notes": notes,
    }


# ---------------------------------------------------------------------------------------------
# Running (rmr1 evaluate --benchmark rewardbench2)
# ---------------------------------------------------------------------------------------------
