"""The task browser widget and the data plots, driven from Python on real prepared tasks."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

from rmr1_utils.data import load_pairs, pair_to_judge_task  # noqa: E402
from rmr1_utils.plots import plot_token_lengths, plot_winner_balance  # noqa: E402
from rmr1_utils.widgets import ALL, TaskBrowser, render_task_html  # noqa: E402

from .conftest import DATA_DIR  # noqa: E402


def _tasks():
    pairs = load_pairs(DATA_DIR / "quickstart_pairs.jsonl")
    return [pair_to_judge_task(p, "A" if i % 2 else "B") for i, p in enumerate(pairs)]


def test_browser_filters_and_pages():
    tasks = _tasks()
    browser = TaskBrowser(tasks)
    assert len(browser.filtered) == len(tasks) and browser.current == tasks[0]
    browser.domain.value = "math"
    assert {t["domain"] for t in browser.filtered} == {"math"} and browser.index.value == 0
    browser.step(1)
    assert browser.current == browser.filtered[1]
    browser.step(5)  # clamped at the end
    assert browser.current == browser.filtered[-1]
    assert f"{len(browser.filtered)} of {len(tasks)} tasks" in browser.status.value
    assert browser.prev.description == "◀ prev"
    browser.winner.value = "model_a"
    assert all(t["winner"] == "model_a" and t["domain"] == "math" for t in browser.filtered)
    browser.domain.value = ALL
    browser.source.value = ALL
    browser.winner.value = ALL
    assert len(browser.filtered) == len(tasks)


def test_browser_shows_the_exact_prompt_escaped():
    task = _tasks()[2]  # the code pair: contains backticks and '<' characters in a prompt
    html = render_task_html({**task, "messages": task["messages"] + [{"role": "assistant", "content": "<answer>[[A]]</answer>"}]})
    assert "&lt;answer&gt;[[A]]&lt;/answer&gt;" in html and "<answer>" not in html
    assert "[The Start of Chatbot A&#x27;s Response]" in html


def test_browser_with_no_match():
    browser = TaskBrowser(_tasks())
    browser.domain.value = "safety"
    browser.winner.value = "model_b" if browser.filtered[0]["winner"] == "model_a" else "model_a"
    assert browser.current is None and "no task matches" in browser.view.value


def test_plots_draw_real_data():
    tasks = _tasks()
    fig = plot_winner_balance(tasks)
    assert [ax.get_title() for ax in fig.axes] == ["winner by source", "winner by domain"]
    bars = fig.axes[1].patches
    assert sum(b.get_width() for b in bars) == len(tasks)
    fig = plot_token_lengths({"train": [900, 1000, 1100], "test": [950]}, budget=1200)
    assert fig.axes[0].get_lines()[0].get_xdata()[0] == 1200


def _cor_reply(request: dict) -> list[str]:
    """A complete chain-of-rubrics judgement that quotes the first line of each response shown."""
    user = request["messages"][-1]["content"]
    a = user.split("[The Start of Chatbot A's Response]\n", 1)[1].split("\n", 1)[0]
    b = user.split("[The Start of Chatbot B's Response]\n", 1)[1].split("\n", 1)[0]
    return [
        "<type>Chat</type>\n<rubric>\n1. Correctness (70%)\n2. Clarity (30%)\n<justify>Facts first.</justify>\n</rubric>\n"
        f"<eval><quote_A>{a[:30]}</quote_A> <quote_B>{b[:30]}</quote_B></eval>\n<answer>[[A]]</answer>"
    ]


def test_judgement_explorer_on_judged_pairs():
    from rmr1_utils.generation.openai import OpenAIBackend
    from rmr1_utils.judge import judge
    from rmr1_utils.widgets import FOUND_COLOUR, NOT_FOUND_COLOUR, JudgementExplorer

    from .openai_test_server import OpenAITestServer

    pairs = [p for p in load_pairs(DATA_DIR / "quickstart_pairs.jsonl") if "prompt" in p][:4]
    with OpenAITestServer(replies=_cor_reply) as server:
        records = judge(pairs, both_orders=True, backend=OpenAIBackend(server.url, "canned-judge"), progress=False)
    # A judge that always says A is right in one order and wrong in the other: all inconsistent.
    assert all(not r["consistent"] for r in records)
    explorer = JudgementExplorer(records, pairs)
    assert len(explorer.filtered) == 4 and len(explorer.current) == 2  # both orders side by side
    html = explorer.view.value
    assert html.count("order 0") == 1 and html.count("order 1") == 1
    assert "✓ right" in html and "✗ wrong" in html
    # Each quote is the start of the response it names: found, green, in the response and in the evidence.
    assert html.count(f"<mark style='background:{FOUND_COLOUR}'>") == 4  # 2 orders × 2 responses
    assert html.count("2 of 2 found in the response they name") == 2 and NOT_FOUND_COLOUR not in html
    assert "Correctness (70%)" in html and "<td>0.7</td>" in html and "Facts first." in html
    explorer.inconsistent_only.value = True
    assert len(explorer.filtered) == 4
    explorer.domain.value = "math"
    assert {group[0]["domain"] for group in explorer.filtered} == {"math"}
    explorer.step(1)
    assert explorer.current is explorer.filtered[min(1, len(explorer.filtered) - 1)]
    explorer.domain.value = ALL
    explorer.wrong_only.value = True
    assert len(explorer.filtered) == 4  # each pair has one wrong order


def test_training_curves_draw_each_logged_metric():
    from rmr1_utils.plots import plot_training_curves

    history = [{"step": 1, "loss": 2.5, "mean_token_accuracy": 0.5}, {"step": 2, "loss": 2.0}, {"train_runtime": 3.0}]
    fig = plot_training_curves(history, keys=("loss", "mean_token_accuracy", "reward"))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "mean_token_accuracy"]  # "reward" was never logged
    assert list(fig.axes[0].lines[0].get_ydata()) == [2.5, 2.0]
    with pytest.raises(ValueError, match="none of"):
        plot_training_curves(history, keys=("kl",))


def _log(verdicts: dict[str, str | None], completion: str) -> list[dict]:
    """Evaluation-log lines for three comparisons; the better response is at A for keys ending in 0."""
    rows = []
    for key, verdict in verdicts.items():
        better = "A" if key.endswith("0") else "B"
        rows.append({
            "key": key, "id": key[:-2], "subset": "curriculum/echo" if key.startswith("e") else "curriculum/capital",
            "order": int(key[-1]), "better_position": better, "verdict": verdict, "correct": verdict == better,
            "format_complete": verdict is not None, "completion": completion.format(verdict=verdict),
        })  # fmt: skip
    return rows


def test_judgement_comparison_pages_and_filters():
    from rmr1_utils.widgets import JudgementComparison, judgement_comparison

    base = _log({"e1-0": None, "e1-1": None, "c1-0": None}, "The <b>answer</b> is Paris.")
    tuned = _log({"e1-0": "A", "e1-1": "A", "c1-0": None}, "<answer>[[{verdict}]]</answer>")
    pairs = [{"id": "e1", "prompt": "Repeat: red fence", "chosen": "red fence", "rejected": "red tent"}]
    view = judgement_comparison({"base": base, "distilled": tuned}, pairs)
    assert isinstance(view, JudgementComparison)
    assert [key for key, _ in view.filtered] == ["e1-0", "e1-1", "c1-0"] and "3 of 3 comparisons" in view.status.value
    html = view.view.value
    # Both models' columns, the question and the responses as shown (better at A in order 0), escaped.
    assert "<b>base</b>" in html and "<b>distilled</b>" in html
    assert "The &lt;b&gt;answer&lt;/b&gt; is Paris." in html and "&lt;answer&gt;[[A]]&lt;/answer&gt;" in html
    assert "Repeat: red fence" in html and "Chatbot A&nbsp;</span> red fence" in html
    assert html.count("✗ wrong") == 1 and html.count("✓ right") == 1 and "verdict <b>none</b>" in html
    view.step(1)
    assert view.current[0] == "e1-1" and "Chatbot A&nbsp;</span> red tent" in view.view.value
    view.step(5)  # clamped
    assert view.current[0] == "c1-0"
    view.disagree_only.value = True  # c1-0: neither writes a verdict
    assert [key for key, _ in view.filtered] == ["e1-0", "e1-1"] and view.index.value == 0
    view.wrong_for.value = "distilled"  # always-A: wrong where the better response is at B
    assert [key for key, _ in view.filtered] == ["e1-1"]
    view.subset.value = "curriculum/capital"
    assert view.current is None and "no comparison matches" in view.view.value
    view.subset.value = ALL
    view.disagree_only.value = False
    view.wrong_for.value = "base"
    assert len(view.filtered) == 3


def test_judgement_comparison_on_judge_records_without_keys():
    from rmr1_utils.widgets import JudgementComparison

    record = {"id": "p", "order": 0, "better_position": "B", "verdict": "B", "correct": True, "completion": "x",
              "judgement": {"format_complete": True}}  # fmt: skip
    view = JudgementComparison({"one": [record], "two": []})
    assert [key for key, _ in view.filtered] == ["p-0"] and view.disagree(view.filtered[0][1])
    assert "format complete" in view.view.value and "not judged" in view.view.value
    with pytest.raises(ValueError):
        JudgementComparison({})


# --- widgets where they cannot render: Colab's ipywidgets 7, a static fallback -------------------


def _displayed(monkeypatch, obj):
    """What ``obj``'s IPython display hands to ``display``."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda x: shown.append(x))
    obj._ipython_display_()
    return shown


def test_static_fallback_when_asked(monkeypatch):
    from IPython.display import HTML

    browser = TaskBrowser(_tasks())
    monkeypatch.setenv("RMR1_WIDGETS", "static")
    (shown,) = _displayed(monkeypatch, browser)
    assert isinstance(shown, HTML) and "static view" in shown.data and _tasks()[0]["id"] in shown.data
    monkeypatch.setenv("RMR1_WIDGETS", "interactive")
    assert _displayed(monkeypatch, browser) == [browser.widget]


def test_colab_with_ipywidgets_8_falls_back_to_static_html(monkeypatch):
    import sys
    import types

    import ipywidgets

    from rmr1_utils.widgets import static_widgets

    monkeypatch.delenv("RMR1_WIDGETS", raising=False)
    assert not static_widgets()  # here: Jupyter renders ipywidgets 8
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert static_widgets() is (int(ipywidgets.__version__.split(".")[0]) >= 8)


def test_widgets_work_with_colabs_ipywidgets_7(tmp_path_factory):
    """Colab's frontend renders ipywidgets 7.7 (what it ships; the requirement keeps it). The widgets
    are built and displayed with that exact release, installed on the side (--no-deps)."""
    import os
    import subprocess
    import sys

    target = tmp_path_factory.mktemp("ipywidgets7")
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), "ipywidgets==7.7.1",
         "ipython_genutils==0.2.0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if pip.returncode != 0:
        pytest.skip(f"the package registry is unreachable: {pip.stderr.strip().splitlines()[-1:]}")
    script = """
import IPython.display, ipywidgets
from rmr1_utils.data import load_pairs, pair_to_judge_task
from rmr1_utils.widgets import task_browser
shown = []
IPython.display.display = shown.append
pairs = load_pairs('data/quickstart_pairs.jsonl')
browser = task_browser([pair_to_judge_task(p, 'A') for p in pairs])
browser.step(1)
browser._ipython_display_()
browser.domain.value = 'math'  # every pager shares these controls (sliders, dropdowns, buttons) and this display
browser._ipython_display_()
print(ipywidgets.__version__, [type(x).__name__ for x in shown], browser.index.value)
"""
    env = {**os.environ, "PYTHONPATH": str(target), "RMR1_WIDGETS": "interactive"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=DATA_DIR.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["7.7.1", "['VBox',", "'VBox']", "0"], proc.stdout


def test_judgement_explorer_colours_a_fabricated_quote_red():
    """The issue's example: a quote_A that is Chatbot B's text is red (found in the other response), the
    faithful quote_B green, in the widget and in its static HTML fallback alike."""
    from rmr1_utils.widgets import FOUND_COLOUR, NOT_FOUND_COLOUR, JudgementExplorer

    completion = (
        "<type>Reasoning</type>\n<solution>12 + 13 = 25.</solution>\n<eval>Chatbot A gives my solution: "
        "<quote_A>12 + 13 = 25.</quote_A> Chatbot B does not: <quote_B>12 + 13 = 25.</quote_B></eval>\n<answer>[[A]]</answer>"
    )
    record = {"key": "add", "id": "add", "benchmark": "pairs", "subset": "s", "domain": "math", "order": 0,
              "better_position": "B", "completion": completion, "verdict": "A", "correct": False,
              "response_a": "12 + 13 = 35.", "response_b": "12 + 13 = 25.", "verifiable": True}  # fmt: skip
    explorer = JudgementExplorer([record])
    for shown in (explorer.view.value, explorer.static_html()):
        assert (
            f"<mark style='background:{NOT_FOUND_COLOUR}' title='not found in response A (found in the other response)'>" in shown
        )
        assert f"<mark style='background:{FOUND_COLOUR}' title='found in response B'>" in shown
        assert "1 of 2 found in the response they name" in shown and "fabricated quote" in shown
        assert "solution's answer 25 <b>not</b> in the named response" in shown
        # Only response B's text is marked (green): nothing of A's "12 + 13 = 35." is.
        assert (
            f"<mark style='background:{FOUND_COLOUR}'>12 + 13 = 25</mark>." in shown
        )  # edge punctuation is not part of the match
        assert "12 + 13 = 35." in shown and f"<mark style='background:{FOUND_COLOUR}'>12 + 13 = 35." not in shown


def test_highlight_marks_quotes_across_whitespace_and_escapes():
    from rmr1_utils.widgets import highlight

    marked = highlight("a <b>  x\n y</b> z", ["<b> x y"], "#fff")
    assert marked == "a <mark style='background:#fff'>&lt;b&gt;  x\n y</mark>&lt;/b&gt; z"
    assert highlight("abc", ["", "  "], "#fff") == "abc"
