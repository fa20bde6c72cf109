"""R1: how often a model's pointwise ratings can be read (the ``reasrm-rating`` reward, RewardBench 2
ratings and Ties modes).

Each model rates both responses of every judged pair of the bundled HelpSteer3 sample
(``data/bench/helpsteer3_sample.jsonl``, ties skipped) with the chain-of-rubrics rating prompt of
:mod:`rmr1_utils.rating`, greedy, and we count the ratings :func:`rmr1_utils.rating.parse_rating`
can read (a seeded bootstrap interval by pair), and how often the better response is rated strictly
higher. Neither the embedded model nor the course's judge was trained on this prompt: the number
says whether the rating modes are usable with them at all.

Ends with ``RESULT R1 <model>_parse_rate=<x> …``.

Usage::

    .venv/bin/python bench/rating_parse_rate.py                                  # embedded, rmr1-judge-135m
    .venv/bin/python bench/rating_parse_rate.py --models embedded --max-new-tokens 512
"""

from __future__ import annotations

import argparse
import time

from rmr1_utils.benchmarks import load_comparisons
from rmr1_utils.generation import backend_for
from rmr1_utils.rating import rating_parse_rate
from rmr1_utils.resources import resolve_data_path
from rmr1_utils.stats import bootstrap_mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["embedded", "rmr1-judge-135m"])
    parser.add_argument("--data", default="data/bench/helpsteer3_sample.jsonl")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    comparisons = load_comparisons("helpsteer3", resolve_data_path(args.data))
    items, owners = [], []
    for c in comparisons:
        for side in ("chosen", "rejected"):
            items.append((c["pair"].get("context") or c["pair"]["prompt"], c["pair"][side]))
            owners.append(c["key"])
    results = {}
    for model in args.models:
        backend = backend_for("transformers", model, batch_size=len(items))
        start = time.perf_counter()
        rated = rating_parse_rate(backend, items, max_new_tokens=args.max_new_tokens)
        seconds = time.perf_counter() - start
        ratings = rated["ratings"]
        interval = bootstrap_mean([float(r is not None) for r in ratings], owners, seed=args.seed)
        pairs = [(ratings[k], ratings[k + 1]) for k in range(0, len(ratings), 2)]
        better = sum(a is not None and b is not None and a > b for a, b in pairs)
        print(
            f"{model}: {rated['parsed']} of {rated['n']} ratings parsed, {interval} (by pair); better response rated "
            f"higher in {better} of {len(pairs)} pairs; ratings {ratings}; {seconds:.0f} s"
        )
        results[model] = interval.value
    print("RESULT R1 " + " ".join(f"{m.replace('-', '_')}_parse_rate={v:.3f}" for m, v in results.items()) + f" n={len(items)}")


if __name__ == "__main__":
    main()
