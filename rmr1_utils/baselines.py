"""Null baselines: what a judge that never reads the responses scores on the same log, by the same rules.

A judge's 0.62 means little until it is set beside what no reading at all achieves on the same
comparisons. Three such judges are computed from the log alone (its ``better_position`` and
``length_diff``), and every one is scored by the benchmark's official scorer, so the numbers are
comparable with the model's: RewardBench's section weighting, RM-Bench's 3×3 triangles, RMB's
Best-of-N item rule (the best must beat every loser) and JudgeBench's both-order sum apply to the
baseline's per-comparison decisions exactly as to the model's.

* **always-A** answers A: right where the log showed the better response first. On a balanced
  log it scores about 0.5; in JudgeBench (both orders) exactly 0.
* **longer** picks the response with more characters; **shorter** the one with fewer. They show how
  far length alone goes (RM-Bench's hard triangle is built to defeat "longer").

**Equal lengths** are no decision, scored as each benchmark scores a judgement without a verdict:
wrong in a plain accuracy (RewardBench's official rule is ``chosen > rejected`` strictly, so a tie
there is wrong too), 0 in JudgeBench's sum, and a lost comparison for an RMB Best-of-N item (RMB's
code: a tie makes the item wrong). We do not give ties half a point: a half-right judgement has no
place in the item rules, and scoring ties like a missing verdict treats the baseline exactly like the
model. The count of ties is reported (``ties``) so their weight is visible.

**Ratings** (RewardBench 2's ratings mode and its Ties subset rate each response alone, so there is
no A or B to pick): the null judge gives no rating, which the official rules score as a failed
rating (0.25 for a best-of-4 item, −1 inside the Ties formula).
"""

from __future__ import annotations

from collections.abc import Sequence

from rmr1_utils.intervals import format_number, metric_leaves

#: Baseline name → what it does (the names are the keys of ``summary["baselines"]``).
BASELINES = {
    "always_a": "always answers A (in the order the log showed)",
    "longer": "picks the longer response (characters)",
    "shorter": "picks the shorter response (characters)",
}

_OTHER = {"A": "B", "B": "A"}
_LABELS = {"always_a": "always-A", "longer": "longer", "shorter": "shorter"}
_SHORT = {"always_a": "A", "longer": "long", "shorter": "short"}


def baseline_verdict(name: str, line: dict) -> str | None:
    """The verdict baseline ``name`` gives on one log line (``None``: equal lengths, no decision).

    Args:
        name: one of :data:`BASELINES`.
        line: a log line with ``better_position`` (and ``length_diff`` = len(better) − len(worse)).

    Returns:
        ``"A"``, ``"B"`` or ``None``.
    """
    if name == "always_a":
        return "A"
    diff = line["length_diff"] if name == "longer" else -line["length_diff"]
    if diff == 0:
        return None
    better = line["better_position"]
    return better if diff > 0 else _OTHER[better]


def baseline_log(name: str, log: Sequence[dict]) -> list[dict] | None:
    """The log as baseline ``name`` would have judged it.

    Args:
        name: one of :data:`BASELINES`.
        log: the per-sample log lines.

    Returns:
        Copies of the lines with the baseline's ``verdict`` and ``correct``, or ``None`` when a
        line lacks what the baseline needs (logs written before ``length_diff`` was logged have no
        length baselines).
    """
    needs = ("better_position",) if name == "always_a" else ("better_position", "length_diff")
    if any(line.get(field) is None for line in log if line.get("kind") != "rating" for field in needs):
        return None
    out = []
    for line in log:
        # The baseline's decision, not the model's text: --scoring official re-reads verdicts from a line's completion.
        line = {k: v for k, v in line.items() if k != "completion"}
        if line.get("kind") == "rating":  # RewardBench 2's ratings (and Ties): a judge that does not read rates nothing
            out.append({**line, "verdict": None})
            continue
        verdict = baseline_verdict(name, line)
        out.append({**line, "verdict": verdict, "correct": verdict == line["better_position"]})
    return out


def baselines(log: Sequence[dict], scorer) -> dict:
    """Every baseline's numbers, scored by the benchmark's own scorer.

    Args:
        log: the per-sample log lines.
        scorer: the benchmark's official scorer (:data:`rmr1_utils.scoring.SCORERS`).

    Returns:
        Baseline name → ``{"score", the other top-level numbers, <block>: {name: number}}`` (the
        length baselines add ``ties``: comparisons of equal length), or ``None`` when the log lacks
        the field the baseline needs.
    """
    out: dict = {}
    for name in BASELINES:
        lines = baseline_log(name, log)
        if lines is None:
            out[name] = None
            continue
        numbers: dict = {}
        for leaf, value in metric_leaves(scorer(lines)).items():
            if len(leaf) == 1:
                numbers[leaf[0]] = value
            else:
                numbers.setdefault(leaf[0], {})[leaf[1]] = value
        if name != "always_a":
            numbers["ties"] = sum(line["verdict"] is None for line in lines)
        out[name] = numbers
    return out


def format_baselines(summary: dict) -> str | None:
    """One line naming each baseline's headline score.

    Args:
        summary: a summary with ``baselines`` (:func:`rmr1_utils.summary.score`).

    Returns:
        The line, or ``None`` when the summary has no baseline.
    """
    found = summary.get("baselines") or {}
    shown = [(name, found[name]) for name in BASELINES if found.get(name)]
    if not shown:
        return None
    parts = [f"{_LABELS[name]} {format_number(b.get('score'))}" for name, b in shown]
    ties = next((b["ties"] for _, b in shown if "ties" in b), None)
    return "null baselines (same scoring): " + ", ".join(parts) + (f" ({ties} length ties)" if ties else "")


def block_baselines(summary: dict, block: str, name: str) -> str:
    """The baselines' numbers for one entry of a block.

    Args:
        summary: a summary with ``baselines``.
        block: ``sections``, ``domains``…
        name: the entry (``Chat``, ``code``…).

    Returns:
        ``A 0.500  long 0.667  short 0.333`` (``""`` when the summary has no baseline).
    """
    found = summary.get("baselines") or {}
    return "  ".join(
        f"{_SHORT[b]} {format_number((found[b].get(block) or {}).get(name))}" for b in BASELINES if found.get(b) is not None
    )
