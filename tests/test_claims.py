"""Every number the lessons and the README state is one a recorded run produced.

A lesson states no number that no recorded run produced (GUIDE). This scans the markdown of every
lesson and the README for numbers that read as claims — a decimal (``0.83``) or a number with a unit
(``783 tokens``, ``8 min``, ``5.1 GB``, ``40 %``, ``1.4×``) — and looks each up in the records:
``bench/RESULTS.md``, the values of ``notebooks/expected.json`` and the README's ``rmr1 plan --table``
block (``tests/test_plan.py`` keeps that one equal to the command's output). A number is backed when a
recorded number rounds to it as written (``0.139`` backs ``0.14``); a whole number with a unit needs a
recorded number with a unit of the same kind (``8 GB`` is not backed by some ``8`` elsewhere).
Code (fenced or inline) is skipped: settings are written as code. The few non-claims (versions,
citations, the paper's settings, arithmetic shown in the text) are an explicit allow-list, each with
its reason, and an allow-list entry that no longer occurs fails too, so the list cannot rot.
"""

from __future__ import annotations

import json
import re

import pytest

from .conftest import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PLAN_BLOCK = re.compile(r"<!-- rmr1 plan --table -->.*?<!-- /rmr1 plan --table -->", re.S)

UNIT_KINDS = {
    "time": r"(?:s|sec|seconds?|min|minutes?|h|hours?)",
    "memory": r"(?:GB|GiB|MB|MiB)",
    "tokens": r"tokens?",
    "percent": r"%",
    "ratio": r"[×x](?!\s*\d)",  # 1.4×, not the 8.23 × 10⁻³ of a number in scientific notation
}
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
UNIT = "|".join(f"(?P<{kind}>{pattern})" for kind, pattern in UNIT_KINDS.items())
CLAIM = re.compile(rf"(?<![\w.\-/^])(?P<n1>{NUMBER})(?:\s*[–-]\s*(?P<n2>{NUMBER}))?(?:(?:\s|-)?(?:{UNIT})(?![\w/]))?")

#: (file, exact text, why it is not a claim of a run). Each entry must still occur in its file.
ALLOWED = [
    ("00_overview.ipynb", "arXiv 2505.02387", "the paper's arXiv id"),
    ("02_chain_of_rubrics.ipynb", 'What does "(75%)" give?', "parser input of the exercise"),
    ("02_chain_of_rubrics.ipynb", '"(75%)" becomes', "parser input of the exercise"),
    ("03_distillation.ipynb", "its 112 tokens run out", "the evaluation's max_new_tokens setting"),
    ("03_distillation.ipynb", "RM-R1 used ~8.7K traces", "the paper's data size"),
    ("04_grpo.ipynb", "49,152-token vocabulary", "the embedded model's vocabulary size (its config)"),
    ("04_grpo.ipynb", "two close distributions over 8 tokens", "the size of a test's toy distribution"),
    ("04_grpo.ipynb", "or 1.15 (two right)", "arithmetic the solution shows (std of [+1, +1, −1, −1])"),
    ("04_grpo.ipynb", "±0.87 for two", "arithmetic the solution shows (1 / 1.15)"),
    ("README.md", "a 90-minute and a three-session plan", "a class plan's length"),
    ("teaching.md", "## A 90-minute class", "a class plan's length"),
    ("teaching.md", "**0–15 min, projected:**", "a class plan's time slot"),
    ("teaching.md", "**15–35 min, learners:**", "a class plan's time slot"),
    ("teaching.md", "**35–60 min, projected + learners:**", "a class plan's time slot"),
    ("teaching.md", "**60–80 min, learners:**", "a class plan's time slot"),
    ("teaching.md", "**80–90 min:**", "a class plan's time slot"),
    ("teaching.md", "Linux x86_64 and Python 3.11.", "a version"),
    ("troubleshooting.md", "Install Python 3.11 or newer", "a version"),
    ("README.md", "Python ≥ 3.10", "a version"),
    ("README.md", "(vLLM 0.28–0.31:", "versions"),
    ("README.md", "(25 % with 4-bit weights), decoding at 55 % (transformers) or 75 % (vLLM)", "rmr1 plan's stated assumptions"),
    ("README.md", "fits when 8 % of the card's", "rmr1 plan's stated rule"),
    ("README.md", "prompts ≤ 4096 and responses ≤ 8192 tokens", "the paper's settings"),
    ("README.md", "(0.30 tied accuracy + 0.30 reference accuracy", "the official formula's weights"),
    ("README.md", "the paper's ~8.7K traces", "the paper's data size"),
]


def _strip_code(text: str) -> str:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\$[^$\n]*\$", " ", text)  # formulas
    return PLAN_BLOCK.sub(" ", text)


def numbers(text: str):
    """``(number as written without commas, unit kind or None, match)`` for every number in ``text``."""
    for m in CLAIM.finditer(text):
        kind = next((k for k in UNIT_KINDS if m.group(k)), None)
        for n in (m.group("n1"), m.group("n2")):
            if n:
                yield n.replace(",", ""), kind, m


def claims(text: str) -> list[tuple[str, str | None, str]]:
    """The numbers of ``text`` that read as claims: decimals, and numbers with a unit."""
    text = " ".join(_strip_code(text).split())
    for file_text in (t for _, t, _ in ALLOWED):
        text = text.replace(file_text, " ")
    found = []
    for n, kind, m in numbers(text):
        if "." in n or kind:
            if re.match(r"\d+\.\d+\.\d+", text[m.start() :]):  # a version: 0.1.2
                continue
            found.append((n, kind, " ".join(text[max(0, m.start() - 50) : m.end() + 20].split())))
    return found


def recorded_numbers() -> list[tuple[float, str | None]]:
    results = (REPO_ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    plan = "\n".join(PLAN_BLOCK.findall(readme))
    out = [(float(n), kind) for n, kind, _ in numbers(results)]
    out += [(float(n), "any") for n, _, _ in numbers(plan)]  # its columns name the units
    expected = json.loads((REPO_ROOT / "notebooks" / "expected.json").read_text(encoding="utf-8"))
    out += [(float(record["value"]), None) for lesson in expected.values() for record in lesson.values()]
    return out


def backed(n: str, kind: str | None, recorded) -> bool:
    places = len(n.split(".")[1]) if "." in n else 0
    # a decimal is specific enough on its own; a whole number with a unit needs a unit of its kind
    return any(f"{value:.{places}f}" == n and ("." in n or kind is None or k in (kind, "any")) for value, k in recorded)


#: The time and memory block of each lesson's first cell and of the README: written from
#: notebooks/lesson_resources.json by the recording command and checked against it by
#: tests/test_lesson_recording.py, so its numbers are recorded by construction.
RESOURCES_BLOCK = re.compile(r"<!-- lesson-resources.*?<!-- /lesson-resources -->", re.S)


def markdown_of(path) -> str:
    if path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
    else:
        nb = json.loads(path.read_text(encoding="utf-8"))
        text = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return RESOURCES_BLOCK.sub("", text)


SOURCES = [*NOTEBOOKS, REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_every_number_stated_is_recorded(path):
    recorded = recorded_numbers()
    unbacked = [
        f"{n} ({kind or 'decimal'}): …{context}…"
        for n, kind, context in claims(markdown_of(path))
        if not backed(n, kind, recorded)
    ]
    assert not unbacked, (
        f"{path.name} states numbers no recorded run produced (record them in bench/RESULTS.md or "
        f"notebooks/expected.json, write settings as code, or allow-list a non-claim in {__name__}):\n" + "\n".join(unbacked)
    )


def test_the_allow_list_is_current():
    def where(name):
        return REPO_ROOT / ("notebooks" if name.endswith(".ipynb") else "docs" if name != "README.md" else "") / name

    stale = [(f, t) for f, t, _ in ALLOWED if t not in " ".join(markdown_of(where(f)).split())]
    assert not stale, f"allow-list entries that no longer occur (remove them): {stale}"


def test_the_check_catches_what_it_should():
    recorded = [(783.0, "tokens"), (0.139, None), (8.0, None), (160.7, None)]
    found = {
        n: kind
        for n, kind, _ in claims(
            "the prompt is ~650 tokens, or 783 tokens; 0.14 and 0.15; 8 GB RAM; 160.7 s; `lr 2e-4 0.5`; v0.1.2"
        )
    }
    assert found == {"650": "tokens", "783": "tokens", "0.14": None, "0.15": None, "8": "memory", "160.7": "time"}
    assert [n for n, kind in found.items() if not backed(n, kind, recorded)] == ["650", "0.15", "8"]
