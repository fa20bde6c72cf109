"""I1: the width of every benchmark's headline interval against a direct reference bootstrap.

For each benchmark a seeded synthetic log in its real log format (``tests/synthetic_logs.py``: keys,
ids colliding across RM-Bench domains, both JudgeBench games, Best-of-N losers, RewardBench 2
comparisons, four-way judgements, ratings and Ties prompts, ``item_size``) is scored by ``rmr1``'s
summary (:func:`rmr1_utils.summary.score`, 2,000 resamples, seed 0), and its ``score_ci`` width is
divided by the width of a reference bootstrap written out directly (resample items, give each draw a
fresh id, score the expanded log with the official point scorer, ``numpy.percentile``):

* ``same``: the reference on the same seeded draws — any difference is how the draws are scored;
* ``indep``: the reference with another seed and 20,000 resamples — the project's 2,000-resample
  width against a near-exact one (Monte Carlo error of a 2,000-resample width: about 2 %);
* ``old``: the reference on the same draws with the original ids kept, as before issue 24 (a
  repeated item counted once).

Ends with ``RESULT I1 <log>=<same ratio>/<indep ratio>/<old ratio> …``.

Usage::

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/interval_widths.py [--items 120]
"""

from __future__ import annotations

import argparse
import time

from rmr1_utils.intervals import items_by_stratum
from rmr1_utils.summary import score
from tests.synthetic_logs import LOGS, reference_bounds, synthetic_log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=120)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--reference-resamples", type=int, default=20000)
    args = parser.parse_args()
    ratios = []
    print(f"{'log':<24} {'width':>7} {'same':>7} {'indep':>7} {'old':>7}  seconds")
    for name, benchmark in LOGS.items():
        start = time.perf_counter()
        log = synthetic_log(name, args.items)
        ci = score(benchmark, log, resamples=args.resamples)["score_ci"]
        width = ci["high"] - ci["low"]
        strata = items_by_stratum(benchmark, log)[1]
        widths = {}
        for what, kwargs in (
            ("same", {"resamples": args.resamples}),
            ("indep", {"resamples": args.reference_resamples, "seed": 12345}),
            ("old", {"resamples": args.resamples, "collapse": True}),
        ):
            low, high = reference_bounds(benchmark, strata, **kwargs)
            widths[what] = width / (high - low)
        shown = " ".join(f"{widths[w]:7.3f}" for w in widths)
        print(f"{name:<24} {width:7.4f} {shown}  {time.perf_counter() - start:.0f}")
        ratios.append(f"{name}={widths['same']:.3f}/{widths['indep']:.3f}/{widths['old']:.3f}")
    print("RESULT I1 " + " ".join(ratios))


if __name__ == "__main__":
    main()
