"""``rmr1 plan``: will a recipe fit a card, and how long will a step take — before anything is downloaded.

For a training recipe (``rmr1 distill`` or ``rmr1 grpo``) and a card (``--gpu t4``, or the card the
recipe names, or ``--gpu-memory 24``) it prints the estimated peak GPU memory of one process, in its
parts, beside the estimated seconds per optimizer step, and ends with ``fits`` or ``does not fit:
lower X to Y``. The recipe is parsed by the stage's own parser with the card's compute capability
assumed (:func:`rmr1_utils.precision.assume_device`), so the precision is the one the run would get
there; the model's size comes from its config alone (:mod:`rmr1_utils.plan_model`).

**Memory** (one process; the largest moment of a step):

* weights — by quantization (4-bit NF4, 8-bit, or the run's dtype), plus a frozen reference copy
  when GRPO's ``beta`` > 0 with a full fine-tune;
* trainable parameters, their gradients and AdamW's two moments (in the parameters' dtype; under
  DeepSpeed ZeRO-3, fp32 master weights and moments, divided over the processes, as under FSDP);
* activations of one micro-batch at the recipe's length caps, with or without gradient
  checkpointing; TRL's fused LM head (a logits tile, fp32 gradients of the scored hidden states);
* GRPO rollouts: the KV cache of the rows generated together (``per_device_train_batch_size ×
  steps_per_generation``, preallocated at ``max_prompt_length + max_completion_length``), the
  sampling logits and the prompt prefill's largest intermediate; or, with vLLM colocated, its share
  of the card (``vllm_gpu_memory_utilization``); a vLLM server uses another GPU.

A card's usable memory is what ``torch.cuda.mem_get_info`` reports on it minus the CUDA context; a
recipe *fits* when the estimate leaves 8 % of it free (allocator fragmentation).

**Time** — FLOPs over the card's dense bf16/fp16 tensor-core peak at a stated utilisation
(:data:`TRAINING_UTILISATION`; lower with 4-bit weights, which are dequantised at every matmul), and
for decoding, bytes read per generated token (weights, KV cache) over the card's memory bandwidth at
:data:`DECODE_BANDWIDTH_UTILISATION`, never faster than a per-layer kernel-launch floor. Times are at
the caps (every completion as long as ``max_completion_length``): an upper estimate.

How we differ from the paper: RM-R1 reports no memory or time per step; its 8×H100 runs need none.
The estimates here are calibrated where they can be measured — on CPU, for the embedded model
(``RESULT P7``) — and stated, not measured, for GPUs (``make gpu-smoke`` prints both side by side).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

from rmr1_utils.config_files import read_yaml_mapping, recipe_path
from rmr1_utils.errors import RMR1Error
from rmr1_utils.plan_model import BYTES, Architecture, load_architecture
from rmr1_utils.precision import CPU, DeviceInfo, assume_device
from rmr1_utils.stage import parse_stage_args, positive_float, positive_int, stage_parser

GIB = 1 << 30

#: Share of the card's dense tensor-core peak a training step reaches (half precision; 4-bit weights).
TRAINING_UTILISATION = {"half": 0.40, "4bit": 0.25, "8bit": 0.20, "fp32": 0.40}
#: Share of the memory bandwidth a decoding step reaches (transformers; vLLM).
DECODE_BANDWIDTH_UTILISATION = {"transformers": 0.55, "vllm": 0.75}
#: Kernel-launch floor of one decoding step per decoder layer (transformers eager; vLLM with CUDA graphs).
DECODE_FLOOR_PER_LAYER_S = {"transformers": 3.0e-4, "vllm": 2.0e-5}
#: Bytes read per weight per decoding step: 4-bit weights are dequantised to half precision first.
DECODE_BYTES_PER_WEIGHT = {"4bit": 4.5, "8bit": 3.0}
#: Free share of usable memory a recipe must leave (fragmentation, allocator caching).
FREE_MARGIN = 0.08


@dataclass(frozen=True)
class Card:
    """A GPU: name, usable memory, compute capability, dense half-precision peak, memory bandwidth."""

    key: str
    name: str
    usable_gib: float
    capability: tuple[int, int]
    tflops: float
    bandwidth_gbs: float

    def device(self) -> DeviceInfo:
        return DeviceInfo("cuda", self.name, self.capability, int(self.usable_gib * GIB))


#: The cards the course names. Usable memory: total as CUDA reports it less ~0.5 GiB of context
#: (the T4's 15 GiB as Colab shows it). Peaks: NVIDIA's dense (non-sparse) fp16/bf16 tensor-core
#: figures (the A10G's, AWS's variant of the A10, about 70); bandwidth in GB/s.
CARDS: dict[str, Card] = {
    "t4": Card("t4", "Tesla T4 16 GB", 14.5, (7, 5), 65.0, 320.0),
    "l4": Card("l4", "NVIDIA L4 24 GB", 21.5, (8, 9), 121.0, 300.0),
    "a10g": Card("a10g", "NVIDIA A10G 24 GB", 21.5, (8, 6), 70.0, 600.0),
    "a100-40": Card("a100-40", "NVIDIA A100 40 GB", 38.9, (8, 0), 312.0, 1555.0),
    "a100-80": Card("a100-80", "NVIDIA A100 80 GB", 78.7, (8, 0), 312.0, 2039.0),
    "h100": Card("h100", "NVIDIA H100 80 GB (SXM)", 78.7, (9, 0), 989.0, 3350.0),
}


# ---------------------------------------------------------------------------------------------
# What a run is, read from its recipe
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """The settings of one training run that its memory and time depend on (one process's view).

    ``stage`` is ``distill`` or ``grpo``; lengths are the recipe's caps; ``processes`` train
    together (data parallel, or sharded with ``sharding``); ``vllm`` is ``None``, ``"colocate"`` or
    ``"server"``.
    """

    stage: str
    model: str
    dtype: str
    compute_dtype: str
    precision_label: str
    quantization: str | None
    nested_quant: bool
    lora_rank: int | None
    lora_dropout: float
    checkpointing: bool
    batch: int
    accumulation: int
    processes: int = 1
    sharding: str | None = None
    max_length: int = 0
    prompt_length: int = 0
    completion_length: int = 0
    generations_per_prompt: int = 1
    steps_per_generation: int = 1
    vllm: str | None = None
    vllm_share: float = 0.0
    beta: float = 0.0
    freeze_layers_below: int = 0
    triton: bool = True
    max_steps: int | None = None


@contextlib.contextmanager
def assume_processes(processes: int):
    """Within the block, a trainer config sees ``processes`` training processes (its ``world_size``),
    so a multi-GPU recipe's batch arithmetic is checked by TRL itself as the launched run would be."""
    from transformers import TrainingArguments

    original = TrainingArguments.world_size
    if processes > 1:
        TrainingArguments.world_size = property(lambda self: processes)
    try:
        yield
    finally:
        TrainingArguments.world_size = original


def run_from_recipe(stage: str, argv: Sequence[str], device: DeviceInfo, processes: int = 1, sharding: str | None = None) -> Run:
    """Parse a recipe (``--config NAME`` plus overrides) with the stage's parser, on ``device``.

    Args:
        stage: ``distill`` or ``grpo``.
        argv: the stage's arguments (``["--config", "colab-t4", "--max_steps", "10"]``).
        device: the card (its capability decides the precision) or CPU.
        processes: training processes.
        sharding: ``"zero3"``, ``"fsdp"`` or ``None``.

    Returns:
        The :class:`Run`.
    """
    from rmr1_utils import distill, grpo
    from rmr1_utils.training import quantization_of, training_precision

    module = {"distill": distill, "grpo": grpo}[stage]
    with assume_device(device), assume_processes(processes):
        script_args, training_args, model_args = module.parse_args(list(argv))
        precision = training_precision(model_args, training_args, device=device)
    quantization = quantization_of(model_args)
    lora = model_args.lora_r if (model_args.use_peft or quantization) else None
    common = dict(
        stage=stage,
        model=model_args.model_name_or_path,
        dtype=precision.dtype,
        compute_dtype=precision.compute_dtype,
        precision_label=precision.label(),
        quantization=quantization,
        nested_quant=bool(model_args.use_bnb_nested_quant),
        lora_rank=lora,
        lora_dropout=float(model_args.lora_dropout or 0.0),
        checkpointing=bool(training_args.gradient_checkpointing),
        batch=training_args.per_device_train_batch_size,
        accumulation=training_args.gradient_accumulation_steps,
        processes=processes,
        sharding=sharding,
        freeze_layers_below=getattr(training_args, "freeze_layers_below", 0),
        triton=device.kind == "cuda",
        max_steps=training_args.max_steps if training_args.max_steps and training_args.max_steps > 0 else None,
    )
    if stage == "distill":
        return Run(**common, max_length=training_args.max_length or 0)
    vllm = training_args.vllm_mode if training_args.use_vllm else None
    return Run(
        **common,
        prompt_length=script_args.max_prompt_length or 0,
        completion_length=training_args.max_completion_length,
        generations_per_prompt=training_args.num_generations,
        steps_per_generation=training_args.steps_per_generation or training_args.gradient_accumulation_steps,
        vllm=vllm,
        vllm_share=training_args.vllm_gpu_memory_utilization if vllm == "colocate" else 0.0,
        beta=training_args.beta,
    )


# ---------------------------------------------------------------------------------------------
# The estimate
# ---------------------------------------------------------------------------------------------


@dataclass
class Estimate:
    """Estimated peak memory of one process (bytes, by part) and seconds per optimizer step (by part)."""

    run: Run
    architecture: str
    parts: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def peak(self) -> float:
        return sum(self.parts.values())

    @property
    def step_seconds(self) -> float:
        return sum(self.seconds.values())


def _activation_mode(run: Run) -> str:
    if run.lora_rank is None:
        return "full"
    return "lora-dropout" if run.lora_dropout > 0 else "lora"


def activation_bytes(arch: Architecture, run: Run, rows: int, tokens_per_row: int, scored_per_row: int) -> tuple[float, float]:
    """Saved activations and the fused LM head's peak for one micro-batch (bytes)."""
    mode = _activation_mode(run)
    mask_bytes = 1 if run.triton else BYTES[run.compute_dtype]  # CUDA's fused dropout keeps a bool mask
    layers = arch.layers - run.freeze_layers_below if run.freeze_layers_below else arch.layers
    saved = arch.activation_bytes(
        rows * tokens_per_row, run.compute_dtype, run.checkpointing, mode=mode, rank=run.lora_rank or 0,
        mask_bytes=mask_bytes, trained_layers=layers,
    )  # fmt: skip
    head_trains = run.lora_rank is None and run.freeze_layers_below == 0
    head = arch.head_bytes(rows * scored_per_row, run.compute_dtype, head_trains, triton=run.triton)
    return saved, head


def estimate(run: Run, arch: Architecture, card: Card | None) -> Estimate:
    """Peak memory and time of one optimizer step of ``run`` on ``card`` (``None``: memory only)."""
    result = Estimate(run, arch.name)
    shard = run.processes if run.sharding else 1

    # Weights, and what training adds to them.
    weights = arch.weight_bytes(run.dtype, run.quantization, run.nested_quant)
    if run.sharding:
        weights /= shard
    result.parts["weights"] = weights
    if run.stage == "grpo" and run.beta > 0 and run.lora_rank is None:
        result.parts["reference model"] = weights  # LoRA runs use the base with adapters off
    if run.lora_rank is None:
        trainable = (
            arch.parameters()
            if not run.freeze_layers_below
            else arch.parameters() * ((arch.layers - run.freeze_layers_below) / arch.layers)
        )
        param_bytes = BYTES[run.dtype]
    else:
        trainable = arch.lora_parameters(run.lora_rank)
        # PEFT keeps adapters in fp32; TRL casts QLoRA adapters to bf16.
        param_bytes = 2 if run.quantization else 4
        result.parts["LoRA adapters"] = trainable * param_bytes
    if run.sharding == "zero3":
        states = trainable * (param_bytes + 12) / shard  # gradients, fp32 master weights and moments
    else:
        states = trainable * 3 * param_bytes / shard  # gradients and two AdamW moments
    result.parts["gradients + optimizer"] = states

    # One micro-batch's activations, and (GRPO) the rollout that precedes it.
    if run.stage == "distill":
        saved, head = activation_bytes(arch, run, run.batch, run.max_length, run.max_length)
        tokens_per_step = run.batch * run.accumulation * run.max_length
    else:
        length = run.prompt_length + run.completion_length
        saved, head = activation_bytes(arch, run, run.batch, length, run.completion_length)
        tokens_per_step = run.batch * run.accumulation * length
    result.parts["activations"] = saved
    result.parts["LM head (logits tiles)"] = head
    if run.stage == "grpo":
        rollout = rollout_bytes(arch, run)
        training_moment = saved + head
        if run.vllm == "colocate":
            result.parts["vLLM (colocated share)"] = run.vllm_share * (card.usable_gib * GIB if card else 0)
        if run.vllm and card is not None:
            share, kv_space = vllm_memory(arch, run, card)
            one_sequence = (run.prompt_length + run.completion_length) * arch.kv_bytes_per_token(run.compute_dtype)
            if kv_space < one_sequence:
                result.problems.append(
                    f"vLLM's {share / GIB:.1f} GiB cannot hold its weights, {VLLM_RESERVE_GIB} GiB of its own and "
                    f"one sequence's KV cache ({one_sequence / GIB:.2f} GiB): raise vllm_gpu_memory_utilization"
                )
        elif run.vllm is None and rollout > training_moment:
            # Rollouts and the loss forward never overlap: the larger of the two is the peak.
            del result.parts["activations"], result.parts["LM head (logits tiles)"]
            result.parts["rollout KV cache + sampling"] = rollout
            result.notes.append(f"activations + head {training_moment / GIB:.2f} GiB come after the rollout, not with it")
        if run.vllm is None and rollout <= training_moment:
            result.notes.append(f"rollout KV cache + sampling {rollout / GIB:.2f} GiB come before the loss forward, not with it")
    if card is not None:
        result.seconds = step_seconds(arch, run, card, tokens_per_step)
    return result


def rollout_bytes(arch: Architecture, run: Run) -> float:
    """Transformers rollouts (GRPO's group sampler), at the largest of three moments.

    The prefill (each distinct prompt once: its cache so far and the MLP's intermediates); the
    cache's preallocation for the whole completion (the rows' prompt caches and the preallocated
    copy, both alive while it is filled); decoding (the preallocated cache and the fp32 sampling
    logits). A prompt prefix shared by every prompt is kept once on ``sdpa`` attention: not
    counted, so this is an upper estimate.
    """
    rows = run.batch * run.steps_per_generation
    kv = arch.kv_bytes_per_token(run.compute_dtype)
    prompts = max(1, rows // max(1, run.generations_per_prompt))  # each distinct prompt is prefilled once
    prefill = prompts * run.prompt_length * (kv + 3 * arch.intermediate * BYTES[run.compute_dtype])
    total = run.prompt_length + run.completion_length
    preallocation = rows * (run.prompt_length + total) * kv
    decoding = rows * total * kv + arch.sampling_bytes(rows)
    return max(prefill, preallocation, decoding)


#: vLLM's own memory besides weights and KV cache (activations, CUDA graphs, the sampler), GiB.
VLLM_RESERVE_GIB = 1.5


def vllm_memory(arch: Architecture, run: Run, card: Card) -> tuple[float, float]:
    """A vLLM engine's bytes of the card and the part of them left for its KV cache.

    Colocated: ``vllm_gpu_memory_utilization`` of the card; a server (``trl vllm-serve``) on a
    GPU of its own, at vLLM's default 0.9. Its weights: the run's, quantized as the run's (TRL loads
    a QLoRA base in vLLM with bitsandbytes).
    """
    share = run.vllm_share if run.vllm == "colocate" else 0.9
    total = share * card.usable_gib * GIB
    weights = arch.weight_bytes(run.compute_dtype, run.quantization, run.nested_quant)
    return total, total - weights - VLLM_RESERVE_GIB * GIB


def rollout_seconds(arch: Architecture, run: Run, card: Card, flops_per_second: float) -> float:
    """Seconds of rollouts per optimizer step: prefill FLOPs, then decoding at the memory bandwidth.

    One generation call samples ``per_device_train_batch_size × steps_per_generation`` rows per
    process (a vLLM server: every process's rows) and feeds ``steps_per_generation /
    gradient_accumulation_steps`` optimizer steps. vLLM decodes as many rows at once as its KV
    cache holds (in waves beyond that); transformers decodes the whole call at once.
    """
    engine = "vllm" if run.vllm else "transformers"
    rows = run.batch * run.steps_per_generation * (run.processes if run.vllm == "server" else 1)
    prompts = max(1, rows // max(1, run.generations_per_prompt))
    prefill = prompts * run.prompt_length * arch.flops_per_token(run.prompt_length / 2) / flops_per_second
    length = run.prompt_length + run.completion_length
    kv = arch.kv_bytes_per_token(run.compute_dtype)
    concurrent = rows
    if run.vllm:
        _, kv_space = vllm_memory(arch, run, card)
        concurrent = max(1, min(rows, int(kv_space // (length * kv)))) if kv_space > 0 else 1
    waves = math.ceil(rows / concurrent)
    per_weight = DECODE_BYTES_PER_WEIGHT.get(run.quantization or "", BYTES[run.compute_dtype])
    weight_bytes = (arch.linear_parameters() + arch.head_parameters()) * per_weight
    kv_read = concurrent * (run.prompt_length + run.completion_length / 2) * kv
    bandwidth = card.bandwidth_gbs * 1e9 * DECODE_BANDWIDTH_UTILISATION[engine]
    per_token = max((weight_bytes + kv_read) / bandwidth, arch.layers * DECODE_FLOOR_PER_LAYER_S[engine])
    call = prefill + waves * run.completion_length * per_token
    return call * run.accumulation / run.steps_per_generation


def step_seconds(arch: Architecture, run: Run, card: Card, tokens_per_step: int) -> dict[str, float]:
    """Seconds per optimizer step by part: training (and GRPO's rollouts and reference forward)."""
    kind = run.quantization or ("fp32" if run.compute_dtype == "float32" else "half")
    flops_per_second = card.tflops * 1e12 * TRAINING_UTILISATION[kind]
    context = (run.max_length if run.stage == "distill" else run.prompt_length + run.completion_length) / 2
    forward = arch.flops_per_token(context)
    # full fine-tune: forward + backward (2x); LoRA: the backward computes activation gradients only.
    passes = (3 if run.lora_rank is None else 2) + (1 if run.checkpointing else 0)
    seconds = {"training": tokens_per_step * forward * passes / flops_per_second}
    if run.stage != "grpo":
        return seconds
    if run.beta > 0:
        seconds["reference forward"] = tokens_per_step * forward / flops_per_second
    seconds["rollout"] = rollout_seconds(arch, run, card, flops_per_second)
    return seconds


# ---------------------------------------------------------------------------------------------
# Fits, or what to lower
# ---------------------------------------------------------------------------------------------


def fits(est: Estimate, usable_bytes: float) -> bool:
    return not est.problems and est.peak <= usable_bytes * (1 - FREE_MARGIN)


#: The knobs tried, in order, when a run does not fit: (recipe field, Run attribute).
KNOBS = {
    "distill": [("per_device_train_batch_size", "batch"), ("max_length", "max_length")],
    "grpo": [
        ("steps_per_generation", "steps_per_generation"),
        ("per_device_train_batch_size", "batch"),
        ("max_completion_length", "completion_length"),
        ("max_prompt_length", "prompt_length"),
    ],
}


def suggestion(run: Run, arch: Architecture, card: Card | None, usable_bytes: float) -> str | None:
    """The first knob whose largest smaller value fits (``"lower X to Y"``), or ``None``."""
    for key, attribute in KNOBS[run.stage]:
        current = getattr(run, attribute)
        if attribute == "steps_per_generation" and run.vllm:
            continue
        candidates = sorted({v for v in (current // 2**k for k in range(1, 16)) if v >= 1}, reverse=True)
        if key == "per_device_train_batch_size" and run.stage == "grpo":
            candidates = [v for v in candidates if (v * run.steps_per_generation) % run.generations_per_prompt == 0]
        for value in candidates:
            changed = replace(run, **{attribute: value})
            if attribute == "batch":  # keep the rows per optimizer step
                changed = replace(changed, accumulation=max(1, run.accumulation * run.batch // value))
            if fits(estimate(changed, arch, card), usable_bytes):
                return f"lower {key} to {value}"
    return None


# ---------------------------------------------------------------------------------------------
# Report and command line
# ---------------------------------------------------------------------------------------------


def report(est: Estimate, card: Card | None, usable_bytes: float) -> dict:
    """The estimate as a mapping (what ``--json`` prints and the tests read)."""
    ok = fits(est, usable_bytes)
    run = est.run
    return {
        "stage": run.stage,
        "model": est.architecture,
        "card": card.name if card else None,
        "usable_gib": usable_bytes / GIB,
        "precision": run.precision_label,
        "processes": run.processes,
        "sharding": run.sharding,
        "parts_gib": {k: v / GIB for k, v in est.parts.items()},
        "peak_gib": est.peak / GIB,
        "fits": ok,
        "advice": None if ok else suggestion(run, load_architecture_for(run), card, usable_bytes),
        "seconds": est.seconds,
        "step_seconds": est.step_seconds if est.seconds else None,
        "max_steps": run.max_steps,
        "notes": est.notes,
        "problems": est.problems,
        "run": asdict(run),
    }


def load_architecture_for(run: Run, base_model: str | None = None) -> Architecture:
    """The architecture of the run's model (or, for a run folder that does not exist yet, of ``base_model``)."""
    try:
        return load_architecture(run.model)
    except FileNotFoundError:
        if base_model:
            return load_architecture(base_model)
        raise


def _format_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.1f} s"


def format_report(rep: dict) -> str:
    """The table ``rmr1 plan`` prints."""
    lines = [
        f"{rep['stage']} of {rep['model']} on {rep['card'] or 'a GPU'} ({rep['usable_gib']:.1f} GiB usable), "
        f"{rep['precision']}, {rep['processes']} process(es){', ' + rep['sharding'] if rep['sharding'] else ''}",
        "",
        f"{'peak GPU memory of one process':<36}{'GiB':>8}",
    ]
    for part, gib in rep["parts_gib"].items():
        lines.append(f"  {part:<34}{gib:>8.2f}")
    lines.append(f"  {'total':<34}{rep['peak_gib']:>8.2f}")
    for note in rep["notes"]:
        lines.append(f"  ({note})")
    if rep["seconds"]:
        lines += ["", "seconds per optimizer step (at the length caps)"]
        for part, s in rep["seconds"].items():
            lines.append(f"  {part:<34}{s:>8.1f}")
        lines.append(f"  {'total':<34}{rep['step_seconds']:>8.1f}")
        if rep["max_steps"]:
            total = _format_seconds(rep["max_steps"] * rep["step_seconds"])
            lines.append(f"  {rep['max_steps']} steps (max_steps): about {total}")
    lines.append("")
    if rep["fits"]:
        lines.append(f"fits: {rep['peak_gib']:.1f} of {rep['usable_gib']:.1f} GiB, {FREE_MARGIN:.0%} kept free")
    elif rep["problems"]:
        lines += [f"does not fit: {problem}" for problem in rep["problems"]]
    else:
        advice = rep["advice"] or "no single setting makes it fit: use a larger card or more processes"
        lines.append(f"does not fit: {rep['peak_gib']:.1f} GiB > {(1 - FREE_MARGIN) * rep['usable_gib']:.1f} GiB; {advice}")
    return "\n".join(lines)


def recipe_target(stage: str, config: str) -> dict:
    """What a recipe says about its hardware (its ``env:`` block): ``RMR1_GPU``, ``RMR1_NUM_GPUS``,
    ``RMR1_SHARDING``, ``RMR1_BASE_MODEL``."""
    env = read_yaml_mapping(recipe_path(config, stage)).get("env") or {}
    return {k: env[k] for k in ("RMR1_GPU", "RMR1_NUM_GPUS", "RMR1_SHARDING", "RMR1_BASE_MODEL") if k in env}


def plan_recipe(stage: str, config: str, gpu: str | None = None, gpu_memory: float | None = None,
                processes: int | None = None, overrides: Sequence[str] = ()) -> dict:  # fmt: skip
    """Estimate a recipe on a card: the recipe's own card unless ``gpu``/``gpu_memory`` say otherwise.

    Returns:
        :func:`report`'s mapping.

    Raises:
        RMR1Error: an unknown card, no card at all, or a model whose config is not here.
    """
    target = recipe_target(stage, config)
    key = gpu or target.get("RMR1_GPU")
    if key is not None and key not in CARDS:
        raise RMR1Error(f"--gpu {key}: unknown card; expected one of {', '.join(CARDS)} (or --gpu-memory GIB)")
    card = CARDS[key] if key else None
    if card is None and gpu_memory is None:
        raise RMR1Error(f"recipe {config} names no card (env: RMR1_GPU); pass --gpu {{{','.join(CARDS)}}} or --gpu-memory GIB")
    usable = (gpu_memory * GIB) if gpu_memory else card.usable_gib * GIB
    device = card.device() if card else DeviceInfo("cuda", f"a {gpu_memory:g} GiB GPU", (8, 0), int(usable))
    processes = processes or int(target.get("RMR1_NUM_GPUS", 1))
    run = run_from_recipe(stage, ["--config", config, *overrides], device, processes, target.get("RMR1_SHARDING"))
    arch = load_architecture_for(run, target.get("RMR1_BASE_MODEL"))
    est = estimate(run, arch, card)
    rep = report(est, card, usable)
    rep["recipe"] = config
    return rep


def make_parser(subparsers=None):
    parser = stage_parser(subparsers, "plan", "Estimate a recipe's peak GPU memory and time per step on a card, before it runs.")
    parser.add_argument(
        "training_stage", nargs="?", choices=("distill", "grpo"), metavar="{distill,grpo}",
        help="the training stage the recipe is for",
    )  # fmt: skip
    parser.add_argument("--config", help="the recipe (a bundled name such as colab-t4, or a YAML path)")
    parser.add_argument("--table", action="store_true", help="print every GPU recipe on its card (README's hardware table)")
    parser.add_argument("--gpu", choices=tuple(CARDS), help="the card (default: the one the recipe names in env: RMR1_GPU)")
    parser.add_argument("--gpu-memory", type=positive_float, help="usable GiB of another card (time is then not estimated)")
    parser.add_argument("--num-gpus", type=positive_int, help="training processes (default: the recipe's RMR1_NUM_GPUS, else 1)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a recipe field, as on the stage's command line (repeatable)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    return parser


def _overrides(pairs: Sequence[str]) -> list[str]:
    argv = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RMR1Error(f"--set {pair!r}: expected FIELD=VALUE, e.g. --set max_completion_length=512")
        argv += [f"--{key}", value]
    return argv


def main(args=None) -> dict:
    """Entry point of ``rmr1 plan``."""
    args = parse_stage_args(args, make_parser)
    if args.table:
        print(hardware_table())
        return {}
    if not args.training_stage or not args.config:
        raise RMR1Error("rmr1 plan needs a stage and --config (e.g. rmr1 plan grpo --config colab-t4), or --table")
    rep = plan_recipe(args.training_stage, args.config, args.gpu, args.gpu_memory, args.num_gpus, _overrides(args.overrides))
    print(json.dumps(rep, indent=2) if args.json else format_report(rep))
    return rep


__all__ = ["CARDS", "CPU", "Card", "Estimate", "Run", "estimate", "main", "make_parser", "plan_recipe", "run_from_recipe"]


#: The README's hardware table: each GPU recipe on its own card, and the 24 GB ones on both 24 GB cards.
TABLE_ROWS = (
    ("distill", "colab-t4", "t4"),
    ("grpo", "colab-t4", "t4"),
    ("distill", "single-gpu-24g", "l4"),
    ("distill", "single-gpu-24g", "a10g"),
    ("grpo", "single-gpu-24g", "l4"),
    ("grpo", "single-gpu-24g", "a10g"),
    ("distill", "multi-gpu", "h100"),
    ("grpo", "multi-gpu", "h100"),
)


def hardware_table() -> str:
    """The README's table of every GPU recipe's fit and time, from :func:`plan_recipe` (``rmr1 plan --table``)."""
    lines = [
        "| recipe | card | model, precision | peak GiB per GPU (of usable) | fits | s/step at the caps | max_steps: time |",
        "|---|---|---|---|---|---:|---|",
    ]
    for stage, recipe, gpu in TABLE_ROWS:
        rep = plan_recipe(stage, recipe, gpu)
        processes = f" × {rep['processes']}" if rep["processes"] > 1 else ""
        extra = " + a vLLM server GPU" if rep["run"]["vllm"] == "server" else ""
        lines.append(
            f"| `{stage}/{recipe}` | {CARDS[gpu].name}{processes}{extra} | {rep['model'].split('/')[-1]}, {rep['precision']} | "
            f"{rep['peak_gib']:.1f} ({rep['usable_gib']:.1f}) | {'yes' if rep['fits'] else 'no'} | {rep['step_seconds']:.0f} | "
            f"{rep['max_steps']}: {_format_seconds(rep['max_steps'] * rep['step_seconds'])} |"
        )
    return "\n".join(lines)
