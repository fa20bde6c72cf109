"""Every exercise of every lesson has a hint and a solution, and every solution whose code runs on its
own (a fenced block starting ``# runs as is``) runs here, so a solution cannot rot.

Exercises are the numbered items of a lesson's ``## Exercises`` section; hints and solutions are
collapsible ``<details>`` blocks under them. An exercise that needs ``make``, the network or a GPU
says so in its first words: ``(`make`)``, ``(network)``, ``(GPU, network)``.
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def exercises(path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    text = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    section = text.split("## Exercises", 1)[1]
    return re.split(r"\n(?=\d+\. )", "\n" + section.split("\n## ", 1)[0].strip())[1:]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_a_hint_and_a_solution(path):
    items = exercises(path)
    assert items, "no exercises"
    missing = [
        item.split("\n")[0][:60]
        for item in items
        if "<summary>Hint</summary>" not in item or "<summary>Solution</summary>" not in item
    ]
    assert not missing, f"exercises without a hint or a solution: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exercises_needing_make_network_or_a_gpu_say_so(path):
    for item in exercises(path):
        head = item.split("<details>")[0]
        needs = {
            "make": re.search(r"Run `make ", head) is not None,
            "network": re.search(r"rmr1-mix|vllm serve|TEACHER_URL|gaotang/|--config (colab-t4|single-gpu-24g)", head)
            is not None,
            "GPU": re.search(r"vllm serve|gaotang/|--config (colab-t4|single-gpu-24g)|BACKEND = \"vllm\"", head) is not None,
        }
        mark = re.match(r"\d+\. \(([^)]*)\)", item)
        marked = mark.group(1) if mark else ""
        for need, present in needs.items():
            if present:
                assert need in marked, f"{path.name}: exercise '{item[:70]}' needs {need} and is not marked"


SOLUTION_CODE = [
    (path.name, block)
    for path in NOTEBOOKS
    for item in exercises(path)
    for solution in re.findall(r"<summary>Solution</summary>(.*?)</details>", item, flags=re.S)
    for block in re.findall(r"```python\n(.*?)```", solution, flags=re.S)
    if block.lstrip(" ").startswith("# runs as is")
]


def test_some_solutions_run_on_their_own():
    assert len(SOLUTION_CODE) >= 3


@pytest.mark.parametrize("name,code", SOLUTION_CODE, ids=[f"{n[:2]}-{i}" for i, (n, _) in enumerate(SOLUTION_CODE)])
def test_solution_code_runs(name, code, capsys):
    lines = code.split("\n")
    indent = min(len(line) - len(line.lstrip(" ")) for line in lines if line.strip())
    exec(compile("\n".join(line[indent:] for line in lines), f"<{name} solution>", "exec"), {})  # noqa: S102
