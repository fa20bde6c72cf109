"""``rmr1 distill-data``: two-pass teacher traces against a real OpenAI-compatible HTTP server.

The "teacher" is a real server on 127.0.0.1 whose replies come from the project's bundled traces
(``data/traces/cor_traces.jsonl``): in pass 1 it answers some tasks correctly, flips the verdict of
others, cuts one off and drops the format of another; in pass 2 (it sees the correction prompt) it
returns the correct trace. So the whole path — HTTP client, parsing, filtering, logging, resume —
runs for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rmr1_utils.data import load_judge_tasks, task_to_released, write_jsonl
from rmr1_utils.distill_data import CORRECTION_PROMPT, check_trace, correction_messages, distill_data, main
from rmr1_utils.generation import SamplingParams
from rmr1_utils.judgement import parse_judgement
from rmr1_utils.runlog import read_log

from .conftest import DATA_DIR, REPO_ROOT, run_rmr1
from .openai_test_server import OpenAITestServer, last_user_message

TRACES = DATA_DIR / "traces" / "cor_traces.jsonl"


def flip(trace: str) -> str:
    """The same trace with the other verdict (a wrong pass-1 answer)."""
    letter = parse_judgement(trace).verdict
    other = "B" if letter == "A" else "A"
    return trace.replace(f"<answer>[[{letter}]]</answer>", f"<answer>[[{other}]]</answer>")


@pytest.fixture(scope="module")
def tasks():
    """Eight bundled tasks with their traces removed (what a teacher is asked to judge)."""
    loaded = load_judge_tasks(TRACES)[:8]
    return [{k: v for k, v in t.items() if k != "trace"} for t in loaded]


@pytest.fixture(scope="module")
def gold():
    return {t["messages"][-1]["content"]: t["trace"] for t in load_judge_tasks(TRACES)}


def teacher_replies(gold: dict, behaviour: dict):
    """Server replies: pass 1 by ``behaviour[task index]``, pass 2 always the gold trace."""
    order = list(gold)

    def replies(request: dict) -> list[str]:
        messages = request["messages"]
        if "The correct verdict is" in last_user_message(request):
            task_prompt = [m for m in messages if m["role"] == "user"][0]["content"]
            return [gold[task_prompt]]
        prompt = last_user_message(request)
        trace = gold[prompt]
        mode = behaviour.get(order.index(prompt), "right")
        if mode == "wrong":
            return [flip(trace)]
        if mode == "cut":
            return [(trace[: len(trace) // 2], "length")]
        if mode == "no_format":
            return ["Chatbot A is better. " + trace.split("<answer>")[-1]]  # verdict without the chain
        return [trace]

    return replies


def test_check_trace_reasons(gold):
    trace = next(iter(gold.values()))
    letter = parse_judgement(trace).verdict
    winner = "model_a" if letter == "A" else "model_b"
    assert check_trace(trace, winner) is None
    assert check_trace(flip(trace), winner) == "wrong_verdict"
    assert check_trace(trace[: len(trace) // 2], winner) == "truncated"
    assert check_trace("I cannot decide.", winner) == "no_verdict"
    assert check_trace(f"<answer>[[{letter}]]</answer>", winner) == "incomplete_format"


def test_correction_prompt_carries_task_flawed_trace_and_label(tasks, gold):
    task = tasks[0]
    flawed = flip(gold[task["messages"][-1]["content"]])
    messages = correction_messages(task, flawed, "wrong_verdict")
    assert messages[: len(task["messages"])] == task["messages"]
    assert messages[-2] == {"role": "assistant", "content": flawed}
    letter = "A" if task["winner"] == "model_a" else "B"
    other = "B" if letter == "A" else "A"
    assert f"The correct verdict is <answer>[[{letter}]]</answer>" in messages[-1]["content"]
    assert f"concludes that Chatbot {other} is better" in messages[-1]["content"]
    assert CORRECTION_PROMPT.split("{")[0] in messages[-1]["content"]


def test_two_pass_against_real_http_server(tmp_path, tasks, gold):
    behaviour = {1: "wrong", 3: "cut", 5: "no_format", 6: "wrong"}
    with OpenAITestServer(replies=teacher_replies(gold, behaviour)) as server:
        summary = distill_data(
            tasks, "teacher", tmp_path, backend="openai", sampling=SamplingParams(max_new_tokens=900),
            progress=False, backend_options={"base_url": server.url},
        )  # fmt: skip
        requests = server.chat_requests
    assert len(requests) == 8 + 4  # every task once, the four failures once more
    assert summary["pass1_attempted"] == 8 and summary["pass1_accepted"] == 4
    assert summary["pass1_accuracy"] == pytest.approx(0.5)
    assert sorted(summary["pass1_rejected"].items()) == sorted(
        {"wrong_verdict": 2, "truncated": 1, "incomplete_format": 1}.items()
    )
    assert summary["pass2_attempted"] == 4 and summary["pass2_recovered"] == 4
    assert summary["kept"] == 8 and summary["yield"] == 1.0
    # Pass-2 requests show the teacher its own flawed trace and the right verdict.
    second = [r for r in requests if "The correct verdict is" in last_user_message(r)]
    assert len(second) == 4 and all(r["messages"][-2]["role"] == "assistant" for r in second)
    # Kept traces are stored under the original prompt (the student never sees the hint).
    kept = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert [k["id"] for k in kept] == [t["id"] for t in tasks]
    for record, task in zip(kept, tasks):
        assert record["context_messages"][:-1] == task["messages"]
        assert check_trace(record["context_messages"][-1]["content"], record["winner"]) is None
    assert [k["pass"] for k in kept] == [1, 2, 1, 2, 1, 2, 2, 1]
    # The log has every attempt, and the output is what `rmr1 distill` reads.
    assert len(read_log(tmp_path / "log.jsonl")) == 12
    reloaded = load_judge_tasks(tmp_path)
    assert all(t["trace"] for t in reloaded) and len(reloaded) == 8


def test_without_correction_failures_are_dropped_and_counted(tmp_path, tasks, gold):
    with OpenAITestServer(replies=teacher_replies(gold, {0: "wrong", 2: "wrong"})) as server:
        summary = distill_data(
            tasks[:4], "teacher", tmp_path, backend="openai", correction=False, progress=False,
            backend_options={"base_url": server.url},
        )  # fmt: skip
        assert len(server.chat_requests) == 4
    assert summary["kept"] == 2 and summary["yield"] == 0.5 and summary["pass2_attempted"] == 0


def test_resume_asks_nothing_twice(tmp_path, tasks, gold):
    replies = teacher_replies(gold, {1: "wrong", 4: "wrong"})
    with OpenAITestServer(replies=replies) as server:
        options = {"base_url": server.url}
        first = distill_data(tasks[:3], "t", tmp_path, backend="openai", progress=False, backend_options=options, chunk_size=2)
        n_first = len(server.chat_requests)
        assert n_first == 3 + 1
        # A second run over more tasks only asks for the new ones.
        second = distill_data(tasks, "t", tmp_path, backend="openai", progress=False, backend_options=options, chunk_size=2)
        assert len(server.chat_requests) - n_first == 5 + 1
        # A third identical run makes no request at all and reports the same numbers.
        third = distill_data(tasks, "t", tmp_path, backend="openai", progress=False, backend_options=options, chunk_size=2)
        assert len(server.chat_requests) - n_first == 6
    assert first["kept"] == 3 and second == third and second["kept"] == 8


def test_a_kill_mid_line_loses_only_that_line(tmp_path, tasks, gold):
    with OpenAITestServer(replies=teacher_replies(gold, {})) as server:
        options = {"base_url": server.url}
        distill_data(tasks[:4], "t", tmp_path, backend="openai", progress=False, backend_options=options)
        log = tmp_path / "log.jsonl"
        text = log.read_text()
        log.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 1] + text.splitlines()[-1][:40])  # torn last write
        summary = distill_data(tasks[:4], "t", tmp_path, backend="openai", progress=False, backend_options=options)
        assert len(server.chat_requests) == 5  # only the torn one is redone
    assert summary["kept"] == 4


def test_a_sigkill_mid_chunk_resends_only_what_the_log_lacks(tmp_path, gold):
    """A real ``rmr1 distill-data`` over HTTP, killed (SIGKILL) while a chunk's requests are at the
    server: the log loses at most that chunk, and the resumed run asks for exactly the work the log
    lacks — the unlogged pass-1 attempts, plus corrections of rejected traces — never a logged one.

    (A review counted 13 requests on resume "where 12 were left": the difference is the chunk in
    flight at the kill — answered or not, it was not logged, so it is asked again — and corrections
    of pass-1 traces found wrong; nothing logged is ever re-sent.)"""
    chunk = 4
    loaded = load_judge_tasks(TRACES)[:16]
    tasks = [{k: v for k, v in t.items() if k != "trace"} for t in loaded]
    behaviour = {1: "wrong", 6: "cut", 9: "wrong", 14: "no_format"}
    path = write_jsonl(tmp_path / "tasks.jsonl", [task_to_released(t) for t in tasks])
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with OpenAITestServer(replies=teacher_replies(gold, behaviour), delay=0.5) as server:
        command = [sys.executable, "-m", "rmr1_utils", "distill-data", "--tasks", str(path), "--teacher", server.url,
                   "--teacher-model", "t", "--out", str(out), "--chunk-size", str(chunk), "--max-concurrency", str(chunk),
                   "--quiet"]  # fmt: skip
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while len(server.chat_requests) < chunk + 2 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)  # the second chunk's requests are at the server, each answered after 0.5 s
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        sent = len(server.chat_requests)
        logged = read_log(out / "log.jsonl")
        assert 1 <= sent - len(logged) <= chunk, f"{sent} sent, {len(logged)} logged: not killed inside a chunk"
        first = {r["id"]: r for r in logged if r["pass"] == 1}
        missing = [k for k, t in enumerate(tasks) if t["id"] not in first]
        # corrections: of logged pass-1 traces found wrong, and of the missing tasks the teacher will get wrong
        corrections = sum(not r["accepted"] for r in first.values()) + sum(k in behaviour for k in missing)
        subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
        resumed = server.chat_requests[sent:]
    assert len(resumed) == len(missing) + corrections
    asked_again = [last_user_message(r) for r in resumed if "The correct verdict is" not in last_user_message(r)]
    assert sorted(asked_again) == sorted(tasks[k]["messages"][-1]["content"] for k in missing)  # no logged attempt re-sent
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pass1_attempted"] == 16 and summary["pass2_attempted"] == len(behaviour) and summary["kept"] == 16
    assert len(read_log(out / "log.jsonl")) == 16 + len(behaviour)  # every attempt logged once


def test_released_format_traces_are_checked_not_regenerated(tmp_path, gold):
    released = [json.loads(line) for line in TRACES.read_text().splitlines()[:4]]
    released[2]["context_messages"][-1]["content"] = flip(released[2]["context_messages"][-1]["content"])
    released.append({k: v for k, v in released[3].items() if k != "context_messages"} | {
        "id": "no-trace", "context_messages": released[3]["context_messages"][:-1]})  # fmt: skip
    released[3]["id"] = "with-trace"
    path = write_jsonl(tmp_path / "released.jsonl", released)
    with OpenAITestServer(replies=teacher_replies(gold, {})) as server:
        summary = main(
            ["--tasks", str(path), "--teacher", server.url, "--teacher-model", "t", "--out", str(tmp_path / "out"), "--quiet"]
        )
        # One pass-1 request (the record without a trace) and one correction (the flipped trace).
        assert len(server.chat_requests) == 2
    assert summary["provided_traces"] == 4 and summary["pass1_accepted"] == 4 and summary["pass2_recovered"] == 1
    assert summary["kept"] == 5
    kept = [json.loads(line) for line in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert [k["pass"] for k in kept] == [0, 0, 2, 0, 1]


def test_cli_with_endpoint_teacher_keeps_the_key_out_of_files(tmp_path, tasks, gold):
    secret = "sk-test-distill-0123456789"
    path = write_jsonl(tmp_path / "tasks.jsonl", [task_to_released(t) for t in tasks[:3]])
    with OpenAITestServer(replies=teacher_replies(gold, {0: "wrong"}), api_key=secret) as server:
        proc = run_rmr1(
            "distill-data", "--tasks", str(path), "--teacher", server.url, "--teacher-model", "teacher",
            "--api-key-env", "RMR1_TEST_TEACHER_KEY", "--out", str(tmp_path / "out"),
            env={"RMR1_TEST_TEACHER_KEY": secret},
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "pass 1: 2/3 accepted" in proc.stdout and "pass 2: 1/1 recovered" in proc.stdout and "yield 100.0%" in proc.stdout
    for f in (tmp_path / "out").iterdir():
        assert secret not in f.read_text()
    assert secret not in proc.stdout + proc.stderr


def test_bad_task_file_is_one_line_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"context_messages": [{"role": "user", "content": "q"}], "winner": "tie"}) + "\n")
    proc = run_rmr1("distill-data", "--tasks", str(bad), "--teacher", "tiny-random", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("rmr1 distill-data: error:") and "record 1" in proc.stderr


def test_local_teacher_runs_through_generation_backend(tmp_path, tiny, tasks):
    """A local model as teacher (tiny random weights: every trace is rejected, both passes run)."""
    summary = distill_data(
        tasks[:2], tiny, tmp_path, backend="transformers", sampling=SamplingParams(max_new_tokens=8), progress=False
    )
    assert summary["pass1_attempted"] == 2 and summary["pass2_attempted"] == 2
    assert summary["kept"] == 0 and summary["yield"] == 0.0
    assert (tmp_path / "train.jsonl").read_text() == ""
