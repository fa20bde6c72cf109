"""Model cards of the exports (``rmr1_utils.model_card``) and ``push_to_hub``: real one-step runs on
the tiny random model; the push goes to a local stand-in of the Hub's upload API
(``tests/hub_test_server.py``) through ``huggingface_hub``'s own client, ``HF_ENDPOINT`` pointing at it."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from rmr1_utils import distill, grpo
from rmr1_utils.formats import INSTRUCT_SYSTEM_PROMPT, INSTRUCT_USER_MULTI_TURN, INSTRUCT_USER_SINGLE_TURN, build_judge_messages
from rmr1_utils.model_card import (
    CARD_FILE,
    EXAMPLE,
    FACTS_FILE,
    add_pipeline_results,
    base_model_of,
    command_line,
    read_card_metadata,
    redact,
    secret_values,
)
from rmr1_utils.models import EMBEDDED_HUB_ID
from rmr1_utils.runlog import read_log

from .conftest import rmr1_in_process, run_rmr1
from .hub_test_server import HubTestServer

ENV_TOKEN = "hf_EnvironmentSecret0123456789"
FLAG_TOKEN = "hf_FlagSecret9876543210"
SECTIONS = ("## Base model", "## Prompt format", "## Use it", "## Training data", "## Training recipe",
            "## Training results", "## The command that made it")  # fmt: skip


def distill_args(out: Path, *extra: str) -> list[str]:
    return ["--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(out), "--max_train_samples", "2",
            "--per_device_train_batch_size", "2", "--max_steps", "1", "--disable_tqdm", "true", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """One real distillation step, with a token in the environment and another on the command line."""
    out = tmp_path_factory.mktemp("card") / "run"
    args = distill_args(out, "--hub_token", FLAG_TOKEN)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_TOKEN", ENV_TOKEN)
        report = distill.main(args)
    export = Path(report["export_dir"])
    return {"args": args, "report": report, "export": export, "card": (export / CARD_FILE).read_text(encoding="utf-8")}


def code_block(card: str, language: str) -> str:
    """The first ``language`` code block of the card (the usage snippets come first)."""
    blocks = re.findall(rf"```{language}\n(.*?)\n```", card, flags=re.DOTALL)
    assert blocks, f"no {language} block"
    return blocks[0]


def test_the_export_gets_a_card_with_front_matter_and_sections(distilled):
    card, export = distilled["card"], distilled["export"]
    assert distilled["report"]["card"] == str(export / CARD_FILE)
    metadata = read_card_metadata(export / CARD_FILE)
    assert metadata["library_name"] == "transformers"
    assert {"trl", "rm-r1", "reward-model", "generative-judge", "distill"} <= set(metadata["tags"])
    assert "base_model" not in metadata  # tiny-random is not a Hub model: the card says so instead
    assert "`tiny-random` (not a model on the Hub)" in card
    positions = [card.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    facts = json.loads((export / FACTS_FILE).read_text(encoding="utf-8"))
    assert facts["style"] == "instruct" and facts["data"]["examples"] == 2 and facts["results"]["optimizer_steps"] == 1
    assert f"| `train_loss` | {distilled['report']['train_loss']:.4g} |" in card


def test_the_card_renders_the_exact_prompt_from_formats(distilled):
    card = distilled["card"]
    for text in (INSTRUCT_SYSTEM_PROMPT, INSTRUCT_USER_SINGLE_TURN, INSTRUCT_USER_MULTI_TURN):
        assert f"```text\n{text}\n```" in card


def test_the_command_line_is_on_the_card_and_no_token_anywhere(distilled):
    card, export = distilled["card"], distilled["export"]
    expected = "rmr1 distill " + shlex.join(distilled["args"]).replace(FLAG_TOKEN, "***")
    assert f"```bash\n{expected}\n```" in card
    assert "--hub_token ***" in card
    for path in export.iterdir():  # the card, its facts, and the trainer's pickled config beside the weights
        data = path.read_bytes()
        assert ENV_TOKEN.encode() not in data and FLAG_TOKEN.encode() not in data, path.name


def test_the_python_snippet_judges_with_the_exact_prompt(distilled):
    code = code_block(distilled["card"], "python").replace("max_new_tokens=1024", "max_new_tokens=4")
    namespace: dict = {}
    exec(compile(code, "card-snippet", "exec"), namespace)  # loads the export by its path, generates
    assert namespace["MODEL"] == str(distilled["export"].resolve())
    assert namespace["messages"] == build_judge_messages(**EXAMPLE)
    assert isinstance(namespace["judgement"], str)


def test_the_cli_snippet_judges(distilled, tmp_path, monkeypatch, capsys):
    lines = code_block(distilled["card"], "bash").splitlines()
    assert lines[0].startswith("pip install ")
    pairs = json.loads(shlex.split(lines[1])[1])  # echo '<pair>' > pairs.jsonl
    (tmp_path / "pairs.jsonl").write_text(json.dumps(pairs) + "\n")
    argv = shlex.split(lines[2])
    assert argv[:2] == ["rmr1", "judge"] and argv[argv.index("--model") + 1] == str(distilled["export"].resolve())
    argv[argv.index("--max-new-tokens") + 1] = "4"
    monkeypatch.chdir(tmp_path)
    code, out, err = rmr1_in_process(capsys, *argv[1:], "--quiet")
    assert code == 0, err
    judged = read_log(tmp_path / "judgements.jsonl")
    assert [r["better_position"] for r in judged] == ["A", "B"]  # the pair, in both orders


def test_secret_flags_are_hidden_but_variable_names_are_kept(monkeypatch):
    line = command_line("rmr1 grpo", ["--hub_token", "abc", "--api-key=xyz", "--api-key-env", "MY_KEY", "--lr", "1"])
    assert line == "rmr1 grpo --hub_token *** --api-key=*** --api-key-env MY_KEY --lr 1"
    # a secret key in a --set value is hidden; flags whose name only contains "token" are not secrets
    line = command_line("rmr1 pipeline", ["--set", "distill_overrides.hub_token=hf_abc", "--max_new_tokens", "8",
                                          "--side_token_weight", "2"])  # fmt: skip
    assert line == "rmr1 pipeline --set distill_overrides.hub_token=*** --max_new_tokens 8 --side_token_weight 2"
    assert redact({"grpo_overrides": {"hub_token": "hf_abc", "max_steps": 2}, "seed": 1}) == {
        "grpo_overrides": {"hub_token": "***", "max_steps": 2},
        "seed": 1,
    }
    monkeypatch.setenv("MY_API_KEY", "sk-0123456789")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-and-long")  # a word containing TOKEN is no secret
    assert "sk-0123456789" in secret_values() and "false-and-long" not in secret_values()


def test_base_model_follows_the_chain(tmp_path):
    assert base_model_of("embedded") == EMBEDDED_HUB_ID
    assert base_model_of("rmr1-judge-135m") == EMBEDDED_HUB_ID  # a shipped judge: a delta over the embedded model
    assert base_model_of("tiny-random") is None
    assert base_model_of("Qwen/Qwen2.5-7B-Instruct") == "Qwen/Qwen2.5-7B-Instruct"
    (tmp_path / FACTS_FILE).write_text(json.dumps({"base_model": "Qwen/Qwen2.5-1.5B-Instruct"}))
    assert base_model_of(str(tmp_path)) == "Qwen/Qwen2.5-1.5B-Instruct"  # an export: what its card says
    assert base_model_of(str(tmp_path / "nowhere")) is None


def test_grpo_export_card_names_the_base_model_through_the_distilled_folder(distilled, tmp_path):
    start = tmp_path / "distilled"
    shutil.copytree(distilled["export"], start)
    facts = json.loads((start / FACTS_FILE).read_text())
    (start / FACTS_FILE).write_text(json.dumps({**facts, "base_model": EMBEDDED_HUB_ID}))  # as if distilled from embedded
    report = grpo.main(["--config", "tiny-cpu", "--model_name_or_path", str(start), "--output_dir", str(tmp_path / "grpo"),
                        "--max_train_samples", "2", "--max_steps", "1", "--max_completion_length", "8",
                        "--disable_tqdm", "true"])  # fmt: skip
    card = Path(report["card"]).read_text(encoding="utf-8")
    metadata = read_card_metadata(report["card"])
    assert metadata["base_model"] == EMBEDDED_HUB_ID and metadata["license"] == "apache-2.0"
    assert "grpo" in metadata["tags"] and "TRL GRPOTrainer" in card
    assert f"[{EMBEDDED_HUB_ID}](https://huggingface.co/{EMBEDDED_HUB_ID}), through `{start}`" in card
    assert "`reward_funcs` | ['rmr1_utils.rewards.rmr1_reward']" in card and "`num_generations` | 4" in card


def test_pipeline_results_are_added_to_the_card(distilled, tmp_path):
    export = tmp_path / "final"
    shutil.copytree(distilled["export"], export)
    settings = {"model": "tiny-random", "seed": 42, "distill_overrides": {"hub_token": "hf_not_on_the_card"}}
    (tmp_path / "run.json").write_text(json.dumps(settings))
    interval = {"value": 0.75, "low": 0.5, "high": 1.0, "n": 8, "clusters": 4, "level": 0.95}
    report = {
        "columns": ["base", "final"],
        "models": {"base": "tiny-random", "distilled": "nowhere", "final": str(export)},
        "headline_sets": ["held-out"],
        "rows": [{"metric": "format compliance", "base": 0.0, "final": 0.875},
                 {"metric": "accuracy", "base": interval, "final": interval},
                 {"metric": "position consistency", "base": float("nan"), "final": 0.5},
                 {"metric": "judgements", "base": 8, "final": 8}],
    }  # fmt: skip
    written = add_pipeline_results(report, "| metric | base | final |\n", "smoke", tmp_path)
    assert written == [str(export / CARD_FILE)]
    card = (export / CARD_FILE).read_text(encoding="utf-8")
    assert "## Held-out evaluation" in card and "preset `smoke`" in card
    assert "| accuracy | 0.750 [0.500, 1.000] (8 judgements, 4 pairs) |" in card
    assert "| format compliance | 0.875 |" in card and "| position consistency | 0.500 |" in card
    assert '"model": "tiny-random"' in card  # the run's settings, without their secrets
    assert "hf_not_on_the_card" not in card + (export / "rmr1_card.json").read_text(encoding="utf-8")
    assert card.index("## Held-out evaluation") < card.index("## The command that made it")


def test_push_to_hub_uploads_the_export_with_its_card(tmp_path):
    repo = "test-user/rmr1-judge"
    with HubTestServer(token=FLAG_TOKEN) as hub:
        # A checkpoint push of a LoRA run left adapter files at the root: the merged export replaces them.
        hub.repos[repo] = {"files": {"adapter_config.json": b"{}", "adapter_model.safetensors": b"x"}, "commits": []}
        proc = run_rmr1("distill", *distill_args(tmp_path / "run", "--push_to_hub", "true", "--hub_model_id", repo,
                                                 "--hub_token", FLAG_TOKEN, "--hub_private_repo", "true"),
                        env={"HF_ENDPOINT": hub.url, "HF_TOKEN": ENV_TOKEN, "HF_HUB_DISABLE_TELEMETRY": "1"})  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
    export = tmp_path / "run" / "final"
    files = hub.repos[repo]["files"]
    local = {p.name for p in export.iterdir()}
    assert {"README.md", FACTS_FILE, "config.json", "model.safetensors", "tokenizer.json"} <= set(files)
    assert set(files) == local  # exactly the export folder: the adapter files are gone
    assert files["model.safetensors"] == (export / "model.safetensors").read_bytes()
    card = files["README.md"].decode()
    assert f"MODEL = {repo!r}" in card and f"--model {repo}" in card  # the snippets load the pushed repo
    assert all(FLAG_TOKEN.encode() not in b and ENV_TOKEN.encode() not in b for b in files.values())
    posts = [r for r in hub.requests if r["method"] == "POST"]
    assert posts[0]["path"] == "/api/repos/create" and posts[0]["json"]["visibility"] == "private"  # the trainer's init_hf_repo
    assert all(r["authorization"] == f"Bearer {FLAG_TOKEN}" for r in posts)
    report = json.loads((tmp_path / "run" / "distill_report.json").read_text())
    assert report["hub"]["repo_id"] == repo and report["hub"]["commit"] == hub.repos[repo]["commits"][-1]["oid"]
