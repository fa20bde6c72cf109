"""The project's scorers against code no one here wrote: the official ``rewardbench`` package from PyPI.

The package pins ``transformers==4.51`` and imports ``fastchat``, so it is never a dependency and its
modules cannot be imported here. Instead the test installs the pinned wheel with ``pip install
--no-deps --target <tmp>`` (skipped, saying why, only when the registry cannot be reached), reads the
scoring functions out of the installed source files with :mod:`ast` and runs them in a namespace with
numpy, pandas and ``math`` — the official code, unchanged, as the oracle:

* ``rewardbench/constants.py``: ``EXAMPLE_COUNTS`` and ``SUBSET_MAPPING`` (our section weights);
* ``rewardbench/utils.py``: ``calculate_scores_per_section`` (RewardBench v1 sections),
  ``reroll_and_score_dataset`` (a best-of-N item from its scores: the chosen one's share of the top),
  ``sample_stats`` and ``process_single_model`` (the Ties score);
* ``rewardbench/generative.py`` and ``generative_v2.py``: ``process_judgement`` (the verdict parsers
  of ``--scoring official``).

Seeded random outcome tables (a few thousand in all) are scored by both. One known difference is
checked as such: PyPI's 0.1.4 predates reward-bench #244 (June 2025), whose Ties margin term, which
:func:`rmr1_utils.rewardbench2.ties_score` follows, counts a tied prompt whose correct answers are
rated equal (spread 0) as tanh(±inf) = ±1 where 0.1.4 leaves it out of the mean; the two agree exactly
whenever every spread is positive, and otherwise differ by at most 0.01 × 2.

Other benchmarks: PyPI has no package of RM-Bench, RMB, JudgeBench or HelpSteer3's scorers (``pip
index versions rm-bench``, ``rmbench``, ``judgebench``: no matching distribution, 2026-11), so
they have no installable oracle; their rules are pinned by hand-computed tests.
"""

from __future__ import annotations

import ast
import math
import random
import subprocess
import sys
from pathlib import Path

import pytest

from rmr1_utils.benchmarks import REWARDBENCH_EXAMPLE_COUNTS, REWARDBENCH_SECTIONS
from rmr1_utils.judgement import first_mark_verdict
from rmr1_utils.rewardbench2 import best_of_ratings, score_rewardbench2, ties_score
from rmr1_utils.scoring import score_rewardbench

#: The pinned official release (the newest on PyPI).
PACKAGE = "rewardbench==0.1.4"
_NETWORK = ("No matching distribution", "Could not fetch", "connection", "Connection", "Temporary failure", "timed out")


class _Frames:
    """Stands in for ``datasets.Dataset`` where the official code only wraps its finished result."""

    @staticmethod
    def from_pandas(frame):
        return frame

    @staticmethod
    def from_dict(columns):
        return columns


class _Table(list):
    """A list of rows with the one method ``reroll_and_score_dataset`` calls on its input."""

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(list(self))


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """The official functions, run from the installed package's own source files."""
    target = tmp_path_factory.mktemp("rewardbench")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--disable-pip-version-check",
                           "--target", str(target), PACKAGE], capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        if any(marker in done.stdout + done.stderr for marker in _NETWORK):
            pytest.skip(f"PyPI unreachable, cannot install {PACKAGE}: {done.stderr.strip().splitlines()[-1]}")
        pytest.fail(f"pip install {PACKAGE} failed:\n{done.stderr}")
    import numpy as np
    import pandas as pd

    source = Path(target, "rewardbench")
    namespace = {"np": np, "pd": pd, "math": math, "re": __import__("re"), "Dataset": _Frames}
    wanted = {"utils.py": ("calculate_scores_per_section", "reroll_and_score_dataset", "sample_stats", "process_single_model")}
    functions = {}
    for name, defs in wanted.items():
        tree = ast.parse((source / name).read_text(encoding="utf-8"))
        body = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in defs]
        assert {node.name for node in body} == set(defs), f"{name} no longer defines {defs}"
        exec(compile(ast.Module(body=body, type_ignores=[]), str(source / name), "exec"), namespace)
        functions.update({d: namespace[d] for d in defs})
    for name, key in (("generative.py", "pairwise_judgement"), ("generative_v2.py", "four_way_judgement")):
        tree = ast.parse((source / name).read_text(encoding="utf-8"))
        (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "process_judgement"]
        scope = dict(namespace)
        exec(compile(ast.Module(body=[node], type_ignores=[]), str(source / name), "exec"), scope)
        functions[key] = scope["process_judgement"]
    constants = ast.parse((source / "constants.py").read_text(encoding="utf-8"))
    for node in constants.body:
        if isinstance(node, ast.Assign) and node.targets[0].id in ("EXAMPLE_COUNTS", "SUBSET_MAPPING"):
            functions[node.targets[0].id] = ast.literal_eval(node.value)
    return functions


MARKS = ("[[A]]", "[[B]]", "[[C]]", "[[D]]", "[A]", "<answer>A</answer>", " so ", "Chatbot B is better. ")


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(MARKS) for _ in range(rng.randint(0, 4)))


def test_the_section_weights_are_the_official_constants(official):
    assert REWARDBENCH_EXAMPLE_COUNTS == official["EXAMPLE_COUNTS"]
    assert {s: list(names) for s, names in REWARDBENCH_SECTIONS.items()} == official["SUBSET_MAPPING"]


def test_verdict_parsers_of_scoring_official_are_process_judgement(official):
    rng = random.Random(0)
    for _ in range(3000):
        text = random_text(rng)
        assert (first_mark_verdict(text) or "error") == official["pairwise_judgement"](text, None)
        assert (first_mark_verdict(text, "ABCD") or "error") == official["four_way_judgement"](text, None)


def test_rewardbench_sections_and_score_match_calculate_scores_per_section(official):
    rng = random.Random(1)
    subsets = list(REWARDBENCH_EXAMPLE_COUNTS)
    for table in range(2000):
        scoring = ("rmr1", "official")[table % 2]
        log, results = [], {}
        for subset in rng.sample(subsets, rng.randint(1, len(subsets))):  # some sections may be missing
            for k in range(rng.randint(1, 6)):
                better, text = rng.choice("AB"), random_text(rng)
                verdict = first_mark_verdict(text) if scoring == "official" else rng.choice(["A", "B", None])
                log.append({"key": f"{subset}-{k}", "id": k, "subset": subset, "better_position": better, "completion": text,
                            "verdict": verdict, "correct": verdict == better})  # fmt: skip
                # run_generative.py's per-comparison result: the official parse, an "error" is 0.5 (effectively a tie)
                winner = official["pairwise_judgement"](text, None) if scoring == "official" else verdict
                results.setdefault(subset, []).append(
                    1.0 if winner == better else 0.5 if scoring == "official" and winner == "error" else 0.0
                )
        metrics = {s: sum(v) / len(v) for s, v in results.items()}
        expected = official["calculate_scores_per_section"](official["EXAMPLE_COUNTS"], official["SUBSET_MAPPING"], metrics)
        ours = score_rewardbench(log, scoring=scoring)
        assert {s: ours["sections"].get(s, 0) for s in expected} == pytest.approx(expected, abs=1e-12)
        assert ours["score"] == pytest.approx(sum(expected.values()) / len(expected), abs=1e-12)


def test_best_of_n_ratings_match_reroll_and_score_dataset(official):
    rng = random.Random(2)
    for _ in range(150):
        rows, sizes, ours = _Table(), [], []
        for item in range(rng.randint(1, 8)):
            n = rng.randint(2, 6)
            ratings = [rng.randint(1, 4) for _ in range(n)]  # few values: ties at the top are common
            rows += [{"text": f"r{k}", "scores": r, "id": item} for k, r in enumerate(ratings)]
            sizes.append(n)
            ours.append(best_of_ratings(ratings, [k == 0 for k in range(n)]))  # the chosen response is the first
        frame = official["reroll_and_score_dataset"](rows, sizes)
        assert ours == pytest.approx(list(frame["results"]), abs=1e-12)


def _ties_table(rng: random.Random, continuous: bool):
    """Ties items ``ref:N`` (one correct answer) and ``tied:N`` (2–4), some prompts unpaired, some ratings failed."""
    draw = (lambda: rng.random() * 10) if continuous else (lambda: rng.choice([*range(1, 11), None]))
    ours, rows = {}, []
    for n in range(rng.randint(1, 6)):
        for kind in rng.choice([("ref", "tied"), ("ref", "tied"), ("ref",), ("tied",)]):
            correct = 1 if kind == "ref" else rng.randint(2, 4)
            ratings = [draw() for _ in range(correct + rng.randint(1, 3))]
            ours[f"{kind}:{n}"] = [(k < correct, r) for k, r in enumerate(ratings)]
            rows.append({"id": f"{kind}:{n}", "num_correct": correct, "scores": [-1 if r is None else r for r in ratings]})
    return ours, rows


def test_ties_match_process_single_model(official):
    rng = random.Random(3)
    for table in range(2000):
        continuous = table % 2 == 0
        ours, rows = _ties_table(rng, continuous)
        _, expected = official["process_single_model"](rows)
        got = ties_score(ours)
        spreads = [v[0] - v[-1] for k, v in _tied_correct(ours).items() if f"ref:{k}" in ours]
        if continuous or all(s > 0 for s in spreads):
            assert got["score"] == pytest.approx(expected, abs=1e-12), (ours, got)
        else:  # reward-bench #244's margin term (ours) against 0.1.4's: only the 0.01-weighted margin may differ
            assert abs(got["score"] - expected) <= 0.02 + 1e-12


def _tied_correct(items: dict) -> dict:
    """Prompt number → its tied item's correct ratings, best first (a failed rating is −1)."""
    return {int(k.split(":")[1]): sorted((-1 if r is None else r for ok, r in v if ok), reverse=True)
            for k, v in items.items() if k.startswith("tied:")}  # fmt: skip


def test_rewardbench2_official_score_from_the_official_pieces(official):
    """Five four-way subsets and Ties, each scored by the official functions, their mean against ours."""
    rng = random.Random(4)
    for _ in range(300):
        log, expected = [], {}
        for subset in ("Factuality", "Precise IF", "Math", "Safety", "Focus"):
            results = []
            for k in range(rng.randint(1, 5)):
                better, text = rng.choice("ABCD"), random_text(rng)
                winner = official["four_way_judgement"](text, None)
                results.append(0.25 if winner == "error" else float(winner == better))  # process_shuffled's rule
                log.append({"key": f"{subset}{k}", "id": k, "subset": subset, "domain": None, "kind": "four-way",
                            "better_position": better, "completion": text, "verdict": None, "correct": False})  # fmt: skip
            expected[subset] = sum(results) / len(results)
        ties, rows = _ties_table(rng, continuous=True)
        expected["Ties"] = official["process_single_model"](rows)[1]
        for item, samples in ties.items():
            log += [{"key": f"{item}-{k}", "id": item, "subset": "Ties", "domain": None, "kind": "rating", "response": k,
                     "correct_response": ok, "verdict": r, "correct": None} for k, (ok, r) in enumerate(samples)]  # fmt: skip
        ours = score_rewardbench2(log, scoring="official")
        assert ours["subsets"] == pytest.approx(expected, abs=1e-12)
        assert ours["score"] == pytest.approx(sum(expected.values()) / 6, abs=1e-12)
