"""The model card of every exported judge (``README.md``), and its push to the Hugging Face Hub.

``rmr1 distill`` and ``rmr1 grpo`` end by exporting a plain HF folder
(:func:`rmr1_utils.export.export_model`); :func:`finish_export` then writes its card:

* the Hub's YAML front matter — ``base_model`` (the Hub model the chain of trainings started
  from), ``library_name: transformers``, ``tags``, ``license`` and ``datasets`` where known;
* what the model is, its base model, **the exact RM-R1 prompt** it reads (rendered from
  :mod:`rmr1_utils.formats`, the strings the released checkpoints were trained on), a
  copy-paste call of the judge with transformers and with ``rmr1 judge``;
* the training data and recipe, the training results, and **the command that made it** (the
  stage's own arguments; values of flags that name a token, key, secret or password, and the
  values of such environment variables, never appear);
* after ``rmr1 pipeline``, the held-out metrics of its report (:func:`add_pipeline_results`).

The facts the card is rendered from are kept beside it as ``rmr1_card.json``, so the pipeline can
add its metrics to a card written earlier. With ``push_to_hub: true`` in a stage's config, the
trainer creates the repo ``hub_model_id`` when it is built (transformers' ``Trainer``, as for any
TRL run); at the end the *export* folder — the merged model and this card, not the trainer's
``output_dir`` — is uploaded to that repo with the same client the trainer uses
(``huggingface_hub``'s ``upload_folder``, token ``hub_token`` or the login, revision
``hub_revision``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from rmr1_utils import __version__
from rmr1_utils.compact import CARD_FILE as JUDGE_CARD
from rmr1_utils.compact import shipped_judges
from rmr1_utils.formats import (
    INSTRUCT_SYSTEM_PROMPT,
    INSTRUCT_USER_MULTI_TURN,
    INSTRUCT_USER_SINGLE_TURN,
    REASONING_USER_MULTI_TURN,
    REASONING_USER_SINGLE_TURN,
)
from rmr1_utils.hub import forget_hub_token, push_export
from rmr1_utils.models import EMBEDDED, EMBEDDED_HUB_ID, TINY_RANDOM, _looks_like_hub_id
from rmr1_utils.resources import resolve_data_path

logger = logging.getLogger(__name__)

CARD_FILE = "README.md"
#: The facts a card is rendered from (JSON, beside the card).
FACTS_FILE = "rmr1_card.json"

#: Licenses of the base models the recipes use (a fine-tune inherits its base model's license).
KNOWN_LICENSES = {
    "HuggingFaceTB/SmolLM2-135M-Instruct": "apache-2.0",
    "Qwen/Qwen2.5-1.5B-Instruct": "apache-2.0",
    "Qwen/Qwen2.5-7B-Instruct": "apache-2.0",
    "Qwen/Qwen2.5-14B-Instruct": "apache-2.0",
    "Qwen/Qwen2.5-32B-Instruct": "apache-2.0",
}
TAGS = ["trl", "rm-r1", "reward-model", "generative-judge"]
PAPER = "https://arxiv.org/abs/2505.02387"
REPO_URL = "https://github.com/rmr1-course/rmr1"

#: Flag and field names whose values are secrets: the last word says so (``--hub_token``, ``--api-key``,
#: ``distill_overrides.hub_token``; not ``--max_new_tokens`` or ``--side_token_weight``)…
_SECRET_NAME = re.compile(r"(^|[-_.])(token|key|secret|password|passwd)$", re.IGNORECASE)
#: … and environment-variable names (whole words: ``HF_TOKEN``, ``OPENAI_API_KEY``, not ``TOKENIZERS_PARALLELISM``).
_SECRET_VARIABLE = re.compile(r"(^|_)(TOKEN|KEY|SECRET|PASSWORD|PASSWD)(_|$)", re.IGNORECASE)
_REASONING_LEAD = os.path.commonprefix([REASONING_USER_SINGLE_TURN, REASONING_USER_MULTI_TURN])

#: The example pair of the usage snippets.
EXAMPLE = {"question": "What is the capital of Australia?", "answer_a": "Sydney.", "answer_b": "Canberra."}


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------


def base_model_of(name_or_path: str) -> str | None:
    """The Hub model a model name goes back to.

    Args:
        name_or_path: ``embedded``, a shipped judge, an exported folder (its card names its base),
            or a Hub id.

    Returns:
        A Hub id, or ``None`` (``tiny-random``, or a folder without a card that names its base).
    """
    if name_or_path == EMBEDDED:
        return EMBEDDED_HUB_ID
    if name_or_path == TINY_RANDOM:
        return None
    judges = shipped_judges()
    if name_or_path in judges:
        return base_model_of(json.loads((judges[name_or_path] / JUDGE_CARD).read_text(encoding="utf-8"))["base_model"])
    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        facts = folder / FACTS_FILE
        return json.loads(facts.read_text(encoding="utf-8")).get("base_model") if facts.exists() else None
    return name_or_path if _looks_like_hub_id(name_or_path) and "/" in name_or_path else None


def prompt_style(messages: Sequence[Mapping]) -> str | None:
    """Which RM-R1 prompt a training example uses.

    Returns:
        ``"instruct"`` (the system prompt of :mod:`rmr1_utils.formats`), ``"reasoning"`` (one
        user message in the reasoning-model template), or ``None`` (not a judge prompt, e.g. a
        policy trained with a ReasRM as its reward).
    """
    if not messages:
        return None
    first = messages[0]
    if first.get("role") == "system" and first.get("content") == INSTRUCT_SYSTEM_PROMPT:
        return "instruct"
    if first.get("role") == "user" and str(first.get("content", "")).startswith(_REASONING_LEAD):
        return "reasoning"
    return None


def secret_values(extra: Sequence[str | None] = ()) -> list[str]:
    """Values never to write: those of environment variables whose name says token, key,
    secret or password (8 characters or more), and ``extra``."""
    values = [v for k, v in os.environ.items() if _SECRET_VARIABLE.search(k) and len(v) >= 8]
    return sorted({v for v in [*values, *extra] if v}, key=len, reverse=True)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for value in secrets:
        text = text.replace(value, "***")
    return text


def command_line(program: str, argv: Sequence[str]) -> str:
    """``program`` (as it is) and ``argv`` (quoted for a shell), with secret values shown as ``***``:
    those of secret flags (``--hub_token X``, ``--api-key=X``) and of ``KEY=VALUE`` words with a secret
    key (``--set distill_overrides.hub_token=X``).

    Flags naming an environment variable (``--api-key-env NAME``) keep their value: it is a name.
    """
    words, hide_next = [program], False
    for word in argv:
        name, eq, _ = word.partition("=")
        secret = bool(_SECRET_NAME.search(name.lstrip("-")))
        if hide_next:
            words.append("***")
        elif secret and eq:
            words.append(f"{shlex.quote(name)}=***")
        else:
            words.append(shlex.quote(word))
        hide_next = secret and word.startswith("-") and not eq and not hide_next
    return " ".join(words)


def redact(value):
    """A copy of a JSON-like value with the value of every secret-named key (``hub_token``…) as ``***``."""
    if isinstance(value, Mapping):
        return {k: "***" if _SECRET_NAME.search(str(k)) and v else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def process_command_line() -> str:
    """This process's command line (``sys.argv``, program by its file name), secrets hidden."""
    path = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("-c")
    if "ipykernel" in path.name:  # a notebook: the kernel's own arguments say nothing about the run
        return "a Jupyter notebook (its cells are the command)"
    program = {"-c": "python -c", "__main__.py": f"python -m {path.parent.name}"}.get(path.name, path.name)
    if path.parent.name == "rmr1_utils" and path.suffix == ".py" and path.name != "__main__.py":
        program = f"python -m rmr1_utils.{path.stem}"  # python -m rmr1_utils.distill, accelerate launch -m …
    return command_line(program, sys.argv[1:])


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {"rmr1": __version__}
    for package in ("trl", "transformers", "torch", "peft"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    return found


def _fine_tuning(model_args, merged: bool) -> str:
    if not getattr(model_args, "use_peft", False):
        return "full fine-tune"
    kind = "QLoRA (4-bit base)" if model_args.load_in_4bit else "QLoRA (8-bit base)" if model_args.load_in_8bit else "LoRA"
    export = "merged into the base model for the export" if merged else "exported as the adapter"
    return f"{kind}, r={model_args.lora_r}, alpha={model_args.lora_alpha}, {export}"


#: Recipe fields shown on the card, per stage (those the config has).
RECIPE_FIELDS = {
    "distill": ("learning_rate", "lr_scheduler_type", "warmup_steps", "num_train_epochs", "max_steps",
                "per_device_train_batch_size", "gradient_accumulation_steps", "max_length", "freeze_layers_below",
                "side_token_weight", "both_orders_in_batch", "bf16", "fp16", "seed"),
    "grpo": ("learning_rate", "lr_scheduler_type", "num_train_epochs", "max_steps", "per_device_train_batch_size",
             "gradient_accumulation_steps", "num_generations", "max_completion_length", "temperature", "beta",
             "loss_type", "scale_rewards", "mask_truncated_completions", "both_orders_in_batch", "bf16", "fp16", "seed"),
}  # fmt: skip


def _plain(value):
    value = getattr(value, "value", value)  # enums
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)


def training_facts(stage: str, args: tuple, report: Mapping, argv: Sequence[str] | None, style: str | None,
                   world_size: int = 1, repo_id: str | None = None) -> dict:  # fmt: skip
    """Everything the card of a stage's export says (JSON-safe; secrets hidden).

    Args:
        stage: ``"distill"`` or ``"grpo"``.
        args: the stage's parsed ``(script_args, training_args, model_args)``.
        report: the stage's report (``train_loss``/``summary``, ``log_history``, counts, ``runtime_s``).
        argv: the arguments the stage was given (``None``: called from Python with parsed dataclasses).
        style: the prompt style of the training data (:func:`prompt_style`).
        world_size: training processes.
        repo_id: the Hub repo the export is pushed to.

    Returns:
        The facts (see :func:`render_card`).
    """
    script_args, training_args, model_args = args
    start = model_args.model_name_or_path
    base = base_model_of(start)
    recipe = {k: _plain(getattr(training_args, k)) for k in RECIPE_FIELDS[stage] if hasattr(training_args, k)}
    recipe["processes"] = world_size
    data = {"path": str(script_args.dataset_path)}
    if stage == "distill":
        data.update(examples=report.get("train_examples"), dropped_too_long=report.get("dropped_too_long"))
        results = {"train_loss": report.get("train_loss")}
        losses = [h["loss"] for h in report.get("log_history", []) if "loss" in h]
        if losses:
            results.update(first_logged_loss=losses[0], last_logged_loss=losses[-1])
    else:
        data.update(
            split=script_args.dataset_split, tasks=report.get("train_tasks"), dropped_too_long=report.get("dropped_too_long")
        )
        recipe["max_prompt_length"] = script_args.max_prompt_length
        recipe["reward_funcs"] = list(script_args.reward_funcs)
        results = dict(report.get("summary") or {})
    results["optimizer_steps"] = max((h.get("step", 0) for h in report.get("log_history", [])), default=0)
    results["runtime_s"] = report.get("runtime_s")
    dataset_is_hub = not resolve_data_path(data["path"]).exists() and re.fullmatch(r"[\w.-]+/[\w.-]+", data["path"]) is not None
    facts = {
        "stage": stage,
        "trainer": "TRL SFTTrainer" if stage == "distill" else "TRL GRPOTrainer",
        "started_from": start,
        "base_model": base,
        "license": KNOWN_LICENSES.get(base or ""),
        "datasets": [data["path"]] if dataset_is_hub else [],
        "style": style,
        "repo_id": repo_id,
        "fine_tuning": _fine_tuning(model_args, script_args.merge_lora),
        "data": data,
        "recipe": recipe,
        "results": results,
        "command": command_line(f"rmr1 {stage}", argv) if argv is not None else None,
        "process_command": process_command_line(),
        "versions": _versions(),
        "evaluation": None,
    }
    return json.loads(scrub(json.dumps(facts, default=str), secret_values([getattr(training_args, "hub_token", None)])))


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _templates(style: str) -> tuple[str | None, str, str]:
    if style == "reasoning":
        return None, REASONING_USER_SINGLE_TURN, REASONING_USER_MULTI_TURN
    return INSTRUCT_SYSTEM_PROMPT, INSTRUCT_USER_SINGLE_TURN, INSTRUCT_USER_MULTI_TURN


def _python_string(name: str, text: str) -> str:
    """``name = (...)``: ``text`` as a Python literal, one source line per line of text."""
    lines = text.splitlines(keepends=True) or [""]
    return f"{name} = (\n" + "".join(f"    {line!r}\n" for line in lines) + ")"


def transformers_snippet(model: str, style: str, max_new_tokens: int = 1024) -> str:
    """A self-contained Python snippet that judges one pair with transformers (the exact prompt inline)."""
    system, single, _ = _templates(style)
    lines = ["import re", "", "from transformers import AutoModelForCausalLM, AutoTokenizer", "", f"MODEL = {model!r}"]
    if system is not None:
        lines.append(_python_string("SYSTEM_PROMPT", system))
    lines += [
        _python_string("USER_TEMPLATE", single),
        "",
        "tokenizer = AutoTokenizer.from_pretrained(MODEL)",
        "model = AutoModelForCausalLM.from_pretrained(MODEL)",
        f"user = USER_TEMPLATE.format(question={EXAMPLE['question']!r}, answer_a={EXAMPLE['answer_a']!r}, "
        f"answer_b={EXAMPLE['answer_b']!r})",
        'messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]'
        if system is not None
        else 'messages = [{"role": "user", "content": user}]',
        'inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)',
        f"output = model.generate(**inputs, max_new_tokens={max_new_tokens}, do_sample=False)",
        'judgement = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)',
        'verdict = re.search(r"<answer>\\[\\[(A|B)\\]\\]</answer>", judgement)',
        "print(judgement)",
        'print("verdict:", verdict.group(1) if verdict else None)',
    ]
    return "\n".join(lines)


def cli_snippet(model: str, style: str, max_new_tokens: int = 1024) -> str:
    """The same judgement with ``rmr1 judge`` (both A/B orders), as shell lines."""
    pair = {"id": "capital-au", "source": "example", "domain": "chat", "prompt": EXAMPLE["question"],
            "chosen": EXAMPLE["answer_b"], "rejected": EXAMPLE["answer_a"]}  # fmt: skip
    return "\n".join([
        f"pip install git+{REPO_URL}   # the rmr1 package (the `rmr1` command)",
        f"echo {shlex.quote(json.dumps(pair))} > pairs.jsonl",
        shlex.join(["rmr1", "judge", "--model", model, "--data", "pairs.jsonl", "--style", style, "--both-orders",
                    "--max-new-tokens", str(max_new_tokens), "--out", "judgements.jsonl"]),
    ])  # fmt: skip


def _front_matter(facts: Mapping) -> str:
    import yaml

    metadata = {}
    if facts.get("base_model"):
        metadata["base_model"] = facts["base_model"]
    metadata["library_name"] = "transformers"
    metadata["pipeline_tag"] = "text-generation"
    tags = list(TAGS if facts.get("style") else TAGS[:1]) + [facts["stage"]]
    metadata["tags"] = tags
    if facts.get("license"):
        metadata["license"] = facts["license"]
    if facts.get("datasets"):
        metadata["datasets"] = list(facts["datasets"])
    return "---\n" + yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True) + "---\n"


def _table(rows: Mapping) -> list[str]:
    lines = ["| field | value |", "|---|---|"]
    for key, value in rows.items():
        if value is not None:
            shown = f"{value:.4g}" if isinstance(value, float) else value
            lines.append(f"| `{key}` | {shown} |")
    return lines


def _interval(cell: Mapping) -> str:
    if cell["value"] != cell["value"]:
        return "–"
    unit = cell.get("unit", "judgements")  # a faithful-quote share counts quotes
    sample = f" ({cell['n']} {unit}, {cell['clusters']} pairs)" if "n" in cell and "clusters" in cell else ""
    return f"{cell['value']:.3f} [{cell['low']:.3f}, {cell['high']:.3f}]{sample}"


def _evaluation_lines(evaluation: Mapping) -> list[str]:
    column = evaluation["column"]
    lines = ["## Held-out evaluation", "",
             f"Measured by `rmr1 pipeline` (preset `{evaluation['preset']}`, run folder `{evaluation['run_dir']}`), this model "
             f"being the **{column}** column; pooled sets: {', '.join(evaluation['headline_sets'])}. Every pair judged in "
             "both A/B orders, greedy; accuracy with its seeded 95% bootstrap interval, resampling pairs.", "",
             "| metric | this model |", "|---|---:|"]  # fmt: skip
    for row in evaluation["rows"]:
        cell = row.get(column)
        if cell is None:
            continue
        shown = _interval(cell) if isinstance(cell, dict) else (f"{cell:.3f}" if isinstance(cell, float) else str(cell))
        lines.append(f"| {row['metric']} | {'–' if shown == 'nan' else shown} |")
    lines += ["", "The whole report of the run (every model of the pipeline, paired differences, bias readout):", "",
              evaluation["report_markdown"].rstrip(), ""]  # fmt: skip
    return lines


def render_card(facts: Mapping) -> str:
    """The card's Markdown (with the YAML front matter) from :func:`training_facts`."""
    style, stage = facts.get("style"), facts["stage"]
    model = facts.get("repo_id") or facts.get("export_dir") or "PATH/TO/THIS/FOLDER"
    what = (
        "distillation (supervised fine-tuning on chain-of-rubrics traces)"
        if stage == "distill"
        else "GRPO with a verifiable reward"
    )
    lines = [_front_matter(facts), f"# {facts.get('name') or Path(model).name}", ""]
    if style:
        lines += [
            f"A reasoning reward model in the style of [RM-R1: Reward Modeling as Reasoning]({PAPER}): given a question",
            "and two responses, it classifies the task (`<type>Chat</type>` or `<type>Reasoning</type>`), writes a rubric",
            "with its justification (chat) or its own solution (reasoning), evaluates both responses with quotes, and",
            "ends with `<answer>[[A]]</answer>` or `<answer>[[B]]</answer>`.",
            "",
            f"Trained by {what} with the [rmr1 course]({REPO_URL}) (`rmr1 {stage}`, {facts['trainer']}).",
        ]
    else:
        lines += [
            f"Trained by `rmr1 {stage}` ({facts['trainer']}, [rmr1 course]({REPO_URL})) on prompts that are not the RM-R1",
            "judge prompt (for example a policy rewarded by a reasoning reward model): the judge usage below does not apply.",
        ]
    lines += ["", "## Base model", ""]
    base, start = facts.get("base_model"), facts["started_from"]
    if base:
        lines.append(f"[{base}](https://huggingface.co/{base})" + (f", through `{start}`" if start != base else "") + ".")
    else:
        lines.append(f"`{start}` (not a model on the Hub).")
    lines.append(f"Fine-tuning: {facts['fine_tuning']}.")
    if style:
        system, single, multi = _templates(style)
        lines += ["", "## Prompt format", ""]
        if system is not None:
            lines += ["The judge reads the RM-R1 prompt of the released instruct checkpoints, byte for byte: a system message,",
                      "", "```text", system, "```", "", "then one user message, for a single-turn question:", ""]  # fmt: skip
        else:
            lines += ["The judge reads one user message (the RM-R1 template of the reasoning checkpoints); single turn:", ""]
        lines += ["```text", single, "```", "", "or, for a conversation (each side the whole transcript, lines `User: …` and",
                  "`Chatbot A: …` / `Chatbot B: …`):", "", "```text", multi, "```", "",
                  "It answers with its chain of rubrics and one verdict, `<answer>[[A]]</answer>` or `<answer>[[B]]</answer>`.",
                  "Judge each pair in both A/B orders to see position bias.", "",
                  "## Use it", "", "With transformers (the prompt inline, nothing else to install):", "",
                  "```python", transformers_snippet(model, style), "```", "",
                  "With the `rmr1` command line (both orders, parsed verdicts in `judgements.jsonl`):", "",
                  "```bash", cli_snippet(model, style), "```"]  # fmt: skip
    data = facts["data"]
    lines += [
        "",
        "## Training data",
        "",
        f"`{data['path']}`" + (f" (split `{data['split']}`)" if data.get("split") else "") + ":",
    ]
    counted = {k: v for k, v in data.items() if k not in ("path", "split") and v is not None}
    lines.append(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counted.items()) + ".")
    lines += ["", "## Training recipe", "", f"{facts['trainer']}, {facts['fine_tuning']}.", "", *_table(facts["recipe"])]
    lines += ["", "## Training results", "", *_table(facts["results"])]
    if facts.get("evaluation"):
        lines += ["", *_evaluation_lines(facts["evaluation"])]
    lines += ["", "## The command that made it", ""]
    if facts.get("command"):
        lines += ["```bash", facts["command"], "```"]
    else:
        lines.append(f"`rmr1 {stage}` called from Python with parsed arguments (the recipe fields are listed above).")
    if not facts.get("pipeline"):
        lines += ["", f"Process command line: `{facts['process_command']}`."]
    else:
        lines += ["", f"Part of `rmr1 pipeline`, preset `{facts['pipeline']['preset']}` (process command line: "
                  f"`{facts['pipeline']['command']}`); the run's settings (`run.json`):", "",
                  "```json", json.dumps(facts["pipeline"]["settings"], indent=2), "```"]  # fmt: skip
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items()) + "."]
    lines += ["", "## Limitations", "",
              "A judge is only as good as what it was trained and measured on: check its held-out accuracy on pairs like",
              "yours, in both A/B orders, before using its verdicts as a reward."]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_model_card(export_dir: str | Path, facts: Mapping) -> Path:
    """Write ``README.md`` (the card) and ``rmr1_card.json`` (its facts) into ``export_dir``.

    Args:
        export_dir: the exported model folder.
        facts: from :func:`training_facts` (``export_dir`` and ``name`` are filled in).

    Returns:
        The card's path.
    """
    export_dir = Path(export_dir)
    name = facts.get("name") or (facts.get("repo_id") or "").split("/")[-1] or export_dir.resolve().parent.name
    facts = {**facts, "export_dir": facts.get("export_dir") or str(export_dir.resolve()), "name": name}
    secrets = secret_values()
    (export_dir / FACTS_FILE).write_text(scrub(json.dumps(facts, indent=2), secrets) + "\n", encoding="utf-8")
    path = export_dir / CARD_FILE
    path.write_text(scrub(render_card(facts), secrets), encoding="utf-8")
    return path


def read_card_metadata(path: str | Path) -> dict:
    """The YAML front matter of a card (``{}`` when it has none)."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4:].split("\n---\n", 1)[0]) or {}


# ---------------------------------------------------------------------------------------------
# The stages' export, the push, the pipeline's metrics
# ---------------------------------------------------------------------------------------------


def finish_export(trainer, stage: str, args: tuple, report: dict, argv: Sequence[str] | None, style: str | None) -> dict:
    """Write the card into the export folder and push the folder when the config asks (main process only).

    Args:
        trainer: the trained trainer.
        stage: ``"distill"`` or ``"grpo"``.
        args: ``(script_args, training_args, model_args)``.
        report: the stage's report (``export_dir`` and the results).
        argv: the stage's arguments (``None``: parsed dataclasses were given).
        style: the prompt style of the training data (:func:`prompt_style`).

    Returns:
        ``{"card": path, "hub": {"repo_id", "commit"}}`` on the main process (``hub`` only when
        pushed), ``{}`` elsewhere.
    """
    result = {}
    training_args = args[1]
    if trainer.accelerator.is_main_process:
        repo_id = getattr(trainer, "hub_model_id", None) if training_args.push_to_hub else None
        facts = training_facts(stage, args, report, argv, style, trainer.accelerator.num_processes, repo_id)
        result["card"] = str(write_model_card(report["export_dir"], facts))
        forget_hub_token(report["export_dir"])
        if training_args.push_to_hub:
            commit = push_export(trainer, report["export_dir"], merged=args[0].merge_lora)
            result["hub"] = {"repo_id": trainer.hub_model_id, "commit": commit.oid, "url": commit.commit_url}
    trainer.accelerator.wait_for_everyone()
    return result


def add_pipeline_results(report: Mapping, markdown: str, preset: str, run_dir: str | Path) -> list[str]:
    """Add a finished pipeline's held-out metrics to the cards of the models it trained.

    Args:
        report: the pipeline's report (``rows``, ``columns``, ``models``, ``headline_sets``).
        markdown: the report as Markdown (``report.md``).
        preset: the preset's name.
        run_dir: the run folder (its ``run.json`` holds the run's settings).

    Returns:
        The cards rewritten (models whose export has no ``rmr1_card.json`` are skipped).
    """
    run_dir = Path(run_dir)
    settings_file = run_dir / "run.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.exists() else {}
    written = []
    for column in ("distilled", "final"):  # the models the pipeline trained (not the one it started from)
        facts_file = Path(str(report["models"].get(column, ""))) / FACTS_FILE
        if column not in report["columns"] or not facts_file.exists():
            continue
        facts = json.loads(facts_file.read_text(encoding="utf-8"))
        facts["evaluation"] = {
            "column": column,
            "preset": preset,
            "run_dir": str(run_dir),
            "headline_sets": list(report["headline_sets"]),
            "rows": [{"metric": r["metric"], column: r.get(column)} for r in report["rows"]],
            "report_markdown": markdown,
        }
        facts["pipeline"] = {"preset": preset, "command": process_command_line(), "settings": redact(settings)}
        written.append(str(write_model_card(facts_file.parent, facts)))
    return written
