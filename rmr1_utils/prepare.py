"""``rmr1 prepare``: raw preference sets → a balanced, leak-free judge-task dataset.

A *data recipe* (YAML) lists sources — local files, Hub datasets or the synthetic math
generator — each with its raw format (see :mod:`rmr1_utils.converters`) and optional caps. The
stage converts every record to a preference pair, validates it (errors name the file and record;
``on_error: skip`` counts skips by reason instead), splits train/test with a seed, places the
chosen response at A or B balanced per source and per domain
(:func:`rmr1_utils.data.assign_positions`), renders the byte-exact RM-R1 prompt, applies an
optional token budget (over-long prompts dropped, or left-truncated in the shared prompt so the
label stays invisible), and writes:

* ``OUT/dataset/`` — a ``datasets.DatasetDict`` (``train``/``test``) saved with ``save_to_disk``;
* ``OUT/train.jsonl``, ``OUT/test.jsonl`` — the same judge tasks as JSONL;
* ``OUT/summary.json`` — counts by source, domain and winner, skips, drops, token percentiles.

``--recipe rmr1-mix`` is the paper's mix (Skywork-Reward-Preference-80K-v0.2 without
``magpie_ultra`` + 8,000 of Vezora/Code-Preference-Pairs shuffled with seed 42 +
xinlai/Math-Step-DPO-10K), loaded from the Hub when online. How we differ: RM-R1 alternates A/B
with one counter over the whole mix and leaks the label in multi-turn prompts ("Chabot B");
we balance per group from a seed, render both sides with one function, and report every skip.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rmr1_utils.config_files import RECIPES_ROOT, build_dataclass, read_yaml_mapping, recipe_path
from rmr1_utils.converters import CONVERTERS, TASK_FORMATS, RecordError, detect_format
from rmr1_utils.data import assign_positions, pair_to_judge_task, write_jsonl
from rmr1_utils.errors import DataError
from rmr1_utils.formats import STYLES
from rmr1_utils.generation.interface import prompt_ids
from rmr1_utils.models import load_tokenizer
from rmr1_utils.sources import BadLine, SourceConfig, iter_source, shuffled_indices  # noqa: F401 - the stage's API
from rmr1_utils.stage import non_negative_int, output_folder, parse_stage_args, positive_float, positive_int, stage_parser

#: Folder of the bundled data recipes (``--recipe NAME`` looks here).
RECIPES_DIR = RECIPES_ROOT / "data"

ON_ERROR = ("raise", "skip")
OVERLONG = ("drop", "truncate")
_MAX_EXAMPLES = 20  # skip messages kept in the summary
_SOURCE_COUNTS = ("records", "skipped", "filtered", "duplicates", "kept", "over_budget", "written")
_MIN_KEPT_PROMPT_TOKENS = 16  # below this, truncation would leave no question: drop instead


@dataclass
class PrepareConfig:
    """A data recipe.

    Attributes:
        name: recipe name (recorded in the summary).
        sources: the sources, in order.
        style: prompt style, ``instruct`` or ``reasoning``.
        seed: seed of the train/test split and of the A/B placement.
        test_size: fraction (< 1) or number (>= 1) of pairs held out as ``test``.
        tokenizer: tokenizer for token counts and the budget (``embedded``, a folder or Hub id;
            ``null`` skips token statistics).
        max_prompt_tokens: token budget of the rendered judge prompt (``null`` = none).
        overlong: what to do with prompts over the budget: ``drop`` or ``truncate`` (left-truncate
            the shared question/context).
        on_error: ``raise`` (stop at the first bad record) or ``skip`` (count it and go on).
        both_orders: render every pair twice, its seeded order and then swapped (id + ``-swapped``),
            next to each other: a judge trained on both orders cannot lower its loss with a
            position preference.
    """

    name: str = "custom"
    sources: list[SourceConfig] = field(default_factory=list)
    style: str = "instruct"
    seed: int = 0
    test_size: float = 0.0
    tokenizer: str | None = "embedded"
    max_prompt_tokens: int | None = None
    overlong: str = "drop"
    on_error: str = "raise"
    both_orders: bool = False

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"unknown style {self.style!r} (expected {', '.join(STYLES)})")
        if self.overlong not in OVERLONG:
            raise ValueError(f"unknown overlong policy {self.overlong!r} (expected {', '.join(OVERLONG)})")
        if self.on_error not in ON_ERROR:
            raise ValueError(f"unknown on_error policy {self.on_error!r} (expected {', '.join(ON_ERROR)})")
        if self.test_size < 0:
            raise ValueError("test_size must be >= 0")
        if self.max_prompt_tokens is not None and self.max_prompt_tokens < 1:
            raise ValueError(f"max_prompt_tokens must be >= 1 (or null for no budget), got {self.max_prompt_tokens}")
        if not self.sources:
            raise ValueError("a data recipe needs at least one source")


def load_recipe(recipe: str | Path) -> tuple[PrepareConfig, Path]:
    """Parse a data recipe strictly (unknown keys are errors).

    Args:
        recipe: a YAML path or a bundled recipe name.

    Returns:
        ``(config, recipe_file)``.

    Raises:
        DataError: unreadable YAML or an invalid recipe, naming the file.
    """
    path = recipe_path(str(recipe), "data")
    raw = read_yaml_mapping(path, "data recipe")
    sources = raw.pop("sources", None) or []
    if not isinstance(sources, list):
        raise DataError(f"{path}: key 'sources': expected a list of sources, got {sources!r}")
    for i, source in enumerate(sources, 1):
        if not isinstance(source, dict):
            raise DataError(f"{path}: source {i}: expected a mapping of keys to values, got {source!r}")
    built = [build_dataclass(SourceConfig, s, f"{path}: source {i}") for i, s in enumerate(sources, 1)]
    return build_dataclass(PrepareConfig, {**raw, "sources": built}, str(path)), path


# ---------------------------------------------------------------------------------------------
# Token budget
# ---------------------------------------------------------------------------------------------


def prompt_tokens(tokenizer, messages: list[dict]) -> int:
    """Token count of a judge prompt as the model sees it (chat template + generation prompt)."""
    return len(prompt_ids(tokenizer, messages))


def _left_truncate(tokenizer, text: str, drop: int) -> str | None:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    keep = len(ids) - drop
    if keep < _MIN_KEPT_PROMPT_TOKENS:
        return None
    return "…" + tokenizer.decode(ids[-keep:])


def fit_to_budget(pair: dict, position: str, style: str, tokenizer, budget: int, overlong: str) -> tuple[dict | None, int, str]:
    """Render a pair and enforce the token budget.

    Over-long prompts are dropped, or (``overlong="truncate"``) shortened from the left in the
    part both sides share: earliest context turns first, then the start of the question. The
    responses are never cut, so the judge still sees both in full, and the label cannot leak.

    Returns:
        ``(task or None, token count, status)`` with status ``ok``, ``truncated`` or ``dropped``.
    """
    task = pair_to_judge_task(pair, position, style=style)
    n = prompt_tokens(tokenizer, task["messages"])
    if n <= budget:
        return task, n, "ok"
    if overlong == "drop":
        return None, n, "dropped"
    pair = dict(pair)
    for _ in range(8):  # re-tokenising after a cut can move a few tokens: iterate to fit
        excess = n - budget
        if "context" in pair and len(pair["context"]) > 1:
            rest = pair["context"][1:]
            while rest and rest[0]["role"] != "user":  # keep the context starting at a user turn
                rest = rest[1:]
            if rest:
                pair["context"] = rest
            else:
                pair["context"] = pair["context"][-1:]
        else:
            key = "prompt" if "prompt" in pair else None
            text = pair["prompt"] if key else pair["context"][0]["content"]
            shorter = _left_truncate(tokenizer, text, excess + 4)
            if shorter is None:
                return None, n, "dropped"
            if key:
                pair["prompt"] = shorter
            else:
                pair["context"] = [{"role": "user", "content": shorter}]
        task = pair_to_judge_task(pair, position, style=style)
        n = prompt_tokens(tokenizer, task["messages"])
        if n <= budget:
            return task, n, "truncated"
    return None, n, "dropped"


# ---------------------------------------------------------------------------------------------
# The stage
# ---------------------------------------------------------------------------------------------


def _percentiles(values: Sequence[int]) -> dict:
    if not values:
        return {}
    ordered = sorted(values)

    def pct(p: float) -> int:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]

    return {
        "min": ordered[0],
        "p50": pct(50),
        "p90": pct(90),
        "p99": pct(99),
        "max": ordered[-1],
        "mean": round(sum(ordered) / len(ordered), 1),
    }


def _split(items: list, test_size: float, seed: int) -> tuple[list, list]:
    import random

    n_test = int(round(test_size * len(items))) if test_size < 1 else int(test_size)
    n_test = min(n_test, len(items))
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    test_ids = set(order[:n_test])
    return [x for i, x in enumerate(items) if i not in test_ids], [x for i, x in enumerate(items) if i in test_ids]


def judge_task_features(verifiable: bool = False):
    """Arrow schema of judge tasks (explicit, so an empty split still has the right columns).

    Args:
        verifiable: add the ``verifiable`` column (null for pairs that have none).
    """
    import datasets

    string = datasets.Value("string")
    columns = {
        "id": string,
        "source": string,
        "domain": string,
        "messages": datasets.List({"role": string, "content": string}),
        "winner": string,
    }
    if verifiable:
        columns["verifiable"] = {k: string for k in ("family", "type", "solution", "chosen_quote", "rejected_quote")}
    return datasets.Features(columns)


@dataclass
class Collected:
    """What the sources of a recipe yield once converted and validated.

    Attributes:
        pairs: preference pairs, in source order, duplicates removed.
        tasks: already-rendered judge tasks (RM-R1 released format).
        skipped: bad records per reason (``on_error="skip"``).
        skip_examples: the first messages of skipped records (file and record named).
        filtered: records dropped by the recipe on purpose (e.g. Skywork's ``magpie_ultra``).
        duplicates: records whose content was already seen.
        fixed_split: pair id → split, for pairs of sources with ``to_split``.
        origin: pair or task id → index of the source it came from.
        per_source: per source (in recipe order), ``where`` (file or Hub dataset) and the counts
            ``records``, ``skipped``, ``filtered``, ``duplicates``, ``kept``.
    """

    pairs: list[dict] = field(default_factory=list)
    tasks: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    skip_examples: list[str] = field(default_factory=list)
    filtered: Counter = field(default_factory=Counter)
    duplicates: int = 0
    fixed_split: dict[str, str] = field(default_factory=dict)
    origin: dict[str, int] = field(default_factory=dict)
    per_source: list[dict] = field(default_factory=list)


def collect_sources(config: PrepareConfig, base: Path | None = None) -> Collected:
    """Read, convert and validate every source of a recipe (no rendering yet).

    Args:
        config: the data recipe (its ``sources`` and ``on_error`` are used).
        base: folder that relative source paths may be relative to (the recipe's).

    Returns:
        The pairs, ready tasks and the bookkeeping of what was skipped or filtered.

    Raises:
        DataError: with ``on_error="raise"``, the first bad record (file and record index).
    """
    out = Collected()
    seen_ids: set[str] = set()
    for number, source in enumerate(config.sources):
        where, records = iter_source(source, base)
        counts = Counter()
        out.per_source.append({"name": source.name, "where": where, "counts": counts})
        fmt = source.format
        for index, record in records:
            counts["records"] += 1
            try:
                if isinstance(record, BadLine):
                    raise RecordError("malformed_json", record.message)
                if not isinstance(record, dict):
                    raise RecordError("not_an_object", f"expected a JSON object, got {type(record).__name__}")
                if fmt == "auto":
                    fmt = detect_format(record)
                result = CONVERTERS[fmt](record, source=source.name, domain=source.domain)
            except RecordError as e:
                message = f"{where}: record {index + 1}: {e}"
                if config.on_error == "raise":
                    raise DataError(message) from None
                out.skipped[e.reason] += 1
                counts["skipped"] += 1
                out.per_source[-1].setdefault("first_skip", f"record {index + 1}: {e}")
                if len(out.skip_examples) < _MAX_EXAMPLES:
                    out.skip_examples.append(message)
                continue
            if result is None:
                out.filtered[f"{source.name}/{record.get('source')}"] += 1
                counts["filtered"] += 1
                continue
            if result["id"] in seen_ids:
                out.duplicates += 1
                counts["duplicates"] += 1
                continue
            seen_ids.add(result["id"])
            counts["kept"] += 1
            out.origin[result["id"]] = number
            (out.tasks if fmt in TASK_FORMATS else out.pairs).append(result)
            if source.to_split:
                out.fixed_split[result["id"]] = source.to_split
    return out


def _contributes_nothing(entry: dict, config: PrepareConfig, dropped_tokens: list[int]) -> str:
    """The one-line error for a source none of whose records reached the output, saying why."""
    counts = entry["counts"]
    head = f"{entry['where']}: source {entry['name']!r} gives no judge task"
    if not counts["records"]:
        return f"{head}: it has no records (an empty file or dataset)"
    reasons = []
    if counts["skipped"]:
        reasons.append(f"{counts['skipped']} skipped as bad (first: {entry['first_skip']})")
    if counts["filtered"]:
        reasons.append(f"{counts['filtered']} filtered out by the recipe")
    if counts["duplicates"]:
        reasons.append(f"{counts['duplicates']} repeat earlier records")
    if dropped_tokens:
        hint = "; raise max_prompt_tokens" + (" or set overlong: truncate" if config.overlong == "drop" else "")
        reasons.append(
            f"{len(dropped_tokens)} prompts over the token budget of {config.max_prompt_tokens} "
            f"(the shortest has {min(dropped_tokens)} tokens{hint})"
        )
    return f"{head}: of its {counts['records']} records, " + ", ".join(reasons)


def prepare(config: PrepareConfig, out: str | Path | None = None, base: Path | None = None, progress: bool = True) -> dict:
    """Run the data stage.

    Args:
        config: the data recipe.
        out: output folder (``None``: compute and return only).
        base: folder that relative source paths may be relative to (the recipe's).
        progress: show a progress bar while rendering.

    Returns:
        ``{"train": [tasks], "test": [tasks], "summary": {...}, "token_counts": {split: [int]}}``.

    Raises:
        DataError: with ``on_error="raise"``, the first bad record (file and record index); a
            source that gives no judge task at all (an empty file, every record skipped, filtered,
            repeated or over the token budget), naming the source and why — an empty output is
            never written silently.
    """
    from tqdm.auto import tqdm

    collected = collect_sources(config, base)
    pairs, ready_tasks = collected.pairs, collected.tasks

    tokenizer = None
    if config.tokenizer:
        tokenizer = load_tokenizer(config.tokenizer)

    splits: dict[str, list[dict]] = {}
    token_counts: dict[str, list[int]] = {}
    overlong: Counter = Counter()
    written: Counter = Counter()  # source index → tasks written
    over_budget: dict[int, list[int]] = defaultdict(list)  # source index → token counts of dropped prompts
    free = [p for p in pairs if p["id"] not in collected.fixed_split]
    pair_splits = dict(zip(("train", "test"), _split(free, config.test_size, config.seed)))
    for pair in pairs:  # sources with `to_split` go where the recipe says
        if pair["id"] in collected.fixed_split:
            pair_splits.setdefault(collected.fixed_split[pair["id"]], []).append(pair)
    task_splits = dict(zip(("train", "test"), _split(ready_tasks, config.test_size, config.seed + 1)))
    for k, split in enumerate(pair_splits):
        split_pairs = pair_splits[split]
        positions = assign_positions(split_pairs, seed=config.seed + k)
        tasks, counts = [], []
        bar = tqdm(list(zip(split_pairs, positions)), desc=f"render {split}", disable=not progress or not split_pairs)
        for pair, first in bar:
            for position in (first, "B" if first == "A" else "A") if config.both_orders else (first,):
                if tokenizer is not None and config.max_prompt_tokens:
                    task, n, status = fit_to_budget(
                        pair, position, config.style, tokenizer, config.max_prompt_tokens, config.overlong
                    )
                    if status != "ok":
                        overlong[status] += 1
                    if task is None:
                        over_budget[collected.origin[pair["id"]]].append(n)
                        continue
                else:
                    task = pair_to_judge_task(pair, position, style=config.style)
                    n = prompt_tokens(tokenizer, task["messages"]) if tokenizer is not None else None
                if position != first:
                    task["id"] = f"{task['id']}-swapped"  # the name `rmr1 evaluate --both-orders` uses
                tasks.append(task)
                written[collected.origin[pair["id"]]] += 1
                if n is not None:
                    counts.append(n)
        for task in task_splits.get(split, []):  # already-rendered RM-R1 tasks: budget can only drop them
            n = prompt_tokens(tokenizer, task["messages"]) if tokenizer is not None else None
            if n is not None and config.max_prompt_tokens and n > config.max_prompt_tokens:
                overlong["dropped"] += 1
                over_budget[collected.origin[task["id"]]].append(n)
                continue
            tasks.append(task)
            written[collected.origin[task["id"]]] += 1
            if n is not None:
                counts.append(n)
        splits[split] = tasks
        token_counts[split] = counts

    for number, entry in enumerate(collected.per_source):
        entry["counts"].update(written=written[number], over_budget=len(over_budget[number]))
        if not written[number]:
            raise DataError(_contributes_nothing(entry, config, over_budget[number]))

    summary = {
        "recipe": config.name,
        "style": config.style,
        "seed": config.seed,
        "counts": {s: len(t) for s, t in splits.items()},
        "by_source": {s: dict(sorted(Counter(t["source"] for t in ts).items())) for s, ts in splits.items()},
        "by_domain": {s: dict(sorted(Counter(t["domain"] for t in ts).items())) for s, ts in splits.items()},
        "by_winner": {s: dict(sorted(Counter(t["winner"] for t in ts).items())) for s, ts in splits.items()},
        "skipped": dict(sorted(collected.skipped.items())),
        "skipped_total": sum(collected.skipped.values()),
        "skipped_examples": collected.skip_examples,
        "filtered": dict(sorted(collected.filtered.items())),
        "duplicates": collected.duplicates,
        "sources": [
            {"name": e["name"], "where": e["where"], **{k: e["counts"][k] for k in _SOURCE_COUNTS}} for e in collected.per_source
        ],
        "overlong": {
            "policy": config.overlong,
            "budget": config.max_prompt_tokens,
            **dict(overlong),
            "measured": tokenizer is not None and bool(config.max_prompt_tokens),
        },  # fmt: skip
        "prompt_tokens": {s: _percentiles(c) for s, c in token_counts.items()},
        "config": asdict(config),
    }
    if out is not None:
        write_outputs(splits, summary, Path(out), pair_splits)
    return {**splits, "summary": summary, "token_counts": token_counts, "pairs": pair_splits}


def write_outputs(splits: dict[str, list[dict]], summary: dict, out: Path, pairs: dict[str, list[dict]] | None = None) -> None:
    """Write ``dataset/`` (DatasetDict), ``<split>.jsonl``, ``pairs/<split>.jsonl`` and ``summary.json``.

    ``pairs/<split>.jsonl`` holds each split's preference pairs before rendering: what
    ``rmr1 evaluate --benchmark pairs --both-orders`` judges in both orders.
    """
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    verifiable = any("verifiable" in t for tasks in splits.values() for t in tasks)
    features = judge_task_features(verifiable)
    columns = list(features)
    # from_dict with explicit columns: from_list cannot build an empty split.
    dataset = datasets.DatasetDict(
        {
            s: datasets.Dataset.from_dict({k: [t.get(k) for t in tasks] for k in columns}, features=features)
            for s, tasks in splits.items()
        }
    )
    dataset.save_to_disk(str(out / "dataset"))
    for split, tasks in splits.items():
        write_jsonl(out / f"{split}.jsonl", tasks)
    for split, split_pairs in (pairs or {}).items():
        write_jsonl(out / "pairs" / f"{split}.jsonl", split_pairs)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def format_summary(summary: dict) -> str:
    """The printed summary: counts by source/domain/winner per split, skips, drops, token lengths."""
    lines = [
        f"recipe {summary['recipe']} (style {summary['style']}, seed {summary['seed']}): "
        + ", ".join(f"{s}={n}" for s, n in summary["counts"].items())
    ]
    for key in ("by_source", "by_domain", "by_winner"):
        table: dict[str, dict[str, int]] = defaultdict(dict)
        for split, counts in summary[key].items():
            for name, n in counts.items():
                table[name][split] = n
        lines.append(f"\n{key.replace('_', ' ')}:")
        names = list(summary["counts"])
        lines.append(f"  {'':<40} " + " ".join(f"{n:>13}" for n in names))
        for name in sorted(table):
            lines.append(f"  {name:<40} " + " ".join(f"{table[name].get(n, 0):>13}" for n in names))
    if summary["skipped_total"]:
        lines.append(
            f"\nskipped {summary['skipped_total']} bad records: " + ", ".join(f"{k}={v}" for k, v in summary["skipped"].items())
        )
        lines += [f"  {m}" for m in summary["skipped_examples"][:5]]
    if summary["filtered"]:
        lines.append("filtered (by recipe): " + ", ".join(f"{k}={v}" for k, v in summary["filtered"].items()))
    if summary["duplicates"]:
        lines.append(f"duplicates removed: {summary['duplicates']}")
    over = {k: v for k, v in summary["overlong"].items() if k in ("dropped", "truncated")}
    if summary["overlong"]["budget"]:
        if not summary["overlong"].get("measured"):  # no tokenizer: nothing was counted, so claim nothing
            verdict = "not checked (no tokenizer in the recipe)"
        else:
            verdict = ", ".join(f"{k}={v}" for k, v in over.items()) or "all prompts fit"
        lines.append(f"token budget {summary['overlong']['budget']}: {verdict}")
    for split, stats in summary["prompt_tokens"].items():
        if stats:
            lines.append(f"prompt tokens ({split}): " + ", ".join(f"{k}={v}" for k, v in stats.items()))
    return "\n".join(lines)


def loss_warning(summary: dict) -> str | None:
    """A one-line warning when records were skipped as bad or prompts dropped over the token budget.

    Printed to stderr even with ``--quiet``: the dataset was written, but smaller than its sources.
    """
    parts = []
    records = sum(s["records"] for s in summary.get("sources", []))
    if summary["skipped_total"]:
        reasons = ", ".join(f"{k}={v}" for k, v in summary["skipped"].items())
        parts.append(f"{summary['skipped_total']} of {records} records skipped as bad ({reasons})")
    dropped = summary["overlong"].get("dropped", 0)
    if dropped:
        parts.append(f"{dropped} prompts over the token budget of {summary['overlong']['budget']} dropped")
    if not parts:
        return None
    return "WARNING: " + "; ".join(parts) + " (per source in summary.json)"


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 prepare`` (standalone when ``subparsers`` is None)."""
    parser = stage_parser(subparsers, "prepare", "Build a balanced, leak-free judge-task dataset from a data recipe.")
    parser.add_argument(
        "--recipe",
        "--config",
        dest="recipe",
        required=True,
        help="data recipe: a YAML file or a bundled name (e.g. rmr1-mix, tiny-local)",
    )
    parser.add_argument("--out", type=output_folder, required=True, help="output folder")
    parser.add_argument("--style", choices=STYLES, help="override the recipe's prompt style")
    parser.add_argument("--seed", type=non_negative_int, help="override the recipe's seed")
    parser.add_argument("--test-size", type=positive_float, help="override: fraction (<1) or number of test pairs")
    parser.add_argument("--tokenizer", help="override the tokenizer used for token counts ('none' to skip)")
    parser.add_argument("--max-prompt-tokens", type=positive_int, help="override the token budget of judge prompts")
    parser.add_argument("--overlong", choices=OVERLONG, help="override: drop or left-truncate over-long prompts")
    parser.add_argument("--on-error", choices=ON_ERROR, help="override: stop at the first bad record, or skip and count")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 prepare``.

    Args:
        args: parsed namespace, or an argv list (``None`` reads ``sys.argv``).

    Returns:
        What :func:`prepare` returns.
    """
    args = parse_stage_args(args, make_parser)
    config, path = load_recipe(args.recipe)
    overrides = {
        "style": args.style,
        "seed": args.seed,
        "test_size": args.test_size,
        "max_prompt_tokens": args.max_prompt_tokens,
        "overlong": args.overlong,
        "on_error": args.on_error,
    }
    for key, value in overrides.items():
        if value is not None:
            setattr(config, key, value)
    if args.tokenizer is not None:
        config.tokenizer = None if args.tokenizer.lower() == "none" else args.tokenizer
    config.__post_init__()  # re-validate after overrides
    result = prepare(config, out=args.out, base=path.parent, progress=not args.quiet)
    warning = loss_warning(result["summary"])
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if not args.quiet:
        print(format_summary(result["summary"]))
        written = ", ".join(f"{split}.jsonl" for split in result["summary"]["counts"])
        print(f"\nwrote {args.out}/dataset, {written}, pairs/, summary.json")
    return result
