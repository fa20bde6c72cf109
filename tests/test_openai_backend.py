"""The OpenAI-compatible backend against a real local HTTP server (no mocks): order, n, retries, limits, keys."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from pathlib import Path

import pytest

from rmr1_utils.data import load_pairs
from rmr1_utils.errors import RMR1Error
from rmr1_utils.generation import BackendError, GenerationBackend, SamplingParams, TransformersBackend
from rmr1_utils.generation.openai import OpenAIBackend
from rmr1_utils.judge import judge
from rmr1_utils.judgement import parse_judgement

from .conftest import DATA_DIR
from .openai_test_server import Fault, OpenAITestServer, last_user_message

SECRET = "sk-test-SECRET123"
QUICKSTART = DATA_DIR / "quickstart_pairs.jsonl"


def conversations(k: int) -> list[list[dict]]:
    return [[{"role": "system", "content": "You are terse."}, {"role": "user", "content": f"question {i}"}] for i in range(k)]


@pytest.fixture
def serve():
    """Start test servers with any options; all are closed at teardown."""
    servers: list[OpenAITestServer] = []

    def start(**kwargs) -> OpenAITestServer:
        server = OpenAITestServer(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def no_ambient_key(monkeypatch):
    """A key from the developer's shell must not leak into (or change) these tests."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def client(server: OpenAITestServer, **kwargs) -> OpenAIBackend:
    """A backend with test-sized timings: retries in milliseconds instead of seconds."""
    options = {"backoff_base": 0.01, "backoff_max": 0.2, "timeout": 5.0, **kwargs}
    return OpenAIBackend(server.url, "test-model", **options)


# ---------------------------------------------------------------------------- results


def test_completions_come_back_in_input_order(serve):
    def slow_first(request):
        # Earlier questions answer later, so arrival order is not input order.
        i = int(last_user_message(request).split()[-1])
        time.sleep(0.03 * (8 - i))
        return [f"answer to {last_user_message(request)}"]

    server = serve(replies=slow_first)
    backend = client(server, max_concurrency=4)
    assert isinstance(backend, GenerationBackend) and backend.name == "openai"
    out = backend.generate(conversations(8), SamplingParams(max_new_tokens=7), progress=True)
    assert [[c.text for c in cs] for cs in out] == [[f"answer to question {i}"] for i in range(8)]
    assert all(c.finished and c.num_tokens == 4 for cs in out for c in cs)  # usage.completion_tokens
    sent = server.chat_requests[0]
    assert sent["model"] == "test-model" and sent["messages"] == conversations(8)[int(sent["messages"][1]["content"][-1])]
    assert {k: sent[k] for k in ("n", "temperature", "top_p", "max_tokens", "seed")} == {
        "n": 1,
        "temperature": 0.0,
        "top_p": 1.0,
        "max_tokens": 7,
        "seed": 0,
    }
    assert backend.generate([], SamplingParams()) == []


def test_n_choices_come_from_one_request(serve):
    server = serve()
    out = client(server).generate(conversations(3), SamplingParams(n=3, temperature=0.7, seed=5), progress=False)
    assert [len(cs) for cs in out] == [3, 3, 3]
    for i, cs in enumerate(out):
        assert [c.text for c in cs] == [f"echo: question {i} | seed=5 | choice={k}" for k in range(3)]
    assert len(server.chat_requests) == 3 and all(r["n"] == 3 and r["temperature"] == 0.7 for r in server.chat_requests)


def test_server_ignoring_n_is_topped_up_with_reseeded_requests(serve):
    server = serve(ignore_n=True)
    out = client(server, max_concurrency=2).generate(
        conversations(2), SamplingParams(n=3, temperature=1.0, seed=10), progress=False
    )
    for i, cs in enumerate(out):
        # One choice per response: three requests, each with its own seed, so three different samples.
        assert [c.text for c in cs] == [f"echo: question {i} | seed={10 + k} | choice=0" for k in range(3)]
    per_conversation = {}
    for r in server.chat_requests:
        per_conversation.setdefault(last_user_message(r), []).append((r["n"], r["seed"]))
    assert all(sorted(v) == [(1, 12), (2, 11), (3, 10)] for v in per_conversation.values())


def test_finish_reason_null_content_and_token_counts(serve):
    def replies(request):
        return [(None, "length"), ("one two three four", "stop"), ("x" * 30, "length")][: request["n"]]

    with_usage = serve(replies=replies)
    out = client(with_usage).generate(conversations(1), SamplingParams(n=3, temperature=1.0), progress=False)[0]
    assert [c.text for c in out] == ["", "one two three four", "x" * 30]
    assert [c.finished for c in out] == [False, True, False]
    # The server reports 5 tokens in all; the client splits them by text length (18 vs 30 chars).
    assert sum(c.num_tokens for c in out) == 5 and out[0].num_tokens == 0 and out[1].num_tokens < out[2].num_tokens

    without_usage = serve(replies=replies, include_usage=False)
    out = client(without_usage).generate(conversations(1), SamplingParams(n=3, temperature=1.0), progress=False)[0]
    assert [c.num_tokens for c in out] == [0, 4, 1]  # whitespace-word estimate


def test_extra_body_is_merged_and_can_remove_fields(serve):
    server = serve()
    backend = client(server, extra_body={"top_k": 20, "max_tokens": None, "max_completion_tokens": 9})
    backend.generate(conversations(1), SamplingParams(), progress=False)
    sent = server.chat_requests[0]
    assert sent["top_k"] == 20 and sent["max_completion_tokens"] == 9 and "max_tokens" not in sent


def test_works_inside_a_running_event_loop(serve):
    """As in Jupyter: generate() is called from a coroutine while an event loop runs."""
    server = serve()

    async def main():
        return client(server).generate(conversations(2), SamplingParams(), progress=False)

    out = asyncio.run(main())
    assert [cs[0].text for cs in out] == [f"echo: question {i} | seed=0 | choice=0" for i in range(2)]


# ---------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    "fault, reason",
    [
        (Fault.http(429), "HTTP 429"),
        (Fault.http(429, retry_after=0), "HTTP 429"),
        (Fault.http(500), "HTTP 500"),
        (Fault.http(503), "HTTP 503"),
        (Fault.drop(), "RemoteProtocolError"),
        (Fault.sleep(2.0), "ReadTimeout"),
        # A 200 that is not a chat completion (a proxy's error page, a worker that died mid-write):
        # retried like a 5xx, not taken as an empty answer and not a traceback.
        (Fault.raw("<html><body>502 Bad Gateway</body></html>"), "HTTP 200 with an unparsable body (not JSON)"),
        (Fault.raw('{"id": "chatcmpl-1", "object": "chat.completion"'), "HTTP 200 with an unparsable body (not JSON)"),
        (Fault.raw('{"object": "chat.completion", "choices": []}'), "HTTP 200 with an unparsable body (no choices)"),
        (Fault.raw('{"choices": [{"index": 0, "finish_reason": "stop"}]}'), "(a choice without message content)"),
        (Fault.raw('{"choices": [{"message": {"role": "assistant"}}]}'), "(a choice without message content)"),
        (Fault.raw('{"choices": [{"message": {"content": ["x"]}}]}'), "(a message whose content is not text)"),
        (Fault.raw("[1, 2]"), "(a JSON list, not an object)"),
    ],
    ids=["429", "429-retry-after", "500", "503", "dropped-connection", "timeout", "200-html", "200-torn-json",
         "200-no-choices", "200-no-message", "200-no-content", "200-content-not-text", "200-json-list"],
)  # fmt: skip
def test_transient_failures_are_retried(serve, caplog, fault, reason):
    server = serve(faults=[fault, fault])
    caplog.set_level(logging.WARNING, logger="rmr1_utils.generation.openai")
    out = client(server, timeout=0.3, max_retries=3).generate(conversations(1), SamplingParams(), progress=False)
    assert out[0][0].text == "echo: question 0 | seed=0 | choice=0"
    assert len(server.chat_requests) == 3  # two failures, then the answer
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all(reason in w and server.url in w for w in warnings)
    assert "retry 1/3" in warnings[0] and "retry 2/3" in warnings[1]


def test_unparsable_200_gives_up_with_one_line_error_after_the_same_backoff(serve, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    # A careless server (or proxy) echoing the key in the broken body: it must not reach the message.
    server = serve(faults=[Fault.raw(f"upstream error for key {SECRET}")] * 10)
    start = time.monotonic()
    with pytest.raises(BackendError) as info:
        client(server, max_retries=2, backoff_base=0.2, backoff_max=1.0).generate(
            conversations(1), SamplingParams(), progress=False
        )
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert isinstance(info.value, RMR1Error) and "\n" not in message
    assert message.startswith(f"POST {server.url}/chat/completions failed: HTTP 200 with an unparsable body (not JSON)")
    assert "after 3 attempts" in message and "upstream error for key ***" in message
    assert SECRET not in message and SECRET not in caplog.text
    assert (info.value.status, info.value.attempts) == (200, 3) and len(server.chat_requests) == 3
    # Exponential backoff with equal jitter: at least half of 0.2 s, then half of 0.4 s.
    assert elapsed >= 0.3
    assert info.value.completed == [None] and info.value.answered == []


def test_redirects_are_not_retried(serve):
    server = serve(faults=[Fault.raw("moved", status=301)])
    with pytest.raises(BackendError, match=r"HTTP 301 on attempt 1 \(not retried\)") as info:
        client(server).generate(conversations(1), SamplingParams(), progress=False)
    assert info.value.status == 301 and len(server.chat_requests) == 1


def test_retry_after_is_honoured_and_capped(serve):
    server = serve(faults=[Fault.http(429, retry_after=1)])
    start = time.monotonic()
    client(server, backoff_max=5.0).generate(conversations(1), SamplingParams(), progress=False)
    assert time.monotonic() - start >= 0.95  # waited the server's second, not backoff_base's 10 ms

    server = serve(faults=[Fault.http(503, retry_after=3600)])
    start = time.monotonic()
    client(server, backoff_max=0.2).generate(conversations(1), SamplingParams(), progress=False)
    assert time.monotonic() - start < 2.0  # an hour capped at backoff_max
    assert len(server.chat_requests) == 2


def test_gives_up_after_max_retries_with_one_line_error(serve, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server = serve(faults=[Fault.http(500)] * 10)
    with pytest.raises(BackendError) as info:
        client(server, max_retries=2).generate(conversations(1), SamplingParams(), progress=False)
    message = str(info.value)
    assert isinstance(info.value, RMR1Error)
    assert "\n" not in message and SECRET not in message
    assert f"POST {server.url}/chat/completions" in message and "HTTP 500" in message and "after 3 attempts" in message
    assert (info.value.status, info.value.attempts) == (500, 3)
    assert len(server.chat_requests) == 3  # the first attempt + max_retries


def test_gives_up_on_a_server_that_is_not_there():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff_base=0.01, timeout=2.0)
    with pytest.raises(BackendError, match=r"ConnectError.*after 2 attempts") as info:
        backend.generate(conversations(1), SamplingParams(), progress=False)
    assert info.value.status is None


def test_client_errors_are_not_retried(serve):
    server = serve(faults=[Fault.http(400)])
    backend = client(server)
    with pytest.raises(BackendError, match=r"HTTP 400 on attempt 1 \(not retried\): injected fault 400") as info:
        backend.generate(conversations(1), SamplingParams(), progress=False)
    assert info.value.status == 400 and len(server.chat_requests) == 1


def test_a_failure_stops_the_other_requests(serve):
    """One conversation failing for good ends the call without sending the queued ones."""
    server = serve(faults=[Fault.http(404)], delay=0.05)
    with pytest.raises(BackendError, match="HTTP 404"):
        client(server, max_concurrency=1).generate(conversations(20), SamplingParams(), progress=False)
    assert len(server.chat_requests) < 20


def test_a_late_failure_keeps_every_answer_already_received(serve):
    """Question 5 fails for good after others were answered (and while others are in flight):
    every answer the server sent comes back on the error, in input order; nothing answered is lost."""
    answered = []

    def replies(request):
        question = last_user_message(request)
        if question == "question 5":
            raise RuntimeError("this one always fails")  # the server answers 500
        time.sleep(0.05)
        answered.append(int(question.split()[-1]))
        return [f"answer to {question}"]

    server = serve(replies=replies)
    with pytest.raises(BackendError, match=r"HTTP 500 \(RuntimeError: this one always fails\) after 2 attempts") as info:
        client(server, max_concurrency=3, max_retries=1).generate(conversations(12), SamplingParams(), progress=False)
    completed = info.value.completed
    assert len(completed) == 12 and completed[5] is None
    assert sorted(answered) == info.value.answered  # everything the server answered, nothing else
    assert set(range(5)) <= set(info.value.answered) and len(info.value.answered) < 11  # queued ones were not sent
    for i in info.value.answered:
        assert [c.text for c in completed[i]] == [f"answer to question {i}"]


# ---------------------------------------------------------------------------- concurrency


def test_concurrency_is_bounded(serve):
    server = serve(delay=0.1)
    out = client(server, max_concurrency=3).generate(conversations(12), SamplingParams(), progress=False)
    assert len(out) == 12 and len(server.chat_requests) == 12
    assert server.max_in_flight == 3


# ---------------------------------------------------------------------------- API key


def test_api_key_comes_from_the_environment_as_a_bearer_header(serve, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)  # httpx/httpcore debug logs included
    monkeypatch.setenv("MY_TEACHER_KEY", SECRET)
    server = serve(api_key=SECRET, faults=[Fault.http(429)])
    backend = client(server, api_key_env="MY_TEACHER_KEY")
    monkeypatch.delenv("MY_TEACHER_KEY")  # read once, at construction
    out = backend.generate(conversations(2), SamplingParams(), progress=False)
    assert [cs[0].text for cs in out] == [f"echo: question {i} | seed=0 | choice=0" for i in range(2)]
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {SECRET}"}
    assert any("HTTP 429" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text and SECRET not in repr(backend) and SECRET not in repr(vars(backend))
    assert repr(backend) == f"OpenAIBackend(base_url={server.url!r}, model='test-model')"

    no_key = serve()
    client(no_key).generate(conversations(1), SamplingParams(), progress=False)
    assert "authorization" not in no_key.requests[0].headers  # unset variable: no header at all


def test_wrong_key_is_a_401_that_does_not_leak_the_key(serve, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    server = serve(api_key="sk-the-right-one")
    backend = client(server)
    with pytest.raises(BackendError) as info:
        backend.generate(conversations(1), SamplingParams(), progress=False)
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"  # it did send the key...
    message = str(info.value)
    # ...and the server echoed it back in its error, which the client redacts.
    assert "HTTP 401" in message and "Incorrect API key provided: ***" in message and "\n" not in message
    assert SECRET not in message and SECRET not in repr(info.value) and SECRET not in caplog.text
    assert SECRET not in repr(backend)
    assert len(server.chat_requests) == 1


def test_constructor_validates_arguments():
    with pytest.raises(ValueError, match="max_concurrency"):
        OpenAIBackend("http://x/v1", "m", max_concurrency=0)
    with pytest.raises(ValueError, match="max_retries"):
        OpenAIBackend("http://x/v1", "m", max_retries=-1)
    with pytest.raises(ValueError, match="timeout"):
        OpenAIBackend("http://x/v1", "m", timeout=0)
    assert OpenAIBackend("http://x/v1/", "m").url == "http://x/v1/chat/completions"


# ---------------------------------------------------------------------------- a real model over HTTP

PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Name three colours of the rainbow as a numbered list, please."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
]


def test_greedy_over_http_equals_transformers_backend(serve, tiny):
    model, tokenizer = tiny
    # Batch size 1 on both sides: the server answers one request at a time, and identical
    # computations make greedy decoding identical to the last token.
    local = TransformersBackend(model, tokenizer, batch_size=1)
    server = serve(backend=TransformersBackend(model, tokenizer, batch_size=1))
    params = SamplingParams(max_new_tokens=12)
    remote = client(server, max_concurrency=2).generate(PROMPTS, params, progress=False)
    expected = local.generate(PROMPTS, params, progress=False)
    assert [[(c.text, c.finished, c.num_tokens) for c in cs] for cs in remote] == [
        [(c.text, c.finished, c.num_tokens) for c in cs] for cs in expected
    ]
    assert all(r["max_tokens"] == 12 for r in server.chat_requests)


def test_judge_through_a_served_model(serve, tiny):
    pairs = load_pairs(QUICKSTART, limit=3)
    server = serve(model="tiny-random")  # loads its own copy, as a separate server process would
    sampling = SamplingParams(max_new_tokens=16)
    records = judge(pairs, backend=client(server), sampling=sampling, both_orders=True, progress=False)
    assert len(records) == 6 and {r["id"] for r in records} == {p["id"] for p in pairs}
    for r in records:
        assert r["judgement"] == parse_judgement(r["completion"]).to_dict()
        assert r["correct"] == (r["verdict"] == r["better_position"]) and "consistent" in r
    local = judge(pairs, model=tiny, sampling=sampling, both_orders=True, batch_size=1, progress=False)
    assert [r["completion"] for r in records] == [r["completion"] for r in local]


# ---------------------------------------------------------------------------- the command line

ENDPOINT_STAGES = {
    # stage → arguments that make it call an OpenAI-compatible server at {url}
    "judge": ["--data", str(QUICKSTART), "--limit", "1", "--backend", "openai", "--base-url", "{url}", "--quiet"],
    "evaluate": ["--benchmark", "pairs", "--data", str(QUICKSTART), "--limit", "1", "--backend", "openai",
                 "--base-url", "{url}", "--out", "{tmp}/eval", "--quiet"],
    "best-of-n": ["--data", "{tmp}/candidates.jsonl", "--out", "{tmp}/picks.jsonl", "--judge", "j", "--judge-url", "{url}",
                  "--quiet"],
    "distill-data": ["--tasks", "{tmp}/tasks.jsonl", "--teacher", "{url}", "--teacher-model", "t", "--out", "{tmp}/traces",
                     "--no-correction", "--quiet"],
}  # fmt: skip


def stage_argv(stage: str, url: str, tmp_path, *extra: str) -> list[str]:
    """``rmr1 <stage> …`` calling the server at ``url``, with the input files it needs written to ``tmp_path``."""
    from rmr1_utils.data import load_judge_tasks, task_to_released, write_jsonl

    (tmp_path / "candidates.jsonl").write_text(json.dumps({"prompt": "Q?", "candidates": ["a", "b"]}) + "\n")
    tasks = [{k: v for k, v in t.items() if k != "trace"} for t in load_judge_tasks(DATA_DIR / "traces" / "cor_traces.jsonl")[:6]]
    write_jsonl(tmp_path / "tasks.jsonl", [task_to_released(t) for t in tasks])
    return [stage, *(a.format(url=url, tmp=tmp_path) for a in ENDPOINT_STAGES[stage]), *extra]


def rmr1(argv: list[str], capsys) -> tuple[int, str]:
    """Run the ``rmr1`` command line in this process: (exit code, stderr)."""
    from rmr1_utils import cli

    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("stage", sorted(ENDPOINT_STAGES))
@pytest.mark.parametrize(
    "flag, value, why",
    [
        ("--timeout", "0", "must be > 0, got 0"),
        ("--timeout", "-3", "must be > 0, got -3"),
        ("--timeout", "nan", "expected a finite number, got 'nan'"),
        ("--timeout", "inf", "expected a finite number, got 'inf'"),
        ("--timeout", "soon", "expected a number, got 'soon'"),
        ("--retries", "-1", "must be >= 0, got -1"),
        ("--retries", "2.5", "expected an integer, got '2.5'"),
        ("--max-concurrency", "0", "must be >= 1, got 0"),
    ],
)
def test_endpoint_flags_are_validated_when_parsed(stage, flag, value, why, capsys, tmp_path):
    code, err = rmr1(stage_argv(stage, "http://127.0.0.1:9/v1", tmp_path, flag, value), capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [f"rmr1 {stage}: error: argument {flag}: {why} (see rmr1 {stage} --help)"]


@pytest.mark.parametrize("stage, flag", [("judge", "--base-url"), ("evaluate", "--base-url"), ("best-of-n", "--judge-url")])
def test_endpoint_url_is_validated_when_parsed(stage, flag, capsys, tmp_path):
    argv = stage_argv(stage, "localhost:8000/v1", tmp_path)
    code, err = rmr1(argv, capsys)
    assert code == 2 and err.strip().splitlines()[-1].startswith(f"rmr1 {stage}: error: argument {flag}: expected an http://")


def test_evaluate_openai_backend_needs_a_base_url(capsys, tmp_path):
    argv = ["evaluate", "--benchmark", "pairs", "--data", str(QUICKSTART), "--out", str(tmp_path), "--backend", "openai"]
    code, err = rmr1(argv, capsys)
    assert code == 2 and err.strip().splitlines() == [
        "rmr1 evaluate: error: --backend openai needs --base-url (an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1)"
    ]
    code, err = rmr1([*argv[:-1], "transformers", "--base-url", "http://127.0.0.1:9/v1"], capsys)
    assert code == 2 and "--base-url is for --backend openai" in err


def test_cli_unparsable_answers_end_in_one_line_without_the_key(serve, tmp_path):
    """A real ``rmr1`` process against a server whose 200s are never chat completions (and echo the key)."""
    from .conftest import run_rmr1

    server = serve(faults=[Fault.raw(f"<html>proxy error, key {SECRET}</html>")] * 10)
    proc = run_rmr1(*stage_argv("evaluate", server.url, tmp_path, "--retries", "2"), env={"OPENAI_API_KEY": SECRET})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        f"rmr1 evaluate: error: POST {server.url}/chat/completions failed: HTTP 200 with an unparsable body (not JSON) "
        "(<html>proxy error, key ***</html>) after 3 attempts"
    )
    assert len(server.chat_requests) == 3 and {r.headers["authorization"] for r in server.requests} == {f"Bearer {SECRET}"}
    written = "".join(f.read_text() for f in tmp_path.rglob("*") if f.is_file())
    assert SECRET not in proc.stdout + proc.stderr + written


@pytest.mark.parametrize("stage", sorted(ENDPOINT_STAGES))
def test_timeout_and_retries_reach_the_backend(stage, serve, capsys, tmp_path):
    """Every stage's first request hangs for 2 s: with --timeout 0.3 --retries 1 it times out twice
    (the default timeout would have waited) and the stage ends with one clear line."""
    server = serve(faults=[Fault.sleep(2.0)] * 2)
    code, err = rmr1(
        stage_argv(stage, server.url, tmp_path, "--timeout", "0.3", "--retries", "1", "--max-concurrency", "1"), capsys
    )
    last = err.strip().splitlines()[-1]
    assert code == 2 and "Traceback" not in err
    assert last.startswith(f"rmr1 {stage}: error: POST {server.url}/chat/completions failed: ReadTimeout")
    assert last.endswith("after 2 attempts") and len(server.chat_requests) == 2


def test_grpo_judge_endpoint_options_are_validated(capsys):
    from rmr1_utils.grpo import GRPOScriptArguments

    assert GRPOScriptArguments(reasrm_judge_timeout=5, reasrm_judge_retries=0).reasrm_judge_retries == 0
    code, err = rmr1(["grpo", "--config", "tiny-cpu", "--reasrm_judge_timeout", "0"], capsys)
    assert code == 2 and err.strip().splitlines()[-1] == "rmr1 grpo: error: argument --reasrm_judge_timeout: must be > 0, got 0"
    code, err = rmr1(["grpo", "--config", "tiny-cpu", "--reasrm_judge_retries", "-2"], capsys)
    assert code == 2 and err.strip().splitlines()[-1] == "rmr1 grpo: error: argument --reasrm_judge_retries: must be >= 0, got -2"


@pytest.mark.parametrize("stage", ["evaluate", "distill-data"])
def test_a_late_server_failure_keeps_the_finished_chunks(stage, serve, capsys, tmp_path):
    """The server answers 4 requests (2 chunks of 2), then fails for good: the stage stops with one
    line, the 2 finished chunks are in its log, and a rerun asks the server for the rest only and
    ends exactly like a run that never failed."""
    always_a = lambda request: ["<eval>…</eval>\n<answer>[[A]]</answer>"]  # noqa: E731
    out_flag = "{tmp}/eval" if stage == "evaluate" else "{tmp}/traces"
    dying = serve(replies=always_a, faults=[Fault.sleep(0)] * 4 + [Fault.http(500)] * 50)
    argv = stage_argv(stage, dying.url, tmp_path, "--chunk-size", "2", "--retries", "1", "--limit", "6")
    code, err = rmr1(argv, capsys)
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"rmr1 {stage}: error: POST {dying.url}/chat/completions failed: HTTP 500")
    out = Path(out_flag.format(tmp=tmp_path))
    assert (out / "log.jsonl").read_text().count('"completion"') == 4

    healthy = serve(replies=always_a)
    code, err = rmr1([a.replace(dying.url, healthy.url) for a in argv], capsys)
    assert code == 0, err
    assert len(healthy.chat_requests) == 2  # only the 2 comparisons/tasks that were lost with the chunk in flight

    clean = serve(replies=always_a)
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    code, err = rmr1(stage_argv(stage, clean.url, clean_dir, "--chunk-size", "2", "--limit", "6"), capsys)
    assert code == 0, err
    strip = lambda path: {k: v for k, v in json.loads(path.read_text()).items() if k not in ("data", "out")}  # noqa: E731
    clean_out = Path(out_flag.format(tmp=clean_dir))
    assert strip(out / "summary.json") == strip(clean_out / "summary.json")
