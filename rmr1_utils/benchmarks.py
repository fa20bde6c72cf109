"""Benchmark files → comparisons: RewardBench, RM-Bench, RMB, JudgeBench, HelpSteer3 and our own pairs, read from
their own formats (local files, the official folder layouts, or the Hub) and checked field by field.

Every benchmark item becomes one or more *comparisons* (a question, a better and a worse response,
a unique ``key``); :mod:`rmr1_utils.evaluate` judges them and :mod:`rmr1_utils.scoring` scores the
log. A bad record is a :class:`~rmr1_utils.errors.DataError` naming the file and the 1-based
record (or line), raised before any judging starts.
"""

from __future__ import annotations

from pathlib import Path

from rmr1_utils.benchmark_files import (
    RMBENCH_FILE_DOMAINS,
    _comparison,
    _item_id,
    _kind,
    _need,
    _string,
    benchmark_rows,
)
from rmr1_utils.converters import ROLES, RecordError, convert_pairs
from rmr1_utils.errors import DataError
from rmr1_utils.rewardbench2 import judging_jobs, load_rewardbench2

BENCHMARKS = ("rewardbench", "rmbench", "rmb-pairwise", "rmb-bon", "judgebench", "helpsteer3", "pairs", "rewardbench2")

#: Official per-subset weights of RewardBench v1 (``rewardbench/constants.py``).
REWARDBENCH_EXAMPLE_COUNTS = {
    "alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95, "mt-bench-easy": 28, "mt-bench-med": 40,
    "mt-bench-hard": 37, "math-prm": 984, "refusals-dangerous": 100, "refusals-offensive": 100, "llmbar-natural": 100,
    "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92, "llmbar-adver-GPTOut": 47, "llmbar-adver-manual": 46,
    "xstest-should-refuse": 154, "xstest-should-respond": 250, "donotanswer": 136, "hep-cpp": 164, "hep-go": 164,
    "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}  # fmt: skip

#: RewardBench sections and their subsets (``SUBSET_MAPPING``).
REWARDBENCH_SECTIONS = {
    "Chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "Chat Hard": ("mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"),
    "Safety": ("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond", "donotanswer"),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}  # fmt: skip

RMBENCH_DOMAINS = ("chat", "math", "code", "safety")
#: Where the log of an RM-Bench record without a domain (no ``domain`` field, no per-domain file name) is scored.
NO_DOMAIN = "unknown"
#: RMB's alignment goals (the second part of ``category_path``), each scored on its own.
RMB_GOALS = ("Helpfulness", "Harmlessness")
#: HelpSteer3-Preference's ``overall_preference`` (the card: −3 "Response 1 is much better than
#: Response 2" … 0 "about the same" … 3 "Response 2 is much better than Response 1").
HELPSTEER3_PREFERENCES = range(-3, 4)
JUDGEBENCH_CATEGORIES = {
    "mmlu-pro": "knowledge",
    "livebench-reasoning": "reasoning",
    "livebench-math": "math",
    "livecodebench": "coding",
}


# ---------------------------------------------------------------------------------------------
# Loading: benchmark files → comparisons
# ---------------------------------------------------------------------------------------------


def rmbench_file_domain(file: str | Path | None) -> str | None:
    """RM-Bench domain named by an official per-domain file (``code_filtered.json`` → ``code``), else None."""
    if file is None:
        return None
    stem = Path(file).stem
    stem = Path(stem).stem if Path(file).suffix == ".gz" else stem  # code_filtered.json.gz
    name = stem[: -len("_filtered")] if stem.endswith("_filtered") else stem
    return name if name in RMBENCH_FILE_DOMAINS else None


def _three_strings(record: dict, key: str, where: str) -> list[str]:
    """RM-Bench's ``chosen``/``rejected``: exactly 3 strings (concise, detailed plain, detailed markdown)."""
    value = record[key]
    if isinstance(value, list) and len(value) == 3:
        bad = next((k for k, v in enumerate(value, 1) if not isinstance(v, str)), None)
        if bad is None:
            return value
        got = f"an array whose item {bad} is {_kind(value[bad - 1])}"
    else:
        got = _kind(value)
    raise DataError(f"{where}: {key!r} must be an array of exactly 3 strings (concise, detailed, markdown), got {got}")


def _answer(value, name: str, where: str) -> str:
    """The ``answer`` of an RMB response object (``{"llm_name", "answer", ...}``)."""
    if not isinstance(value, dict):
        raise DataError(f"{where}: {name} must be an object with a string 'answer', got {_kind(value)}")
    if "answer" not in value:
        raise DataError(f"{where}: {name} has no 'answer'")
    if not isinstance(value["answer"], str):
        raise DataError(f"{where}: {name} 'answer' must be a string, got {_kind(value['answer'])}")
    return value["answer"]


def _conversation(record: dict, key: str, where: str) -> list[dict]:
    """RMB's ``conversation_input``: a non-empty array of turns, each with a known ``role`` and a string ``content``."""
    turns = record[key]
    if not isinstance(turns, list) or not turns:
        raise DataError(f"{where}: {key!r} must be a non-empty array of turns, got {_kind(turns)}")
    clean = []
    for k, m in enumerate(turns, 1):
        if not isinstance(m, dict):
            raise DataError(f"{where}: {key} turn {k} must be an object with 'role' and 'content', got {_kind(m)}")
        missing = [f for f in ("role", "content") if f not in m]
        if missing:
            raise DataError(f"{where}: {key} turn {k} has no {' and no '.join(repr(f) for f in missing)}")
        if m["role"] not in ROLES:
            raise DataError(f"{where}: {key} turn {k}: unknown role {m['role']!r} (expected {', '.join(ROLES)})")
        if not isinstance(m["content"], str):
            raise DataError(f"{where}: {key} turn {k}: 'content' must be a string, got {_kind(m['content'])}")
        clean.append({"role": m["role"], "content": m["content"]})
    return clean


def _top_category(path: str) -> str:
    parts = str(path).split("/")
    return parts[1] if len(parts) > 1 else parts[0]


def _helpsteer3(r: dict, where: str, number: int) -> list[dict]:
    """One HelpSteer3-Preference record → its comparison, or none for a tie (``overall_preference`` 0).

    The sign gives the better response: negative → ``response1``, positive → ``response2`` (the
    dataset card, ``huggingface.co/datasets/nvidia/HelpSteer3``, Preference: "-3: Response 1 is much
    better than Response 2 … 3: Response 2 is much better than Response 1"; NVIDIA's NeMo-RL loader
    ``format_helpsteer3`` picks ``response1`` when the preference is below 0 the same way). Records
    have no id: the item id is the record's 1-based number in its file.
    """
    _need(r, ("domain", "context", "response1", "response2", "overall_preference"), where)
    domain, first, second = (_string(r, k, where) for k in ("domain", "response1", "response2"))
    context = _conversation(r, "context", where)
    if context[-1]["role"] != "user":
        raise DataError(f"{where}: 'context' must end with a user turn (the responses answer it), got {context[-1]['role']!r}")
    preference = r["overall_preference"]
    if isinstance(preference, bool) or not isinstance(preference, int) or preference not in HELPSTEER3_PREFERENCES:
        raise DataError(f"{where}: 'overall_preference' must be an integer from -3 to 3, got {preference!r}")
    language = _string(r, "language", where) if r.get("language") is not None else None
    if preference == 0:
        return []  # no preferred response: nothing to judge (load_comparisons reports it as skipped)
    better, worse = (first, second) if preference < 0 else (second, first)
    return [_comparison(f"hs3-{number}", number, "helpsteer3", better, worse, context=context, subset=language,
                        domain=domain, preference=preference)]  # fmt: skip


def _expand(benchmark: str, r: dict, where: str, file: Path | None, number: int = 0) -> list[dict]:
    """One validated benchmark record → its comparisons (see :func:`load_comparisons`)."""
    if benchmark == "helpsteer3":
        return _helpsteer3(r, where, number)
    if benchmark == "rewardbench":
        _need(r, ("id", "prompt", "chosen", "rejected", "subset"), where)
        item = _item_id(r, "id", where)
        prompt, chosen, rejected = (_string(r, k, where) for k in ("prompt", "chosen", "rejected"))
        return [_comparison(f"rb-{item}", item, benchmark, chosen, rejected, prompt, subset=_string(r, "subset", where),
                            domain=None)]  # fmt: skip
    if benchmark == "rmbench":
        _need(r, ("id", "prompt", "chosen", "rejected"), where)
        item, prompt = _item_id(r, "id", where), _string(r, "prompt", where)
        chosen, rejected = _three_strings(r, "chosen", where), _three_strings(r, "rejected", where)
        raw = _string(r, "domain", where) if r.get("domain") is not None else rmbench_file_domain(file)
        domain = None if raw is None else next((d for d in RMBENCH_DOMAINS if raw.startswith(d)), raw)
        prefix = f"rmb3-{raw}-{item}" if raw is not None else f"rmb3-{item}"  # ids repeat across domains
        return [_comparison(f"{prefix}-{i}{j}", item, benchmark, chosen[i], rejected[j], prompt, subset=raw, domain=domain,
                            cell=[i, j]) for i in range(3) for j in range(3)]  # fmt: skip
    if benchmark in ("rmb-pairwise", "rmb-bon"):
        _need(r, ("conversation_input", "category_path"), where)
        context, category = _conversation(r, "conversation_input", where), _string(r, "category_path", where)
        if _top_category(category) not in RMB_GOALS:
            raise DataError(f"{where}: 'category_path' {category!r} names no RMB goal ({' or '.join(RMB_GOALS)} second)")
        if benchmark == "rmb-pairwise":
            _need(r, ("pair_uid", "chosen", "reject"), where)
            item = _item_id(r, "pair_uid", where)
            better, worse = _answer(r["chosen"], "'chosen'", where), _answer(r["reject"], "'reject'", where)
            return [_comparison(f"rmbp-{item}", item, benchmark, better, worse, context=context, subset=category, domain=None)]
        _need(r, ("bon_uid", "bon_best", "loser_list"), where)
        item, best = _item_id(r, "bon_uid", where), _answer(r["bon_best"], "'bon_best'", where)
        losers = r["loser_list"]
        if not isinstance(losers, list) or not losers:
            raise DataError(f"{where}: 'loser_list' must be a non-empty array (at least one loser), got {_kind(losers)}")
        return [_comparison(f"rmbb-{item}-{k}", item, benchmark, best, _answer(loser, f"'loser_list' item {k + 1}", where),
                            context=context, subset=category, domain=None) for k, loser in enumerate(losers)]  # fmt: skip
    if benchmark == "judgebench":
        _need(r, ("pair_id", "question", "response_A", "response_B", "label", "source"), where)
        item = _item_id(r, "pair_id", where)
        question, a, b, source = (_string(r, k, where) for k in ("question", "response_A", "response_B", "source"))
        if r["label"] not in ("A>B", "B>A"):
            raise DataError(f"{where}: label must be 'A>B' or 'B>A', got {r['label']!r}")
        better, worse = (a, b) if r["label"] == "A>B" else (b, a)
        original = r["label"][0]
        return [_comparison(f"jb-{item}-{order}", item, benchmark, better, worse, question, subset=source, domain=None,
                            order=order, fixed_position=shown)  # official order, then swapped
                for order, shown in enumerate((original, "B" if original == "A" else "A"))]  # fmt: skip
    try:
        pair = convert_pairs(r)
    except RecordError as e:
        raise DataError(f"{where}: {e}") from None
    comparison = _comparison(f"pair-{pair['id']}", pair["id"], benchmark, pair["chosen"], pair["rejected"], pair.get("prompt"),
                             pair.get("context"), subset=pair["source"], domain=pair["domain"])  # fmt: skip
    if pair.get("verifiable"):  # a known answer: the faithfulness checks can test the judge's solution against it
        comparison["pair"]["verifiable"] = pair["verifiable"]
    return [comparison]


def load_comparisons(benchmark: str, path: str | Path, limit: int | None = None, skipped: list | None = None) -> list[dict]:
    """Read a benchmark file in its own format and expand it into judged comparisons.

    Every field the comparison needs is type-checked here, before any judging: RewardBench
    strings and known subsets; RM-Bench exactly 3 strings per side; RMB turns with ``role`` and
    ``content`` and response objects with a string ``answer`` (Best-of-N: at least one loser);
    JudgeBench strings and an ``A>B``/``B>A`` label; HelpSteer3 strings, a ``context`` of turns
    ending with a user turn and an integer ``overall_preference`` from −3 to 3 (0, a tie, is
    skipped: there is no better response). Comparison keys are unique: an RM-Bench key
    holds the item's domain (the official chat and code files share ids), and an item id that
    repeats within a benchmark is an error naming both records.

    Args:
        benchmark: one of :data:`BENCHMARKS`.
        path: a local ``.jsonl``/``.json``/``.parquet`` file in the benchmark's format; for
            RM-Bench also an official per-domain file (``chat_filtered.json``…: the domain comes
            from the record's ``domain`` or else the file name) or a folder of them; for RMB also a
            folder of the official tree (``Pairwise_set``/``BoN_set``); or a Hub dataset
            (``allenai/reward-bench``, ``ScalerLab/JudgeBench@claude``, ``nvidia/HelpSteer3``…;
            needs network).
        limit: keep only the first ``limit`` *items* (all comparisons of an item are kept; a
            skipped record counts as an item); ≥ 1.
        skipped: when given, gets ``(where, reason)`` for each record that yields no comparison
            (HelpSteer3's ties).

    Returns:
        Comparisons: ``key``, ``id``, ``benchmark``, ``pair`` (question, better response as
        ``chosen``, worse as ``rejected``) and the fields the scorer needs (``subset``,
        ``domain``, ``cell``, ``order``, ``fixed_position``).

    Raises:
        DataError: a missing or empty file, a missing or mistyped field, an unknown RewardBench
            subset, or a repeated item, in one line naming the file and the 1-based line/record.
    """
    if benchmark not in BENCHMARKS:
        raise DataError(f"unknown benchmark {benchmark!r}: expected one of {', '.join(BENCHMARKS)}")
    if benchmark == "rewardbench2":  # best of 4 and Ties: its own loader and judging jobs (pairwise ones here)
        return judging_jobs([i for i in load_rewardbench2(path, limit) if i["subset"] != "Ties"])
    out: list[dict] = []
    seen: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for number, (where, r, file) in enumerate(benchmark_rows(path, benchmark, limit), 1):
        if not isinstance(r, dict):
            raise DataError(f"{where}: expected a JSON object, got {_kind(r)}")
        comparisons = _expand(benchmark, r, where, file, number)
        if not comparisons and skipped is not None:
            skipped.append((where, "overall_preference 0 (a tie: no better response)"))
        if benchmark != "pairs":  # our own pairs keep their ids (resume, not this loader, owns that rule)
            first = next((seen[c["key"]] for c in comparisons if c["key"] in seen), None)
            if first is not None:
                raise DataError(f"{where}: item id {comparisons[0]['id']!r} repeats {first}; ids must be unique")
            seen.update((c["key"], where) for c in comparisons)
        if benchmark == "rewardbench" and r["subset"] not in REWARDBENCH_EXAMPLE_COUNTS:
            unknown.setdefault(r["subset"], where)
        out.extend(comparisons)
    if unknown:
        (name, where), *more = unknown.items()
        others = f" (and {len(more)} more: {', '.join(repr(s) for s, _ in more)})" if more else ""
        raise DataError(f"{where}: unknown RewardBench subset {name!r}{others}; expected one of the filtered split's 23 subsets")
    return out
