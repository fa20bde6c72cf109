"""Generation: chat conversations → completions, behind one small interface, and the choice of backend.

Every stage runs the judge through :meth:`GenerationBackend.generate`; which engine answers is
picked here, by name or automatically (:func:`backend_for`). The package, one module a concern:

* :mod:`~rmr1_utils.generation.interface` — :class:`SamplingParams`, :class:`Completion`,
  :class:`GenerationBackend`, :class:`BackendError`, and the token helpers ``prompt_ids`` and
  ``eos_token_ids``;
* :mod:`~rmr1_utils.generation.kv_cache` — what makes decoding on CPU cheap: the shared prompt
  prefix, grouped-query heads without K/V copies, a cache written in place;
* :mod:`~rmr1_utils.generation.transformers` — :class:`TransformersBackend`, the default that
  works everywhere;
* :mod:`~rmr1_utils.generation.vllm` — vLLM's offline engine (CUDA, or the CPU build), imported
  only when used;
* :mod:`~rmr1_utils.generation.openai` — any OpenAI-compatible server (``OpenAIBackend``).

The backend modules import the interface, never this package's ``__init__``, so the factory below
can import them without a cycle. The interface, the transformers backend and the factory are
importable from here (``from rmr1_utils.generation import SamplingParams, backend_for``); the other
backends and helpers from their own modules.

How we differ from the paper: RM-R1 generates with vLLM on 8×H100. On a laptop CPU transformers
is the baseline that always works, and ``auto`` moves to vLLM only where it pays off.
"""

from __future__ import annotations

from rmr1_utils.generation.interface import BackendError, Completion, GenerationBackend, Messages, SamplingParams
from rmr1_utils.generation.transformers import TransformersBackend
from rmr1_utils.generation.vllm import VLLMBackend, is_cpu_build, vllm_available
from rmr1_utils.models import load_model_and_tokenizer

__all__ = [
    "BACKENDS",
    "CPU_VLLM_MIN_TOKENS",
    "BackendError",
    "Completion",
    "GenerationBackend",
    "Messages",
    "SamplingParams",
    "TransformersBackend",
    "backend_for",
    "default_backend_name",
    "make_backend",
]

#: Backend names accepted by :func:`make_backend` (``auto`` picks one, see :func:`default_backend_name`).
BACKENDS = ("transformers", "vllm", "openai")


#: On CPU, vLLM's fixed cost (import ~4 s, eager engine start ~15 s, shutdown ~4 s) only pays off
#: past this many generated tokens: at ~25–45 tok/s for transformers (prefix cache on) and ~100–240
#: tok/s for vLLM on 2 cores, break-even is ~1K tokens; we keep a margin for slower machines.
CPU_VLLM_MIN_TOKENS = 4096


def default_backend_name(num_prompts: int | None = None, max_new_tokens: int | None = None) -> str:
    """The backend ``auto`` picks, by what is importable and by measurement.

    vLLM when it is installed and either a GPU is there or (CPU build) the job is big enough to
    amortise its start-up (:data:`CPU_VLLM_MIN_TOKENS`); transformers otherwise.

    Args:
        num_prompts: prompts in the job (unknown: assume a big job).
        max_new_tokens: tokens per completion.

    Returns:
        ``"vllm"`` or ``"transformers"``.
    """
    if not vllm_available():
        return "transformers"
    if num_prompts is not None and max_new_tokens is not None and is_cpu_build():
        return "vllm" if num_prompts * max_new_tokens >= CPU_VLLM_MIN_TOKENS else "transformers"
    return "vllm"


def make_backend(
    name: str = "auto", model=None, tokenizer=None, batch_size: int = 8, model_path: str | None = None, **kwargs
) -> GenerationBackend:
    """Build a generation backend by name.

    Args:
        name: ``"auto"``, ``"transformers"``, ``"vllm"`` or ``"openai"``.
        model: the loaded model (transformers).
        tokenizer: its tokenizer (transformers).
        batch_size: prompts per batch (transformers).
        model_path: model name or folder (vllm loads it itself; openai sends it as the model name).
        **kwargs: backend options: ``prefix_cache`` (transformers); engine arguments (vllm);
            ``base_url``, ``api_key_env``, ``max_concurrency``… (openai).

    Returns:
        The backend.
    """
    if name == "auto":
        name = default_backend_name()
    if name == "transformers":
        if model is None or tokenizer is None:
            model, tokenizer = load_model_and_tokenizer(model_path or "embedded")
        return TransformersBackend(model, tokenizer, batch_size=batch_size, **kwargs)
    if name == "vllm":
        return VLLMBackend(model_path or "embedded", **kwargs)
    if name == "openai":
        # Imported here: it loads httpx, which no other backend needs.
        from rmr1_utils.generation.openai import OpenAIBackend

        if "base_url" not in kwargs:
            raise ValueError("the openai backend needs base_url (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIBackend(model=model_path or "default", **kwargs)
    raise ValueError(f"unknown generation backend {name!r}: expected auto or one of {', '.join(BACKENDS)}")


def backend_for(
    backend: str | GenerationBackend = "auto",
    model=None,
    num_prompts: int | None = None,
    max_new_tokens: int | None = None,
    batch_size: int = 8,
    **options,
) -> GenerationBackend:
    """The backend a stage should generate with.

    Args:
        backend: a ready :class:`GenerationBackend` (returned as is), or a name; ``"auto"`` decides
            by what is installed and by the job's size (:func:`default_backend_name`).
        model: a model name/path, or a loaded ``(model, tokenizer)`` pair (default: ``"embedded"``).
        num_prompts: prompts in the job (for ``auto``).
        max_new_tokens: tokens per completion (for ``auto``).
        batch_size: prompts per batch (transformers).
        **options: backend options (``base_url``… for openai, engine arguments for vllm).

    Returns:
        The backend.
    """
    if isinstance(backend, GenerationBackend):
        return backend
    name = default_backend_name(num_prompts, max_new_tokens) if backend == "auto" else backend
    if name == "transformers" and isinstance(model, tuple):
        return make_backend(name, *model, batch_size=batch_size, **options)
    # vLLM and servers load the model themselves: give them its name or folder.
    model_path = getattr(model[0], "name_or_path", None) if isinstance(model, tuple) else model
    return make_backend(name, batch_size=batch_size, model_path=model_path, **options)
