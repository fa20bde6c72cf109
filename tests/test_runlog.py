"""The run log every judging stage writes through: append-only, torn-line safe, and never mixing two runs."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmr1_utils.errors import DataError
from rmr1_utils.runlog import RunLog, RunMismatchError, file_fingerprint, read_identity, read_log

from .conftest import DATA_DIR, REPO_ROOT, run_rmr1

QUICKSTART = DATA_DIR / "quickstart_pairs.jsonl"


def test_append_reopen_and_torn_last_line(tmp_path):
    path = tmp_path / "log.jsonl"
    log = RunLog(path, {"model": "m", "seed": 0})
    log.append([{"key": "a", "v": 1}, {"key": "b", "v": 2}])
    assert read_identity(path) == {"model": "m", "seed": 0}
    with path.open("a") as f:
        f.write('{"key": "c", "v"')  # what a kill in the middle of a write leaves
    reopened = RunLog(path, {"seed": 0, "model": "m"})  # same identity, any key order
    assert [r["key"] for r in reopened.records] == ["a", "b"] and reopened.keys == {"a", "b"}
    assert path.read_text().endswith("\n") and len(path.read_text().splitlines()) == 3  # torn line cut from the file
    assert reopened.pending([{"key": k} for k in "abcd"]) == [{"key": "c"}, {"key": "d"}]
    with pytest.raises(ValueError, match="already logged"):
        reopened.append([{"key": "a"}])
    with pytest.raises(ValueError, match="already logged"):
        reopened.append([{"key": "x"}, {"key": "x"}])


def test_damage_before_the_last_line_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "log.jsonl"
    RunLog(path, {"m": 1}).append([{"key": "a"}, {"key": "b"}])
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "garbage\n" + "".join(lines[1:]))
    with pytest.raises(DataError, match=r"log.jsonl: line 2: not a valid log line"):
        RunLog(path, {"m": 1})
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps({"rmr1_run": {"m": 1}}) + "\n" + json.dumps({"key": "a"}) + "\n" + json.dumps({"key": "a"}) + "\n")
    with pytest.raises(DataError, match="line 3: key 'a' appears twice"):
        RunLog(dup, {"m": 1})


def test_another_runs_log_stops_and_restart_keeps_the_old_one(tmp_path):
    path = tmp_path / "log.jsonl"
    RunLog(path, {"model": "small", "max_new_tokens": 512}).append([{"key": "a"}])
    with pytest.raises(RunMismatchError) as e:
        RunLog(path, {"model": "large", "max_new_tokens": 512})
    message = str(e.value)
    assert "\n" not in message and "model: small -> large" in message and "--restart" in message
    fresh = RunLog(path, {"model": "large", "max_new_tokens": 512}, restart=True)
    assert fresh.records == [] and fresh.moved_to == tmp_path / "log.jsonl.old-1"
    assert read_log(fresh.moved_to) == [{"key": "a"}]
    RunLog(path, {"model": "other"}, restart=True)
    assert (tmp_path / "log.jsonl.old-2").exists()  # a second restart never overwrites the first set-aside log
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_text(json.dumps({"key": "a"}) + "\n")  # lines but no identity: whose run was it?
    with pytest.raises(RunMismatchError, match="without a run identity"):
        RunLog(legacy, {"model": "m"})


def test_memory_only_log_and_bad_paths(tmp_path):
    log = RunLog(None, {"m": 1})
    log.append([{"key": "a"}])
    assert log.keys == {"a"} and not list(tmp_path.iterdir())
    with pytest.raises(DataError, match="is a folder"):
        RunLog(tmp_path, {"m": 1})
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(DataError, match="not a UTF-8"):
        read_log(binary)
    assert file_fingerprint(tmp_path / "none") == "missing"
    assert file_fingerprint(QUICKSTART) == file_fingerprint(QUICKSTART) != file_fingerprint(binary)


def _judge_command(out, *extra):
    return [sys.executable, "-m", "rmr1_utils", "judge", "--model", "tiny-random", "--backend", "transformers",
            "--data", str(QUICKSTART), "--both-orders", "--max-new-tokens", "5", "--batch-size", "1",
            "--out", str(out), "--quiet", *extra]  # fmt: skip


def _kill_when(proc, path, at_least, timeout=180):
    """SIGKILL ``proc`` once ``path`` holds ``at_least`` logged records; returns how many it held."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if path.exists() and path.read_text().count("\n") - 1 >= at_least:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(read_log(path))


def test_rmr1_judge_logs_as_it_goes_and_resumes_after_sigkill(tmp_path):
    """A random kill point; the resumed log equals an uninterrupted run's, record for record."""
    killed = tmp_path / "killed.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(_judge_command(killed), cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    at_kill = _kill_when(proc, killed, random.Random(os.getpid()).randint(1, 10))
    assert 1 <= at_kill < 16, f"the run was not interrupted mid-way ({at_kill} judgements logged)"
    subprocess.run(_judge_command(killed), cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    clean = tmp_path / "clean.jsonl"
    subprocess.run(_judge_command(clean), cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    resumed, uninterrupted = read_log(killed), read_log(clean)
    assert len(resumed) == 16 and len({r["key"] for r in resumed}) == 16  # 8 pairs × 2 orders, none twice
    assert resumed == uninterrupted
    summary = json.loads(killed.with_suffix(".summary.json").read_text())
    assert summary == json.loads(clean.with_suffix(".summary.json").read_text())


def test_rerun_with_other_settings_stops_in_one_line_and_restart_starts_afresh(tmp_path):
    out = tmp_path / "judgements.jsonl"

    def args(max_new_tokens):
        return ["judge", "--model", "tiny-random", "--data", str(QUICKSTART), "--limit", "2", "--max-new-tokens",
                str(max_new_tokens), "--out", str(out), "--quiet"]  # fmt: skip

    assert run_rmr1(*args(3)).returncode == 0
    again = run_rmr1(*args(3))  # same run: everything is in the log, nothing is generated
    assert again.returncode == 0 and len(read_log(out)) == 2
    other = run_rmr1(*args(4))
    lines = other.stderr.strip().splitlines()
    assert other.returncode == 2 and len(lines) == 1 and "Traceback" not in other.stderr
    assert "another run" in lines[0] and '"max_new_tokens": 3' in lines[0] and "--restart" in lines[0]
    restarted = run_rmr1(*args(4), "--restart")
    assert restarted.returncode == 0, restarted.stderr
    assert read_identity(out)["sampling"]["max_new_tokens"] == 4
    assert read_identity(tmp_path / "judgements.jsonl.old-1")["sampling"]["max_new_tokens"] == 3


def test_evaluate_refuses_to_resume_another_models_log(tmp_path):
    bench = REPO_ROOT / "data" / "bench" / "rewardbench_sample.jsonl"
    args = ["evaluate", "--benchmark", "rewardbench", "--data", str(bench), "--limit", "2", "--max-new-tokens", "3",
            "--out", str(tmp_path), "--quiet", "--backend", "transformers"]  # fmt: skip
    assert run_rmr1(*args, "--model", "tiny-random").returncode == 0
    other = run_rmr1(*args, "--model", "embedded")
    assert other.returncode == 2 and "another run" in other.stderr and "model:" in other.stderr
    assert "Traceback" not in other.stderr and len(other.stderr.strip().splitlines()) == 1
    assert len(read_log(tmp_path / "log.jsonl")) == 2  # the first run's judgements are untouched


def test_duplicate_pair_ids_are_an_error_naming_both_records(tmp_path):
    data = tmp_path / "pairs.jsonl"
    pair = {"id": "same", "prompt": "q", "chosen": "a", "rejected": "b"}
    data.write_text(json.dumps(pair) + "\n" + json.dumps({**pair, "id": "other"}) + "\n" + json.dumps(pair) + "\n")
    proc = run_rmr1("judge", "--model", "tiny-random", "--data", str(data), "--max-new-tokens", "2", "--quiet")
    assert proc.returncode == 2 and f"{data}: record 3: id 'same' repeats record 1" in proc.stderr


def _run_killed_and_clean(tmp_path, command, log_of, at_least):
    """Run ``command(out)`` killed by SIGKILL at a random point, resume it, and run it uninterrupted."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen(command(killed), cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    at_kill = _kill_when(proc, log_of(killed), random.Random(os.getpid()).randint(*at_least))
    subprocess.run(command(killed), cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    subprocess.run(command(clean), cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return at_kill, killed, clean


def test_evaluate_resumes_rmbench_files_whose_ids_collide_across_domains(tmp_path):
    """The official RM-Bench chat and code files share item ids: keys hold the domain, so a killed and
    resumed run judges every comparison of both files exactly once, like an uninterrupted run."""
    data = tmp_path / "rmbench"
    data.mkdir()
    for domain in ("chat", "code"):
        items = [{"id": k, "prompt": f"{domain} question {k}", "chosen": [f"good {domain} {k} {s}" for s in "abc"],
                  "rejected": [f"bad {domain} {k} {s}" for s in "abc"]} for k in (1, 2)]  # fmt: skip
        (data / f"{domain}_filtered.json").write_text(json.dumps(items))

    def command(out):
        return [sys.executable, "-m", "rmr1_utils", "evaluate", "--benchmark", "rmbench", "--data", str(data),
                "--model", "tiny-random", "--backend", "transformers", "--max-new-tokens", "4", "--chunk-size", "2",
                "--out", str(out), "--quiet"]  # fmt: skip

    at_kill, killed, clean = _run_killed_and_clean(tmp_path, command, lambda out: out / "log.jsonl", (2, 20))
    assert 2 <= at_kill < 36, f"the run was not interrupted mid-way ({at_kill} comparisons logged)"
    resumed, uninterrupted = read_log(killed / "log.jsonl"), read_log(clean / "log.jsonl")
    assert len(resumed) == 36 and len({r["key"] for r in resumed}) == 36  # 2 domains × 2 items × 9 cells
    assert {(r["domain"], r["id"]) for r in resumed} == {(d, k) for d in ("chat", "code") for k in (1, 2)}
    assert sorted(resumed, key=lambda r: r["key"]) == sorted(uninterrupted, key=lambda r: r["key"])
    summary = json.loads((killed / "summary.json").read_text())
    assert {k: v for k, v in summary.items() if k != "data"} == {
        k: v for k, v in json.loads((clean / "summary.json").read_text()).items() if k != "data"
    }


def test_best_of_n_resumes_picks_and_judgements_after_sigkill(tmp_path):
    data = tmp_path / "candidates.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Name colour number {k}.", "candidates": ["red", "green", f"blue {k}"]})
                            + "\n" for k in range(6)))  # fmt: skip

    def command(out):
        return [sys.executable, "-m", "rmr1_utils", "best-of-n", "--data", str(data), "--judge", "tiny-random",
                "--backend", "transformers", "--max-new-tokens", "4", "--tournament", "round-robin",
                "--out", str(out) + ".jsonl", "--quiet"]  # fmt: skip

    at_kill, killed, clean = _run_killed_and_clean(tmp_path, command, lambda out: Path(str(out) + ".jsonl"), (1, 4))
    assert 1 <= at_kill < 6, f"the run was not interrupted mid-way ({at_kill} picks logged)"
    resumed, uninterrupted = read_log(str(killed) + ".jsonl"), read_log(str(clean) + ".jsonl")
    assert [p["record"] for p in resumed] == list(range(1, 7)) and resumed == uninterrupted
    cache = read_log(str(killed) + ".jsonl.judgements.jsonl")
    assert len(cache) == len({r["key"] for r in cache}) == 6 * 6  # 6 prompts × 3·2 ordered matches, each judged once


def test_distill_data_resumes_after_sigkill_without_asking_twice(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps({"id": f"t{k}", "messages": [{"role": "user", "content": f"Judge pair {k}."}],
                                         "winner": "model_a" if k % 2 else "model_b"}) + "\n" for k in range(8)))  # fmt: skip

    def command(out):
        return [sys.executable, "-m", "rmr1_utils", "distill-data", "--tasks", str(tasks), "--teacher", "tiny-random",
                "--backend", "transformers", "--max-new-tokens", "4", "--chunk-size", "1", "--out", str(out),
                "--quiet"]  # fmt: skip

    at_kill, killed, clean = _run_killed_and_clean(tmp_path, command, lambda out: out / "log.jsonl", (1, 6))
    assert 1 <= at_kill < 16, f"the run was not interrupted mid-way ({at_kill} attempts logged)"
    resumed, uninterrupted = read_log(killed / "log.jsonl"), read_log(clean / "log.jsonl")
    assert sorted(r["key"] for r in resumed) == sorted(r["key"] for r in uninterrupted)  # nothing asked twice, nothing lost
    assert len(resumed) == len({r["key"] for r in resumed}) == 16  # pass 1 and pass 2 of 8 tasks (random model: all wrong)
    assert json.loads((killed / "summary.json").read_text()) == json.loads((clean / "summary.json").read_text())
