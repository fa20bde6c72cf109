"""``rmr1 score``: recompute every metric of a benchmark from a per-sample log alone, or compare two runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.compare import compare_logs, format_comparison
from rmr1_utils.errors import DataError
from rmr1_utils.runlog import read_log
from rmr1_utils.scoring import SCORERS, SCORING_RULES
from rmr1_utils.stage import non_negative_int, parse_stage_args, stage_parser
from rmr1_utils.stats import DEFAULT_RESAMPLES
from rmr1_utils.summary import format_scores, score, to_json, truncation_warning


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 score``."""
    parser = stage_parser(
        subparsers, "score", "Recompute a benchmark's metrics from a per-sample log (rescore or share logs), or compare two runs."
    )
    parser.add_argument(
        "--benchmark",
        choices=tuple(SCORERS),
        help="the benchmark (required with --log); rmb: RMB's four-way score from an rmb-pairwise and an rmb-bon log together",
    )
    parser.add_argument(
        "--log",
        nargs="+",
        help="per-sample log(s) (log.jsonl of rmr1 evaluate); several are scored together (e.g. one per RM-Bench domain file)",
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("LOG_A", "LOG_B"),
        help="compare two runs of one benchmark on the comparisons both judged: accuracy difference B − A with a paired "
        "bootstrap interval by item, exact McNemar p, official scores",
    )
    parser.add_argument(
        "--resamples",
        type=non_negative_int,
        default=DEFAULT_RESAMPLES,
        help="bootstrap resamples of the 95%% intervals (seeded; a full RM-Bench log takes ~10 s at 2000; 0: no intervals)",
    )
    parser.add_argument(
        "--scoring",
        choices=SCORING_RULES,
        default="rmr1",
        help="rmr1: RM-R1's published rules (default, to compare with the paper); official: each benchmark's own generative "
        "scorer. They differ on rewardbench (a missing or double verdict: 0 vs 0.5, [[A]] read first), helpsteer3 (unparsed "
        "verdicts wrong vs left out) and rewardbench2's four-way parse (exactly one tag vs the first of A-D)",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as strict JSON (null where not measured)")
    return parser


def _read(path: str | Path) -> list[dict]:
    """A log's lines, or a one-line DataError naming the path."""
    if Path(path).is_dir():
        raise DataError(f"{path}: is a folder, expected a log file (log.jsonl)")
    if not Path(path).is_file():
        raise DataError(f"{path}: file not found")
    log = read_log(path)
    if not log:
        raise DataError(f"{path}: the log has no lines, nothing to score")
    return log


def main(args: argparse.Namespace | Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 score``; returns the metrics (or, with ``--compare``, the comparison).

    Raises:
        DataError: a missing or empty log, a log the benchmark cannot score, ``--compare`` with
            ``--log``, or two logs ``--compare`` cannot pair (another benchmark, no shared key).
    """
    args = parse_stage_args(args, make_parser)
    if args.compare:
        if args.log:
            raise DataError("--compare takes the two logs itself: drop --log")
        if args.scoring != "rmr1":
            raise DataError("--compare scores by the rmr1 rules only: drop --scoring, or score each log with --log")
        if args.resamples == 0:
            raise DataError("--compare needs bootstrap resamples for its intervals: --resamples must be at least 1")
        logs = (_read(path) for path in args.compare)
        result = compare_logs(*logs, names=tuple(args.compare), benchmark=args.benchmark, resamples=args.resamples)
        print(to_json(result) if args.json else format_comparison(result))
        return result
    if not args.benchmark or not args.log:
        raise DataError(f"--{'log' if args.benchmark else 'benchmark'} is required (or --compare LOG_A LOG_B)")
    logs = [args.log] if isinstance(args.log, str) else args.log
    lines = [line for path in logs for line in _read(path)]
    metrics = score(args.benchmark, lines, resamples=args.resamples, scoring=args.scoring)
    print(to_json(metrics) if args.json else format_scores(metrics))
    warning = truncation_warning(metrics)
    if warning:
        print(warning, file=sys.stderr)
    return metrics
