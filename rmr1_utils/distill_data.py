"""Teacher traces for distillation, with RM-R1's two-pass correction (``rmr1 distill-data``).

Stage 1 of RM-R1 trains the ReasRM on chain-of-rubrics traces written by a stronger teacher.

* **Pass 1** — the teacher judges each task zero-shot, exactly as the student will see it.
* **Pass 2** — every trace that does not parse completely or reaches the wrong (or no) verdict
  goes back to the teacher with its flawed trace and the correct verdict; the teacher writes a
  corrected chain from the beginning.
* **Filter** — only traces that parse completely (type, rubric/solution, eval, one answer tag)
  and reach the labelled verdict are kept. The kept trace is stored under the *original* prompt,
  so the student never sees the hint.

The teacher is any generation backend: a local model (transformers or vLLM), an
OpenAI-compatible endpoint (``--teacher http://host:port/v1 --teacher-model NAME``; the key comes
from ``--api-key-env``, never from a file), or ``--teacher rule``: exact traces written by a rule for
verifiable tasks (:mod:`rmr1_utils.rule_teacher`; tasks it cannot judge are counted and skipped).
Tasks already carrying a trace (the released RM-R1 SFT format, ``context_messages`` ending with the
assistant message) are checked like pass-1 output and, when wrong, corrected in pass 2.

Every attempt is appended to ``OUT/log.jsonl`` and fsynced chunk by chunk
(:class:`~rmr1_utils.runlog.RunLog`); a restart with the same ``OUT`` skips what is logged, so an
interrupted run never repeats (or pays again for) a logged request. What a kill can cost is the
chunk in flight: its requests, answered or not, are logged together when the whole chunk is back,
so a resumed run sends them again — at most ``--chunk-size`` requests (tested with a real SIGKILL:
the resumed run asks for exactly the pass-1 attempts the log lacks, plus corrections of the traces
found wrong). The log records the teacher
and its sampling settings (a rerun with another teacher stops with one line; ``--restart`` sets the
old log aside), and each attempt's key holds a fingerprint of its task, so a task file edited
between runs never reuses an attempt made for another prompt. ``OUT/train.jsonl`` (released
format, loadable by ``rmr1 distill``) and ``OUT/summary.json`` are rewritten from the log at the end.

How we differ from the paper: RM-R1 distilled ~8.7K traces from Claude-3.7-Sonnet and
OpenAI-o3 and corrected about a quarter of them; the exact correction prompt is not published,
so :data:`CORRECTION_PROMPT` is ours. Acceptance here is stricter than the reward's 80-character
tail check: a kept trace must be *format-complete* as well as correct.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rmr1_utils.data import check_unique_ids, judge_tasks_file, load_judge_tasks, task_to_released, write_jsonl
from rmr1_utils.generation import BACKENDS, GenerationBackend, SamplingParams, backend_for
from rmr1_utils.judgement import parse_judgement, winner_to_letter
from rmr1_utils.rule_teacher import RuleTeacher
from rmr1_utils.runlog import RunLog, generate_into_log, model_identity
from rmr1_utils.stage import (
    add_endpoint_arguments,
    data_path,
    endpoint_options,
    non_negative_float,
    non_negative_int,
    output_folder,
    parse_stage_args,
    positive_int,
    probability,
    stage_parser,
)

#: The pass-2 instruction, sent as a new user turn after the teacher's flawed trace.
CORRECTION_PROMPT = (
    "Your evaluation above does not reach the correct final judgment: {problem}. "
    "The correct verdict is <answer>[[{letter}]]</answer>: Chatbot {letter}'s response is the better one.\n\n"
    "Write a new evaluation from the beginning that strictly follows the required output format and whose "
    "reasoning genuinely supports this verdict: classify the task, give the rubric with weights and its "
    "justification (Chat) or your own solution (Reasoning), compare both Chatbots with quotes or summaries "
    "inside <eval>, and end with <answer>[[{letter}]]</answer>. Write it as a first judgement: do not mention "
    "this instruction, your earlier attempt or that the verdict was given."
)

#: Why a trace is rejected, in the order they are checked.
REJECT_REASONS = ("truncated", "no_verdict", "wrong_verdict", "incomplete_format")


def check_trace(text: str, winner: str) -> str | None:
    """Why a trace cannot be kept, or ``None`` when it can.

    Args:
        text: the teacher's completion.
        winner: the task's label (``"model_a"``/``"model_b"``).

    Returns:
        ``None`` for a keepable trace, else one of :data:`REJECT_REASONS`.
    """
    parsed = parse_judgement(text)
    if parsed.truncated:
        return "truncated"
    if parsed.verdict is None:
        return "no_verdict"
    if parsed.verdict != winner_to_letter(winner):
        return "wrong_verdict"
    if not parsed.format_complete:
        return "incomplete_format"
    return None


def correction_messages(task: dict, flawed: str, reason: str) -> list[dict]:
    """The pass-2 conversation: the task, the teacher's flawed trace and the correction request.

    Args:
        task: the judge task (``messages``, ``winner``).
        flawed: the rejected trace.
        reason: why it was rejected (one of :data:`REJECT_REASONS`).

    Returns:
        Chat messages for the teacher.
    """
    letter = winner_to_letter(task["winner"])
    other = "B" if letter == "A" else "A"
    problem = {
        "truncated": "it stops before the final verdict",
        "no_verdict": "it gives no final verdict in the required format",
        "wrong_verdict": f"it concludes that Chatbot {other} is better",
        "incomplete_format": "the verdict is right but the required format is incomplete",
    }[reason]
    return [
        *task["messages"],
        {"role": "assistant", "content": flawed},
        {"role": "user", "content": CORRECTION_PROMPT.format(problem=problem, letter=letter)},
    ]


def _task_fingerprint(task: dict) -> str:
    """A short hash of what the teacher is asked (prompt, label, provided trace)."""
    text = json.dumps([task["messages"], task["winner"], task.get("trace")], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def distill_data(
    tasks: Sequence[dict],
    teacher: Any,
    out: str | Path,
    backend: str | GenerationBackend = "auto",
    sampling: SamplingParams | None = None,
    correction: bool = True,
    chunk_size: int = 8,
    progress: bool = True,
    backend_options: dict | None = None,
    restart: bool = False,
) -> dict:
    """Generate, correct and filter teacher traces; resumable.

    Args:
        tasks: judge tasks (:func:`rmr1_utils.data.load_judge_tasks`); a task with ``trace``
            uses it instead of asking the teacher in pass 1.
        teacher: model name/path or ``(model, tokenizer)`` for a local teacher; for an endpoint,
            the served model name (with ``backend="openai"`` and ``base_url`` in
            ``backend_options``). Ignored when ``backend`` is a ready backend.
        out: output folder (``log.jsonl``, ``train.jsonl``, ``summary.json``).
        backend: ``"auto"``, a backend name, or a ready :class:`GenerationBackend`.
        sampling: sampling parameters (default: greedy, 1024 new tokens, seed 0).
        correction: run pass 2 on rejected traces.
        chunk_size: prompts generated (and logged) together.
        progress: show progress bars.
        backend_options: options for a backend built by name (``base_url``, ``api_key_env``…).
        restart: set an existing ``out/log.jsonl`` aside and start afresh.

    Returns:
        The summary (also in ``out/summary.json``): ``tasks``, ``pass1_attempted``,
        ``pass1_accepted``, ``pass1_accuracy``, ``pass1_rejected`` (by reason),
        ``pass2_attempted``, ``pass2_recovered``, ``pass2_recovery``, ``kept``, ``yield``,
        ``kept_by_domain``.
    """
    out = Path(out)
    sampling = sampling or SamplingParams(max_new_tokens=1024)
    check_unique_ids(((None, number, task["id"]) for number, task in enumerate(tasks, 1)), noun="task")
    rule = isinstance(backend, RuleTeacher)
    unverifiable = [t for t in tasks if rule and "trace" not in t and not backend.knows(t)]
    if unverifiable:  # the rule teacher writes traces for verifiable tasks only: count the rest
        skipped = {t["id"] for t in unverifiable}
        tasks = [t for t in tasks if t["id"] not in skipped]
    identity = {
        "stage": "distill-data", "teacher": model_identity(backend if not isinstance(backend, str) else teacher),
        "backend": backend if isinstance(backend, str) else backend.name, "sampling": sampling.to_dict(),
    }  # fmt: skip
    log = RunLog(out / "log.jsonl", identity, restart=restart)
    fingerprints = {t["id"]: _task_fingerprint(t) for t in tasks}
    attempts: dict[tuple[str, int], dict] = {
        (r["id"], r["pass"]): r for r in log.records if fingerprints.get(r["id"]) == r.get("task")
    }
    engine: GenerationBackend | None = None

    def record_of(task: dict, number: int, text: str, completion=None) -> dict:
        reason = check_trace(text, task["winner"])
        record = {"key": f"{task['id']}#{number}#{fingerprints[task['id']]}", "id": task["id"], "task": fingerprints[task["id"]],
                  "pass": number, "completion": text, "reason": reason, "accepted": reason is None}  # fmt: skip
        if completion is not None:
            record.update(finished=completion.finished, num_tokens=completion.num_tokens)
        return record

    def run_pass(number: int, todo: list[tuple[dict, list[dict]]]) -> None:
        nonlocal engine
        if not todo:
            return
        if engine is None:
            engine = backend_for(backend, teacher, len(todo), sampling.max_new_tokens, **(backend_options or {}))

        def records_of(item: tuple, completions: list) -> list[dict]:
            return [record_of(item[0], number, completions[0].text, completions[0])]

        new = generate_into_log(
            engine, todo, lambda item: item[1], records_of, log, sampling, chunk_size=chunk_size, progress=progress,
            desc=f"teacher pass {number}",
        )  # fmt: skip
        attempts.update({(r["id"], number): r for r in new})

    # Pass 0: traces that came with the data are checked, not regenerated.
    provided = [record_of(t, 0, t["trace"]) for t in tasks if "trace" in t and (t["id"], 0) not in attempts]
    log.append(provided)
    attempts.update({(r["id"], 0): r for r in provided})
    run_pass(1, [(t, t["messages"]) for t in tasks if "trace" not in t and (t["id"], 1) not in attempts])

    def first(task: dict) -> dict:
        return attempts[(task["id"], 0 if "trace" in task else 1)]

    if correction:
        todo = [
            (t, correction_messages(t, first(t)["completion"], first(t)["reason"]))
            for t in tasks
            if not first(t)["accepted"] and (t["id"], 2) not in attempts
        ]
        run_pass(2, todo)

    kept, pass_of = [], Counter()
    for task in tasks:
        for number in (0, 1, 2):
            attempt = attempts.get((task["id"], number))
            if attempt and attempt["accepted"]:
                kept.append({**task_to_released(task, attempt["completion"]), "pass": number})
                pass_of[number] += 1
                break
    write_jsonl(out / "train.jsonl", kept)

    firsts = [first(t) for t in tasks]
    second = [attempts[(t["id"], 2)] for t in tasks if (t["id"], 2) in attempts]
    accepted1 = sum(r["accepted"] for r in firsts)
    recovered = sum(r["accepted"] for r in second)
    summary = {
        "tasks": len(tasks),
        "skipped_unverifiable": len(unverifiable),
        "provided_traces": sum("trace" in t for t in tasks),
        "pass1_attempted": len(firsts),
        "pass1_accepted": accepted1,
        "pass1_accuracy": accepted1 / len(firsts) if firsts else 0.0,
        "pass1_rejected": dict(Counter(r["reason"] for r in firsts if not r["accepted"])),
        "pass2_attempted": len(second),
        "pass2_recovered": recovered,
        "pass2_recovery": recovered / len(second) if second else 0.0,
        "pass2_rejected": dict(Counter(r["reason"] for r in second if not r["accepted"])),
        "kept": len(kept),
        "kept_by_pass": {str(k): v for k, v in sorted(pass_of.items())},
        "yield": len(kept) / len(tasks) if tasks else 0.0,
        "kept_by_domain": dict(Counter(r["domain"] for r in kept)),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def format_summary(summary: dict) -> str:
    """A short report of pass-1 accuracy, pass-2 recovery and the final yield."""
    lines = [
        f"tasks: {summary['tasks']} ({summary['provided_traces']} with a provided trace)"
        + (
            f"; {summary['skipped_unverifiable']} skipped: not verifiable (rule teacher)"
            if summary.get("skipped_unverifiable")
            else ""
        ),
        f"pass 1: {summary['pass1_accepted']}/{summary['pass1_attempted']} accepted "
        f"(accuracy {summary['pass1_accuracy']:.1%}); rejected: {summary['pass1_rejected'] or '-'}",
        f"pass 2: {summary['pass2_recovered']}/{summary['pass2_attempted']} recovered "
        f"({summary['pass2_recovery']:.1%}); still rejected: {summary['pass2_rejected'] or '-'}",
        f"kept: {summary['kept']}/{summary['tasks']} (yield {summary['yield']:.1%}); "
        f"by domain: {summary['kept_by_domain'] or '-'}",
    ]
    return "\n".join(lines)


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 distill-data`` (standalone when ``subparsers`` is None)."""
    description = "Teacher chain-of-rubrics traces with two-pass correction, filtered to complete and correct ones."
    parser = stage_parser(subparsers, "distill-data", description)
    parser.add_argument(
        "--tasks",
        type=data_path,
        required=True,
        nargs="+",
        help="judge tasks: `rmr1 prepare` output (folder or JSONL) or RM-R1 released format; several are joined",
    )
    parser.add_argument("--split", default="train", help="split to read when --tasks is a folder")
    parser.add_argument(
        "--teacher",
        default="embedded",
        help="a local model ('embedded', folder, Hub id), an endpoint URL (http…/v1), "
        "or 'rule' (exact traces for verifiable tasks)",
    )
    parser.add_argument("--teacher-model", default="default", help="endpoint teacher: the served model name")
    parser.add_argument(
        "--out", type=output_folder, required=True, help="output folder (log.jsonl, train.jsonl, summary.json); reused to resume"
    )
    parser.add_argument(
        "--backend", choices=("auto", *BACKENDS), default="auto", help="local teacher backend (URL teachers use openai)"
    )
    add_endpoint_arguments(parser, role="endpoint teacher")
    parser.add_argument("--limit", type=positive_int, help="only the first N tasks")
    parser.add_argument("--max-new-tokens", type=positive_int, default=1024)
    parser.add_argument("--temperature", type=non_negative_float, default=0.0, help="0 = greedy")
    parser.add_argument("--top-p", type=probability, default=1.0)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed")
    parser.add_argument("--chunk-size", type=positive_int, default=8, help="prompts generated and logged together")
    parser.add_argument("--no-correction", action="store_true", help="skip pass 2")
    parser.add_argument("--restart", action="store_true", help="set an existing log in --out aside and start afresh")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, no report")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 distill-data``.

    Args:
        args: parsed namespace, or an argv list (``None`` reads ``sys.argv``).

    Returns:
        The summary (see :func:`distill_data`).
    """
    args = parse_stage_args(args, make_parser)
    numbered = [  # (file, record number, task): a repeated id is reported with its file and records
        (str(judge_tasks_file(path, args.split)), number, task)
        for path in args.tasks
        for number, task in enumerate(load_judge_tasks(path, split=args.split), 1)
    ]
    numbered = numbered[: args.limit] if args.limit else numbered
    check_unique_ids((file, number, task["id"]) for file, number, task in numbered)
    tasks = [task for _, _, task in numbered]
    endpoint = args.teacher.startswith(("http://", "https://"))
    rule = args.teacher == "rule"
    sampling = SamplingParams(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens, seed=args.seed)
    summary = distill_data(
        tasks,
        teacher=args.teacher_model if endpoint else args.teacher,
        out=args.out,
        backend=RuleTeacher(tasks) if rule else "openai" if endpoint else args.backend,
        sampling=sampling,
        correction=not args.no_correction,
        chunk_size=args.chunk_size,
        progress=not args.quiet,
        backend_options=(endpoint_options(args, args.teacher) if endpoint else None),
        restart=args.restart,
    )
    if not args.quiet:
        print(format_summary(summary))
        print(f"wrote {Path(args.out) / 'train.jsonl'}", file=sys.stderr)
    return summary
