"""A generation backend that talks to any OpenAI-compatible ``/chat/completions`` server.

What it is for: generating with a model that runs somewhere else, behind an HTTP endpoint — a
strong *teacher* model whose reasoning traces we distil into the ReasRM, or a ReasRM that is
*served* (``vllm serve``) rather than loaded in this process. It implements the same
:class:`~rmr1_utils.generation.interface.GenerationBackend` interface as the transformers backend, so every
stage (``judge(..., backend=OpenAIBackend(...))``, teacher traces, evaluation) can use it unchanged.

How we differ from the paper: RM-R1 collects its teacher traces with the official OpenAI and
Anthropic SDKs. We send plain HTTP (``httpx``) in the OpenAI chat-completions format instead, so
the same code works against OpenAI itself and against the servers people actually run locally:
vLLM (``vllm serve``), TRL (``trl vllm-serve``), llama.cpp (``llama-server``) and Ollama. On top
of that it adds what a long trace-collection run needs and an SDK call in a loop does not give:

* bounded concurrency (at most ``max_concurrency`` requests in flight, from a thread pool, so it
  also works inside a running event loop such as Jupyter's);
* retries with exponential backoff and jitter on 429, 5xx, timeouts, dropped connections and
  on a 2xx whose body is not a chat completion (not JSON, no choices, a choice without message
  content: a proxy's error page or a server that broke mid-write), honouring ``Retry-After``;
  other 4xx and 3xx fail at once;
* a failure after retries never discards answers already received: the :class:`~rmr1_utils.generation.interface.BackendError`
  carries them (``completed``), in input order, so a caller can keep what was paid for;
* servers that ignore ``n`` (llama.cpp, Ollama and others return one choice) are topped up with
  extra requests until ``n`` completions are collected;
* the API key is read from an environment variable and never appears in logs, errors or ``repr``.

Example::

    backend = OpenAIBackend("http://127.0.0.1:8000/v1", "Qwen/Qwen2.5-7B-Instruct")
    outputs = backend.generate([[{"role": "user", "content": "Hi"}]], SamplingParams(max_new_tokens=64))
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import httpx

from rmr1_utils.generation.interface import BackendError, Completion, GenerationBackend, Messages, SamplingParams

__all__ = ["OpenAIBackend"]

logger = logging.getLogger(__name__)

# Longest server error text we quote in an exception: enough to read "model not found", short
# enough to keep the message one line.
_MAX_SERVER_MESSAGE = 200


class _Secret:
    """Holds the API key so that ``repr``/``vars()`` of the backend never shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value or None

    def get(self) -> str | None:
        return self._value

    def __repr__(self) -> str:
        return "'***'" if self._value else "None"

    def __bool__(self) -> bool:
        return self._value is not None


class _Cancelled(Exception):
    """Raised inside a worker when another request already failed: stop retrying, nobody waits for us."""


class _Unparsable(Exception):
    """A 2xx response whose body is not a chat completion; the message says what is wrong with it."""


class OpenAIBackend(GenerationBackend):
    """Chat completions from an OpenAI-compatible server, with bounded concurrency and retries.

    Args:
        base_url: the API root, e.g. ``"https://api.openai.com/v1"`` or ``"http://127.0.0.1:8000/v1"``;
            requests go to ``{base_url}/chat/completions``.
        model: the model name the server expects in the request's ``model`` field.
        api_key_env: name of the environment variable holding the API key, read once here. When
            it is unset or empty no ``Authorization`` header is sent (local servers need none).
        max_concurrency: most requests in flight at once.
        max_retries: retries after the first attempt on 429, 5xx, timeouts, connection errors and
            unparsable 2xx bodies (so at most ``max_retries + 1`` requests per call); 0 disables retrying.
        timeout: seconds allowed for connecting, and for each read/write of one request.
        backoff_base: first retry delay in seconds; it doubles with each retry.
        backoff_max: cap on one retry delay, also applied to a server's ``Retry-After``.
        extra_body: extra JSON fields merged into every request (e.g. ``{"top_k": 20}`` for vLLM,
            ``{"chat_template_kwargs": {"enable_thinking": False}}``). They override the standard
            fields; a value of ``None`` removes a standard field (e.g. ``{"max_tokens": None,
            "max_completion_tokens": 512}`` for OpenAI reasoning models).
        jitter_seed: seed of the random jitter added to retry delays (``None``: from the OS).

    Raises:
        ValueError: a non-positive concurrency/timeout or a negative retry count/backoff.
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        max_retries: int = 6,
        timeout: float = 120.0,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        extra_body: dict | None = None,
        jitter_seed: int | None = 0,
    ):
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError(f"backoff_base and backoff_max must be >= 0, got {backoff_base} and {backoff_max}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.extra_body = dict(extra_body or {})
        self._api_key = _Secret(os.environ.get(api_key_env) if api_key_env else None)
        self._rng = random.Random(jitter_seed)  # backoff jitter; seeded like every random choice here

    @property
    def url(self) -> str:
        """The chat-completions endpoint every request goes to."""
        return f"{self.base_url}/chat/completions"

    def __repr__(self) -> str:
        # Deliberately base_url and model only: the key must never end up in a log or notebook output.
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r})"

    # ------------------------------------------------------------------ public API

    def generate(
        self, conversations: Sequence[Messages], params: SamplingParams, progress: bool = True
    ) -> list[list[Completion]]:
        """Generate ``params.n`` completions for each conversation over HTTP.

        Conversations are sent concurrently (at most ``max_concurrency`` requests in flight);
        results come back in input order whatever order the server answers in.

        ``Completion.num_tokens`` is the server's ``usage.completion_tokens``: exact for one
        choice per response; with several choices the total is split across them in proportion
        to their text length (the API reports only the total). When the server sends no usage
        it is estimated as the whitespace-separated word count, which undercounts subword tokens
        — good enough for length statistics, not for billing.

        Args:
            conversations: chat message lists, each ending with the turn to answer.
            params: sampling parameters (``max_new_tokens`` is sent as ``max_tokens``).
            progress: show a progress bar over conversations.

        Returns:
            One list of ``params.n`` :class:`~rmr1_utils.generation.interface.Completion` per conversation, in input order.

        Raises:
            BackendError: a request failed for good; the message names the URL, the status and the
                attempts. The other requests are stopped (queued ones are not sent, in-flight ones
                finish), and every answer received is kept in the error's ``completed``.
        """
        from tqdm.auto import tqdm

        conversations = list(conversations)
        results: list[list[Completion] | None] = [None] * len(conversations)
        if not conversations:
            return []
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key.get()}"
        workers = min(self.max_concurrency, len(conversations))
        # One worker thread = one request in flight, and the pool has as many connections as
        # workers, so the concurrency bound holds without a semaphore and nobody waits for a socket.
        limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
        cancel = threading.Event()
        failure: BaseException | None = None
        futures: dict = {}
        bar = tqdm(total=len(conversations), desc="generate", unit="prompt", disable=not progress)
        with httpx.Client(headers=headers, timeout=httpx.Timeout(self.timeout), limits=limits) as client:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-backend")
            try:
                futures = {pool.submit(self._run, client, conv, params, cancel): i for i, conv in enumerate(conversations)}
                pending = set(futures)
                while pending and failure is None:
                    done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in sorted(done, key=futures.get):  # input order: the reported failure is deterministic
                        error = future.exception()
                        if error is None:
                            results[futures[future]] = future.result()
                            bar.update(1)
                        elif not isinstance(error, _Cancelled):
                            # A worker stopped by another's failure may finish first: keep
                            # waiting for the failure itself, which is what the caller must see.
                            failure = failure or error
            finally:
                # On failure (or Ctrl-C) stop the other workers' retry loops and drop queued
                # conversations instead of sending them; in-flight requests end within `timeout`.
                cancel.set()
                pool.shutdown(wait=True, cancel_futures=True)
                bar.close()
        if failure is not None:
            # A late failure must not throw away what the server already answered (a teacher's
            # traces cost money): requests that were in flight when it came have finished by now,
            # so collect them too and hand everything to the caller on the error.
            for future, i in futures.items():
                if results[i] is None and not future.cancelled() and future.exception() is None:
                    results[i] = future.result()
            if isinstance(failure, BackendError):
                failure.completed = results
            raise failure
        return results  # type: ignore[return-value]

    # ------------------------------------------------------------------ one conversation

    def _payload(self, messages: Messages, params: SamplingParams, n: int, seed: int) -> dict:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in messages],
            "n": n,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
            "seed": seed,
        }
        for key, value in self.extra_body.items():
            if value is None:
                payload.pop(key, None)
            else:
                payload[key] = value
        return payload

    def _run(self, client: httpx.Client, messages: Messages, params: SamplingParams, cancel: threading.Event) -> list[Completion]:
        """One worker's job: :meth:`_complete`, stopping the whole call the moment it fails for good."""
        try:
            return self._complete(client, messages, params, cancel)
        except BackendError:
            # Set here, not only by generate() once it wakes up: this worker's thread would
            # otherwise pick up the next queued conversation and send it in the meantime.
            cancel.set()
            raise

    def _complete(
        self, client: httpx.Client, messages: Messages, params: SamplingParams, cancel: threading.Event
    ) -> list[Completion]:
        """All ``params.n`` completions of one conversation, topping up when the server returns fewer."""
        completions: list[Completion] = []
        request = 0
        while len(completions) < params.n:
            # A server that ignores `n` returns one choice; each extra request gets its own seed,
            # otherwise a seeded server would return the same sample again.
            got = self._post(client, self._payload(messages, params, params.n - len(completions), params.seed + request), cancel)
            completions.extend(got[: params.n - len(completions)])
            request += 1
        return completions

    def _post(self, client: httpx.Client, payload: dict, cancel: threading.Event) -> list[Completion]:
        """POST one request, retrying transient failures; returns the completions of its response.

        Args:
            client: the call's HTTP client (shared by its workers).
            payload: the request's JSON body.
            cancel: set when the call is over (another request failed, or Ctrl-C): stop retrying.

        Returns:
            The response's completions, in choice-index order (at least one).

        Raises:
            BackendError: the request failed for good (retries exhausted, or not retryable).
        """
        attempts = 0
        while True:
            if cancel.is_set():
                raise _Cancelled()
            attempts += 1
            status: int | None = None
            retry_after: float | None = None
            try:
                response = client.post(self.url, json=payload)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
                # A malformed base_url will not fix itself: fail now.
                raise BackendError(self._message(f"bad URL ({e})", attempts, retried=False), url=self.url) from None
            except httpx.RequestError as e:
                # Timeouts, refused/reset connections, a server that hangs up without answering, a
                # body that fails to decompress: all may go away on the next attempt.
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return _parse_choices(response.json())
                    except (ValueError, _Unparsable) as e:
                        # A 200 whose body is not a chat completion is a transient server fault
                        # (a proxy's error page, a worker that died mid-write): retried like a 5xx.
                        why = str(e) if isinstance(e, _Unparsable) else "not JSON"
                        reason = f"HTTP {status} with an unparsable body ({why})"
                else:
                    reason = f"HTTP {status}"
                detail = self._server_message(response)
                if 300 <= status < 400:
                    # Redirects are not followed (a POST body would be dropped); the URL to use is
                    # in Location, and retrying the same one cannot help.
                    where = response.headers.get("location")
                    raise BackendError(
                        self._message(reason, attempts, retried=False, detail=f"redirected to {where}" if where else detail),
                        url=self.url,
                        status=status,
                        attempts=attempts,
                    ) from None
                if 400 <= status < 500 and status != 429:
                    # 400 (bad request), 401/403 (key), 404 (model/URL), 422: retrying cannot help.
                    raise BackendError(
                        self._message(reason, attempts, retried=False, detail=detail),
                        url=self.url,
                        status=status,
                        attempts=attempts,
                    ) from None
                retry_after = _retry_after_seconds(response.headers)
                if detail:
                    reason = f"{reason} ({detail})"
            if attempts > self.max_retries:
                raise BackendError(
                    self._message(reason, attempts, retried=True), url=self.url, status=status, attempts=attempts
                ) from None
            delay = self._delay(attempts, retry_after)
            logger.warning("POST %s: %s; retry %d/%d in %.2fs", self.url, _one_line(reason), attempts, self.max_retries, delay)
            if cancel.wait(delay):
                raise _Cancelled()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry ``attempt`` (1-based)."""
        if retry_after is not None:
            # The server knows when it will take requests again; never wait longer than backoff_max.
            return min(max(retry_after, 0.0), self.backoff_max)
        delay = min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max)
        # "Equal jitter": at least half the nominal delay, so retries do back off, and the rest
        # random, so many workers hit by the same 429 do not come back in lockstep.
        return delay / 2 + self._rng.uniform(0, delay / 2)

    def _message(self, reason: str, attempts: int, retried: bool, detail: str = "") -> str:
        """One-line error message naming URL, status and attempts, with the key redacted."""
        plural = "s" if attempts != 1 else ""
        how = f"after {attempts} attempt{plural}" if retried else f"on attempt {attempts} (not retried)"
        text = f"POST {self.url} failed: {reason} {how}"
        if detail:
            text += f": {detail}"
        return self._redact(_one_line(text))

    def _server_message(self, response: httpx.Response) -> str:
        """The error text the server sent (OpenAI, vLLM, Ollama and FastAPI shapes), short and redacted."""
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            error = body.get("error", body.get("detail", body)) if isinstance(body, dict) else body
            if isinstance(error, dict):
                error = error.get("message", error)
            text = str(error)
        text = _one_line(text)
        if len(text) > _MAX_SERVER_MESSAGE:
            text = text[: _MAX_SERVER_MESSAGE - 1] + "…"
        # Some servers echo the key they rejected ("Incorrect API key provided: sk-…").
        return self._redact(text)

    def _redact(self, text: str) -> str:
        key = self._api_key.get()
        return text.replace(key, "***") if key else text


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds from ``Retry-After`` (seconds or an HTTP date) or OpenAI's ``retry-after-ms``; None if absent."""
    if "retry-after-ms" in headers:
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when.timestamp() - time.time()


def _parse_choices(body: Any) -> list[Completion]:
    """Completions of one chat-completions response, in choice-index order.

    Args:
        body: the decoded JSON of a 2xx response.

    Returns:
        One :class:`~rmr1_utils.generation.interface.Completion` per choice (at least one). A ``null``
        content is an empty text: OpenAI sends it when a reasoning model spent its whole budget
        thinking, which is an answer (cut short), not a broken response.

    Raises:
        _Unparsable: the body is not a chat completion (not an object, no choices, a choice without
            a message, a message without ``content`` or with non-text content).
    """
    if not isinstance(body, dict):
        raise _Unparsable(f"a JSON {type(body).__name__}, not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _Unparsable("no choices")
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict) or "content" not in message:
            raise _Unparsable("a choice without message content")
        if not isinstance(message["content"], str | None):
            raise _Unparsable("a message whose content is not text")
    if all(isinstance(c.get("index"), int) for c in choices):
        choices = sorted(choices, key=lambda c: c["index"])
    texts = [c["message"]["content"] or "" for c in choices]
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    total = usage.get("completion_tokens")
    valid_total = isinstance(total, int) and not isinstance(total, bool) and total >= 0
    counts = _split_tokens(total, texts) if valid_total else [len(t.split()) for t in texts]
    return [
        Completion(text=text, num_tokens=count, finished=choice.get("finish_reason") == "stop")
        for choice, text, count in zip(choices, texts, counts)
    ]


def _split_tokens(total: int, texts: Sequence[str]) -> list[int]:
    """Split a response's total completion tokens across its choices, proportionally to text length.

    Largest-remainder rounding keeps the parts summing to ``total``; with no text at all the split is even.
    """
    if len(texts) == 1:
        return [total]
    weights = [len(t) for t in texts]
    if sum(weights) == 0:
        weights = [1] * len(texts)
    shares = [total * w / sum(weights) for w in weights]
    counts = [int(s) for s in shares]
    for i in sorted(range(len(texts)), key=lambda i: counts[i] - shares[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts
