"""What a log line belongs to — its item and its comparison — and which items a log holds whole.

* **The item** (:func:`item_of`) is the benchmark's unit: a RewardBench, RMB or HelpSteer3 pair, an
  RM-Bench item (its 9 cells), a JudgeBench pair (both games), an RMB Best-of-N item (all its losers),
  a RewardBench 2 item (its comparisons, four-way judgement or ratings), and for RewardBench 2's Ties
  the *prompt*: its ``ref:N`` and ``tied:N`` items together, which the official formula pairs. Every
  bootstrap resamples items (:mod:`rmr1_utils.intervals`, :mod:`rmr1_utils.compare`), and only whole
  items are scored.
* **A resample** (:func:`drawn_log`) gives every repeated draw of an item its own id (``(id, draw)``),
  so an item drawn k times weighs k times in scorers that group lines by id (JudgeBench's pair sum, RMB
  Best-of-N, RewardBench 2, Ties) — without it a resample holds ~63 % distinct items and the
  intervals come out about a fifth too narrow.
* **The comparison** (:func:`comparison_of`) is the same for both orders of one comparison (position
  consistency pairs them), and differs between an item's cells, losers and rejected responses.
* **Whole items** (:func:`split_complete`): a run killed part-way leaves items with some of their
  comparisons, games, cells or ratings; such an item is left out of the score and counted. Every
  ``rmr1 evaluate`` line carries ``item_size``, the number of lines its item has when complete
  (:func:`with_item_sizes`); for logs written before that field, the structure the benchmark
  requires is checked instead (RM-Bench's 9 cells, both orders, RewardBench 2's three rejected
  responses or four ratings, a Ties item's correct and incorrect answers) — a missing last loser
  of an RMB Best-of-N item cannot be seen in such a log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

from rmr1_utils.benchmark_files import SWAPPED_SUFFIX
from rmr1_utils.rewardbench2 import TIES, ties_prompt

#: What the summary says about items left out (the count goes first).
INCOMPLETE_NOTE = "items incomplete, excluded; resume the run to finish them"


def item_of(line: dict) -> tuple:
    """The item a log line (or a comparison to judge) belongs to: its lines are resampled and scored together.

    The subset and domain are part of it because ids repeat across RM-Bench's domain files, and the
    benchmark because RMB's pairwise and Best-of-N uids are scored together by ``rmb``; a Ties line
    belongs to its prompt (``ref:N`` and ``tied:N`` → ``N``).
    """
    item = line["id"]
    if line.get("kind") == "rating" and line.get("subset") == TIES:
        item = ties_prompt(item)[1]
    return (line.get("benchmark"), line.get("subset"), line.get("domain"), item)


def comparison_of(line: dict) -> tuple:
    """The comparison a log line judges, the same for both of its orders.

    Its item, RM-Bench cell and RewardBench 2 rejected response, and for ``rmr1 evaluate`` lines (they
    name their benchmark) the key without the suffix :func:`~rmr1_utils.benchmark_files.in_both_orders`
    gives the swapped order (which tells RMB Best-of-N's losers apart). JudgeBench's keys name the game
    (``jb-<id>-<order>``), and ``rmr1 judge``'s the order and sample: there the item is one comparison.
    """
    key, benchmark = line.get("key"), line.get("benchmark")
    base = None if key is None or benchmark in (None, "judgebench") else str(key).removesuffix(SWAPPED_SUFFIX)
    cell = line.get("cell")
    return (item_of(line), tuple(cell) if cell else None, line.get("rejected_index"), base)


def drawn_log(items: Sequence[Sequence[dict]]) -> list[dict]:
    """The lines of resampled items, every draw its own item: an item drawn k times weighs k times.

    An item's first draw keeps its lines; every repeat gets copies with the id ``(id, draw)`` — a
    tuple, which no JSON id can equal (copying only the repeats keeps a 2,000-resample RM-Bench
    bootstrap about a third slower than scoring the draws as they are, instead of twice as slow).

    Args:
        items: the drawn items, each a non-empty list of log lines, repeats included.

    Returns:
        The lines (a Ties ``ref:N`` and ``tied:N`` drawn together stay a pair: ``(ref:N, d)`` and ``(tied:N, d)``).
    """
    seen: set = set()
    out: list[dict] = []
    for draw, item in enumerate(items):
        unit = item_of(item[0])
        if unit in seen:
            out += [{**line, "id": (line["id"], draw)} for line in item]
        else:
            seen.add(unit)
            out += item
    return out


def with_item_sizes(jobs: Sequence[dict]) -> list[dict]:
    """Every job (comparison, game, cell, rating) with ``item_size``: how many jobs its item has.

    The log lines copy it, so a scorer can tell a whole item from one a killed run left in part.
    """
    sizes = Counter(item_of(job) for job in jobs)
    return [{**job, "item_size": sizes[item_of(job)]} for job in jobs]


def _whole(benchmark: str, lines: Sequence[dict], both_orders: bool) -> bool:
    """Whether one item's lines are all of it (see the module docstring)."""
    sizes = [line["item_size"] for line in lines if line.get("item_size") is not None]
    if sizes:
        return len(lines) == max(sizes)
    # A log written before item_size: what the benchmark's structure requires.
    if both_orders:
        orders: dict[tuple, set] = {}
        for line in lines:
            orders.setdefault(comparison_of(line), set()).add(line.get("order", 0))
        if any(not {0, 1} <= seen for seen in orders.values()):
            return False
    if benchmark == "rmbench":
        return {tuple(line["cell"]) for line in lines if line.get("cell")} == {(i, j) for i in range(3) for j in range(3)}
    kind = lines[0].get("kind")
    if kind == "pair":  # RewardBench 2 pairwise: the chosen response against (at least) three rejected ones
        return sum(line.get("order", 0) == 0 for line in lines) >= 3
    if kind == "rating":  # every response of each item rated, a correct and an incorrect one among them
        by_item: dict[Hashable, list[dict]] = {}
        for line in lines:
            by_item.setdefault(line["id"], []).append(line)
        for item_lines in by_item.values():
            responses = sorted(line["response"] for line in item_lines)
            correct = {bool(line["correct_response"]) for line in item_lines}
            least = 2 if item_lines[0]["subset"] == TIES else 4
            if responses != list(range(len(responses))) or correct != {True, False} or len(responses) < least:
                return False
    return True


def split_complete(benchmark: str, log: Sequence[dict]) -> tuple[list[dict], int]:
    """The lines of the items the log holds whole, and how many items it holds only in part.

    Args:
        benchmark: the benchmark scored (JudgeBench always needs both games of a pair).
        log: the per-sample log lines.

    Returns:
        The lines of whole items (in log order), and the number of incomplete items left out.
    """
    items: dict[tuple, list[dict]] = {}
    for line in log:
        items.setdefault(item_of(line), []).append(line)
    # Both orders were asked for wherever a line shows the second one (JudgeBench always has two games).
    swapped = {line.get("benchmark") for line in log if line.get("order", 0) == 1}
    partial = {
        item
        for item, lines in items.items()
        if not _whole(benchmark, lines, benchmark == "judgebench" or item[0] == "judgebench" or item[0] in swapped)
    }
    return [line for line in log if item_of(line) not in partial], len(partial)


def incomplete_note(count: int) -> str:
    """``"12 items incomplete, excluded; resume the run to finish them"``."""
    return f"{count} {INCOMPLETE_NOTE}" if count != 1 else f"1 {INCOMPLETE_NOTE.replace('items', 'item', 1)}"
