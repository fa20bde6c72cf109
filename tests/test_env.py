"""``rmr1 env``: the report a bug needs, on the machine at hand."""

from __future__ import annotations

import json

from rmr1_utils.env import recipe_precisions
from rmr1_utils.precision import DeviceInfo

from .conftest import rmr1_in_process


def test_env_reports_versions_devices_precisions_and_backends(capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_123")
    code, out, _ = rmr1_in_process(capsys, "env")
    assert code == 0
    expected = ["- torch version:", "- transformers version:", "- trl version:", "- bitsandbytes version:", "- vllm version:",
                "- deepspeed version:", "- GPU: none", "grpo/colab-t4: fp32", "Generation backends: transformers"]  # fmt: skip
    for line in expected:
        assert line in out, line
    assert "hf_secret_value_123" not in out and "HF_TOKEN=set" in out
    code, out, _ = rmr1_in_process(capsys, "env", "--json")
    info = json.loads(out)
    assert code == 0 and info["colab"] is False and info["devices"] == [] and "transformers" in info["backends"]


def test_recipe_precisions_on_a_t4_name_the_refusals():
    t4 = recipe_precisions(DeviceInfo("cuda", "Tesla T4", (7, 5), 15 << 30))
    assert t4["distill/colab-t4"] == "fp16" and t4["grpo/colab-t4"] == "fp16"
    assert t4["grpo/single-gpu-24g"].startswith("refused:") and "no native bf16" in t4["grpo/single-gpu-24g"]
    a100 = recipe_precisions(DeviceInfo("cuda", "NVIDIA A100", (8, 0), 40 << 30))
    assert a100["grpo/single-gpu-24g"] == "bf16" and a100["distill/colab-t4"] == "bf16"
