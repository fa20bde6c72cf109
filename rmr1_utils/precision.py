"""Which number format each machine trains and generates in: one decision, by the device's compute capability.

Every place that picks a precision asks :func:`choose_precision` — model loading
(:func:`rmr1_utils.models.load_model_and_tokenizer`), the two trainers' ``bf16``/``fp16`` flags
(:func:`rmr1_utils.training.resolve_device_settings`), the 4-bit compute dtype of QLoRA, the vLLM
engine's ``dtype`` — so a recipe gets the same answer everywhere on the same card.

The rules (NVIDIA's, as the pinned torch and vLLM apply them):

* **bf16 needs compute capability ≥ 8.0** (Ampere: A100, A10/A10G, L4, RTX 30xx/40xx; Hopper).
  torch's ``is_bf16_supported`` is *not* the test: with its default ``including_emulation=True``
  it answers True on a T4 (7.5), where bf16 runs emulated — several times slower, or a missing
  kernel. We read the capability instead (:func:`detect_device`).
* **Below 8.0 (T4, V100) half precision is fp16.** Frozen weights (LoRA/QLoRA bases, inference)
  are stored in fp16; a *full* fine-tune keeps fp32 weights and trains with fp16 autocast and loss
  scaling (``fp16: true``), because the optimizer cannot update fp16 weights safely — HF Trainer
  refuses to unscale fp16 gradients.
* **CPU is fp32.** bf16 is emulated there (~4× slower) and fp16 has no CPU training path.
* A recipe that *asks* for bf16 on a card without it is refused with one line naming the key,
  rather than run emulated. On CPU a GPU recipe's ``bf16``/``fp16`` become fp32 training.

The capability is one fact the code cannot measure on a machine without that GPU; it is an
argument here (``device=DeviceInfo(...)``), so the whole table is tested on a CPU.

How we differ from the paper: RM-R1 trains in bf16 on H100s only. The course also targets the free
Colab T4, whose only fast half precision is fp16.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rmr1_utils.errors import RMR1Error

#: The lowest compute capability with native bf16 (Ampere).
BF16_MIN_CAPABILITY = (8, 0)

_DTYPE_NAMES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


@dataclass(frozen=True)
class DeviceInfo:
    """What the precision decision needs to know about a device.

    Attributes:
        kind: ``"cpu"`` or ``"cuda"``.
        name: the device's name (``"Tesla T4"``, ``"cpu"``).
        capability: CUDA compute capability ``(major, minor)``; ``None`` on CPU.
        total_memory: bytes of device memory (``None`` on CPU).
    """

    kind: str = "cpu"
    name: str = "cpu"
    capability: tuple[int, int] | None = None
    total_memory: int | None = None

    @property
    def has_bf16(self) -> bool:
        """Native bf16: a CUDA device of compute capability ≥ 8.0."""
        return self.kind == "cuda" and self.capability is not None and tuple(self.capability) >= BF16_MIN_CAPABILITY

    def describe(self) -> str:
        if self.kind == "cpu":
            return "CPU"
        major, minor = self.capability or (0, 0)
        return f"{self.name} (compute capability {major}.{minor})"


CPU = DeviceInfo()

_assumed: DeviceInfo | None = None


@contextlib.contextmanager
def assume_device(device: DeviceInfo) -> Iterator[DeviceInfo]:
    """Within the block, :func:`detect_device` answers ``device``: how ``rmr1 plan`` parses a recipe as
    it would be parsed on a card that is not here (and how the tests try a T4's rules on a CPU)."""
    global _assumed
    previous, _assumed = _assumed, device
    try:
        yield device
    finally:
        _assumed = previous


def assumed_gpu_elsewhere() -> bool:
    """Inside :func:`assume_device` with a GPU assumed on a machine that has none (``rmr1 plan`` on a laptop)."""
    if _assumed is None or _assumed.kind != "cuda":
        return False
    import torch

    return not torch.cuda.is_available()


def detect_device(device: str | None = None) -> DeviceInfo:
    """The device a run will use: ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or, by default, CUDA when visible.

    Args:
        device: the device string; ``None`` picks CUDA when a GPU is visible.

    Returns:
        A :class:`DeviceInfo` (capability and memory read from the GPU itself; inside
        :func:`assume_device`, the assumed one, unless ``device`` names the CPU).
    """
    import torch

    if _assumed is not None and device != "cpu":
        return _assumed

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if not str(device).startswith("cuda") or not torch.cuda.is_available():
        return CPU
    index = torch.device(device).index
    index = torch.cuda.current_device() if index is None else index
    props = torch.cuda.get_device_properties(index)
    return DeviceInfo("cuda", props.name, (props.major, props.minor), props.total_memory)


def dtype_name(dtype: Any) -> str | None:
    """A dtype's canonical name (``"bfloat16"``…) from a name, an alias or a ``torch.dtype``; ``None``/``"auto"`` → ``None``.

    Raises:
        ValueError: an unknown name.
    """
    if dtype is None or dtype == "auto":
        return None
    text = str(dtype).removeprefix("torch.").lower()
    try:
        return _DTYPE_NAMES[text]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}: expected one of {', '.join(sorted(set(_DTYPE_NAMES)))}") from None


@dataclass(frozen=True)
class Precision:
    """The chosen precision of one run (all names are torch dtype names).

    Attributes:
        dtype: what the weights are loaded in.
        compute_dtype: what matmuls run in (the 4-bit compute dtype of QLoRA; the autocast dtype).
        bf16: the trainer's ``bf16`` flag (bf16 autocast).
        fp16: the trainer's ``fp16`` flag (fp16 autocast with loss scaling).
        vllm_dtype: the ``dtype`` a vLLM engine on this device gets.
        device: the device it was chosen for.
        reason: one line saying why (printed by ``rmr1 env`` and ``rmr1 plan``).
    """

    dtype: str
    compute_dtype: str
    bf16: bool
    fp16: bool
    vllm_dtype: str
    device: DeviceInfo
    reason: str

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def torch_compute_dtype(self):
        import torch

        return getattr(torch, self.compute_dtype)

    def label(self) -> str:
        """Short form for tables: ``"bf16"``, ``"fp16 autocast, fp32 weights"``, ``"fp32"``."""
        short = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
        if self.fp16 and self.dtype == "float32":
            return "fp16 autocast, fp32 weights"
        return short[self.compute_dtype]


def choose_precision(
    device: DeviceInfo = CPU,
    dtype: Any = None,
    quantization: str | None = None,
    full_finetune: bool = False,
    bf16: bool | None = None,
    fp16: bool | None = None,
    where: str = "",
) -> Precision:
    """Decide weights dtype, compute dtype, the trainer's ``bf16``/``fp16`` and vLLM's dtype for one device.

    Args:
        device: the device (:func:`detect_device`; a :class:`DeviceInfo` made by hand in tests).
        dtype: the requested weights dtype (a recipe's ``dtype``): ``None``/``"auto"`` to decide here.
        quantization: ``None``, ``"4bit"`` or ``"8bit"`` (bitsandbytes; the compute dtype is the half
            precision chosen here).
        full_finetune: every weight trains (no LoRA, no quantization): on an fp16 card the weights
            then stay fp32 and training runs in fp16 autocast.
        bf16, fp16: the trainer's flags as requested (``None`` = automatic).
        where: names the recipe or flag in error messages (``"recipes/grpo/x.yaml: "``).

    Returns:
        The :class:`Precision`.

    Raises:
        RMR1Error: bf16 asked for (``dtype`` or ``bf16: true``) on a device without it; both
            ``bf16`` and ``fp16`` true. On CPU every request becomes fp32 training (a GPU recipe
            read on a laptop runs rather than fails); an explicit weights ``dtype`` is kept.
    """
    requested = dtype_name(dtype)
    if bf16 and fp16:
        raise RMR1Error(f"{where}bf16 and fp16 cannot both be true")
    if device.kind != "cuda":
        # A GPU recipe read on a CPU (a laptop's `rmr1 plan`, the tests) runs in fp32 rather than fail.
        weights = requested or "float32"
        return Precision(
            dtype=weights,
            compute_dtype="float32" if quantization else weights,
            bf16=False,
            fp16=False,
            vllm_dtype="float32",
            device=device,
            reason="CPU: fp32 (bf16 is emulated there, ~4x slower; no fp16 training on CPU)",
        )
    if device.has_bf16:
        if fp16 or requested == "float16":
            # Asked for explicitly: fp16 works on every CUDA card, so honour it (fp32 weights for a full fine-tune).
            weights = "float32" if full_finetune and not quantization else "float16"
            return Precision(
                weights, "float16", False, fp16 is not False, "float16", device, f"{device.describe()}: fp16 as requested"
            )
        if requested == "float32" and bf16 is not True:
            return Precision("float32", "float32", False, False, "float32", device, f"{device.describe()}: fp32 as requested")
        return Precision(
            dtype="bfloat16",
            compute_dtype="bfloat16",
            bf16=bf16 is not False,
            fp16=False,
            vllm_dtype="bfloat16",
            device=device,
            reason=f"{device.describe()}: bf16 (native from compute capability 8.0)",
        )
    # A CUDA device without bf16 (T4, V100): fp16.
    if bf16 or requested == "bfloat16":
        key = "bf16: true" if bf16 else f"dtype: {dtype}"
        raise RMR1Error(
            f"{where}{key} asks for bf16, but {device.describe()} has no native bf16 (it needs compute capability 8.0); "
            "use dtype: auto (fp16 here) or a recipe for this card (colab-t4)"
        )
    if requested == "float32" and not fp16:
        return Precision("float32", "float32", False, False, "float32", device, f"{device.describe()}: fp32 as requested")
    weights = "float32" if full_finetune and not quantization else "float16"
    return Precision(
        dtype=weights,
        compute_dtype="float16",
        bf16=False,
        fp16=fp16 is not False,
        vllm_dtype="float16",
        device=device,
        reason=(
            f"{device.describe()}: fp16 (no native bf16 below compute capability 8.0)"
            + ("; fp32 weights with fp16 autocast for a full fine-tune" if weights == "float32" else "")
        ),
    )
