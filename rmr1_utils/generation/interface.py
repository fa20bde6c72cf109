"""The generation interface: what every backend takes, returns and raises.

Every stage runs the judge (zero-shot demos, teacher traces, GRPO rollouts, evaluation), and all
of them go through :meth:`GenerationBackend.generate`: chat conversations and a
:class:`SamplingParams` in, ``n`` :class:`Completion` per conversation out, in input order. A
backend is whatever implements that one method — a model in this process, a vLLM engine, an HTTP
server, or the rule teacher — so a stage never knows which one it is talking to.

This module holds only the contract and the two token helpers every in-process backend needs
(:func:`prompt_ids`, :func:`eos_token_ids`); it imports no backend and nothing heavy, so every
backend module can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rmr1_utils.errors import RMR1Error
from rmr1_utils.runlog import model_identity

#: One chat conversation: ``{"role", "content"}`` messages, ending with the turn to answer.
Messages = Sequence[dict]


@dataclass
class SamplingParams:
    """How to sample completions.

    Attributes:
        n: completions per prompt.
        temperature: 0 for greedy decoding.
        top_p: nucleus sampling mass (1.0 = off).
        max_new_tokens: length cap per completion.
        seed: seed for sampling (every random choice takes one).
    """

    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.n > 1 and self.temperature == 0:
            raise ValueError("n > 1 with temperature 0 would return n identical greedy completions; set a temperature")

    def to_dict(self) -> dict:
        """The parameters as a plain dict (what a run log records as its ``sampling``)."""
        return asdict(self)


@dataclass
class Completion:
    """One generated completion.

    Attributes:
        text: decoded text, special tokens removed.
        num_tokens: generated token count (EOS included when it was produced).
        finished: True when generation stopped at EOS, False when it hit ``max_new_tokens``.
    """

    text: str
    num_tokens: int
    finished: bool


class BackendError(RMR1Error):
    """A request to a generation server failed for good (after retries, or with a non-retryable status).

    Attributes:
        url: the endpoint that failed.
        status: the last HTTP status, or ``None`` when no response came back (timeout, connection error).
        attempts: how many requests were made.
        completed: set when the failure ends a ``generate`` call: one entry per conversation of
            that call, in input order — its completions when the server had answered it (before
            the failure, or while the failure stopped the others), ``None`` when not. ``None`` for
            an error raised outside a call.
    """

    def __init__(self, message: str, url: str = "", status: int | None = None, attempts: int = 0):
        super().__init__(message)
        self.url = url
        self.status = status
        self.attempts = attempts
        self.completed: list[list[Completion] | None] | None = None

    @property
    def answered(self) -> list[int]:
        """Indices (in the failed call's input) of the conversations whose completions are in ``completed``."""
        return [i for i, c in enumerate(self.completed or []) if c is not None]


class GenerationBackend:
    """Interface: ``generate(list of chat conversations, SamplingParams) -> list of n completions each``."""

    name = "base"

    def identity(self) -> str:
        """What names this backend's model in a run log's identity (:mod:`rmr1_utils.runlog`).

        A loaded model by its folder and weights, a vLLM engine by its model path, a server by the
        served model name only: a server restarted on another port or host still serves the same
        run (the URL and the API key are never part of it); a backend without a model by its name.

        Returns:
            The identity string.
        """
        model = getattr(self, "model", None) or getattr(self, "model_path", None)
        if model is None:
            return self.name
        if getattr(self, "base_url", None):
            return f"served:{model}"
        return model_identity(model if isinstance(model, str) else (model, None))

    def generate(
        self, conversations: Sequence[Messages], params: SamplingParams, progress: bool = True
    ) -> list[list[Completion]]:
        """Generate ``params.n`` completions for each conversation.

        Args:
            conversations: chat message lists, each ending with the turn to answer.
            params: sampling parameters.
            progress: show a progress bar.

        Returns:
            One list of ``params.n`` :class:`Completion` per conversation, in input order.
        """
        raise NotImplementedError


def prompt_ids(tokenizer, messages: Messages) -> list[int]:
    """Token ids of a conversation as the model reads it: chat template plus generation prompt.

    Args:
        tokenizer: a tokenizer with a chat template.
        messages: the conversation.

    Returns:
        The token ids.
    """
    return list(
        tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    )


def eos_token_ids(model, tokenizer) -> list[int]:
    """Every token that ends a completion: the model's generation config's EOS ids and the tokenizer's.

    Args:
        model: the model (its ``generation_config`` may name end-of-turn tokens the tokenizer does not).
        tokenizer: its tokenizer.

    Returns:
        The ids, sorted.
    """
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), tokenizer):
        eos = getattr(source, "eos_token_id", None)
        if isinstance(eos, int):
            ids.add(eos)
        elif isinstance(eos, (list, tuple)):
            ids.update(int(i) for i in eos)
    return sorted(ids)
