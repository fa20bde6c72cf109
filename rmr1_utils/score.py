"""``rmr1 score``: recompute every metric of a benchmark from a per-sample log alone, or compare two runs.

Several logs are scored together only when they cannot mislead: they must come from one judge setup
(their run identities may differ only in the parts they judged, :data:`PART_FIELDS`: RM-Bench's
per-domain files, RMB's pairwise and Best-of-N logs), and no key may repeat (a judgement in two logs
would count twice). Logs with one and the same identity are shards of one run: joined only with
``--merge``, which says what it joined. Anything else is refused in one line naming the log and the
field or key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.compare import compare_logs, format_comparison
from rmr1_utils.errors import DataError
from rmr1_utils.runlog import describe_difference, read_identity, read_log
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
        help="bootstrap resamples of the 95%% intervals (seeded; about a minute for a full RM-Bench log at 2000; 0: none)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="join --log files that are shards of one run (the same run identity, or logs without one); the summary "
        "names what was joined",
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


#: Run-identity fields in which logs scored together may differ: the parts of one evaluation.
PART_FIELDS = ("benchmark", "data")


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


def read_logs(paths: Sequence[str | Path], merge: bool = False) -> tuple[list[dict], str | None]:
    """The lines of the logs to score together, after checking they belong together (module docstring).

    Args:
        paths: the ``--log`` files.
        merge: ``--merge``: join shards of one run (one identity, or logs without identity).

    Returns:
        The lines, and what was merged (a note for the summary; None without ``--merge``).

    Raises:
        DataError: one line naming the log and the field or key: another judge setup, shards of one
            run without ``--merge``, a log without identity among several (without ``--merge``), or
            a key in two places.
    """
    logs = []
    for path in paths:
        lines = _read(path)  # first: a missing file or a folder is named as such
        logs.append((str(path), read_identity(path), lines))
    first, first_identity, _ = logs[0]
    for path, identity, _ in logs[1:]:
        if None in (identity, first_identity):
            if not merge:
                without = path if identity is None else first
                raise DataError(
                    f"{without}: a log without a run identity cannot be checked against the others; "
                    "pass --merge if these are shards of one run"
                )
            continue
        setup = {k: v for k, v in identity.items() if k not in PART_FIELDS}
        first_setup = {k: v for k, v in first_identity.items() if k not in PART_FIELDS}
        if setup != first_setup:
            raise DataError(
                f"{path}: another run than {first} ({describe_difference(first_setup, setup)}); score each run on "
                "its own, or compare two with --compare"
            )
        if identity == first_identity and not merge:
            raise DataError(f"{path}: the same run as {first} (one identity): pass --merge to join the shards of one run")
    where: dict = {}
    for path, identity, lines in logs:
        for number, line in enumerate(lines, 1 if identity is None else 2):  # file lines: the identity is line 1
            key = line.get("key")
            if key is None:
                continue
            if key in where:
                raise DataError(
                    f"{path}: key {key!r} (line {number}) is also in {where[key]}: a judgement in two places would count twice"
                )
            where[key] = f"{path} line {number}"
    merged = None
    if merge and len(logs) > 1:
        merged = "merged " + ", ".join(f"{path} ({len(lines)} lines)" for path, _, lines in logs) + " as shards of one run"
    return [line for _, _, lines in logs for line in lines], merged


def main(args: argparse.Namespace | Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 score``; returns the metrics (or, with ``--compare``, the comparison).

    Raises:
        DataError: a missing or empty log, a log the benchmark cannot score, logs that do not belong
            together (:func:`read_logs`), ``--compare`` with ``--log``, or two logs ``--compare``
            cannot pair (another benchmark, no shared key).
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
    lines, merged = read_logs(logs, merge=args.merge)
    metrics = score(args.benchmark, lines, resamples=args.resamples, scoring=args.scoring)
    if merged:
        metrics["notes"] = [*metrics.get("notes", []), merged]
    print(to_json(metrics) if args.json else format_scores(metrics))
    warning = truncation_warning(metrics)
    if warning:
        print(warning, file=sys.stderr)
    return metrics
