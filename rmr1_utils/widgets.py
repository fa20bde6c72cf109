"""ipywidgets for the lessons: browse judge tasks, explore judgements, compare judges side by side.

Widgets are built from plain records so they work on anything a stage writes (``train.jsonl``, a
``datasets.Dataset``, a list of dicts). They render HTML only (no JavaScript of ours), so they
also work in Colab and VS Code; the state is in Python, which is what the tests drive. They run on
ipywidgets 7 (what Colab's frontend renders) and 8, and fall back to static HTML where widgets
cannot render (:func:`static_widgets`).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from rmr1_utils.faithfulness import QuoteCheck, check_judgement, quote_pattern, shown_responses
from rmr1_utils.judge import mark_position_consistency
from rmr1_utils.judgement import Judgement, parse_judgement

ALL = "(all)"


def static_widgets() -> bool:
    """Whether to show widgets as static HTML instead of interactive controls.

    ``RMR1_WIDGETS=static`` asks for it (a rendered course page, a frontend without widget support);
    on Colab it is automatic when ipywidgets 8 was installed there: Colab's frontend renders the
    ipywidgets 7 it ships (colabtools #3020, #4525), which the course keeps (``ipywidgets>=7.7,<9``).
    """
    import os

    if os.environ.get("RMR1_WIDGETS") == "static":
        return True
    if os.environ.get("RMR1_WIDGETS") == "interactive":
        return False
    import importlib.metadata
    import sys

    try:
        major = int(importlib.metadata.version("ipywidgets").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return True
    return "google.colab" in sys.modules and major >= 8


_CSS = (
    "<style>.rmr1-pre{white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px;"
    "background:#f7f7f9;border:1px solid #ddd;border-radius:4px;padding:8px;max-height:420px;overflow:auto}"
    ".rmr1-role{font-weight:bold;color:#555;margin-top:6px}.rmr1-meta td{padding:0 12px 0 0}</style>"
)


def render_task_html(task: dict) -> str:
    """HTML of one judge task: its metadata and every message, verbatim (escaped).

    Args:
        task: a judge task (``id``, ``source``, ``domain``, ``messages``, ``winner``).

    Returns:
        An HTML string.
    """
    meta = "".join(
        f"<tr><td><b>{k}</b></td><td>{html.escape(str(task.get(k, '')))}</td></tr>" for k in ("id", "source", "domain", "winner")
    )
    parts = [_CSS, f"<table class='rmr1-meta'>{meta}</table>"]
    for message in task.get("messages", []):
        parts.append(f"<div class='rmr1-role'>{html.escape(message['role'])}</div>")
        parts.append(f"<div class='rmr1-pre'>{html.escape(message['content'])}</div>")
    return "".join(parts)


class _Pager:
    """Paging over a filtered list: filter controls, a position slider, prev/next, an HTML view.

    Subclasses build their filter controls, then call :meth:`_build`, and define ``filtered`` (the
    items passing the filters), ``_total`` (the unfiltered count), ``_noun`` and ``_render(item)``.
    """

    _noun = "items"

    def _build(self, controls: list) -> None:
        import ipywidgets as w

        self.index = w.IntSlider(min=0, max=0, value=0, description="item", continuous_update=False)
        self.prev = w.Button(description="◀ prev", layout=w.Layout(width="80px"))
        self.next = w.Button(description="next ▶", layout=w.Layout(width="80px"))
        self.status = w.HTML()
        self.view = w.HTML()
        for control in controls:
            control.observe(lambda _: self._refilter(), names="value")
        self.index.observe(lambda _: self._show(), names="value")
        self.prev.on_click(lambda _: self.step(-1))
        self.next.on_click(lambda _: self.step(1))
        self.widget = w.VBox([w.HBox(controls), w.HBox([self.prev, self.index, self.next, self.status]), self.view])
        self._refilter()

    @property
    def filtered(self) -> list:
        raise NotImplementedError

    @property
    def _total(self) -> int:
        raise NotImplementedError

    def _render(self, item) -> str:
        raise NotImplementedError

    @property
    def current(self):
        """The item shown now (``None`` when nothing passes the filters)."""
        items = self.filtered
        return items[self.index.value] if items else None

    def step(self, delta: int) -> None:
        """Move ``delta`` items within the filtered ones (clamped)."""
        self.index.value = max(self.index.min, min(self.index.max, self.index.value + delta))

    def _refilter(self) -> None:
        self.index.max = max(0, len(self.filtered) - 1)
        self.index.value = 0
        self._show()

    def _show(self) -> None:
        self.status.value = f"&nbsp;{len(self.filtered)} of {self._total} {self._noun}"
        item = self.current
        self.view.value = self._render(item) if item is not None else f"<i>no {self._noun[:-1]} matches these filters</i>"

    def _ipython_display_(self) -> None:
        # display(widget) works with ipywidgets 7 (Colab's; no _repr_mimebundle_) and 8 alike.
        from IPython.display import HTML, display

        display(HTML(self.static_html()) if static_widgets() else self.widget)

    def static_html(self) -> str:
        """The current view as plain HTML, without controls: what a frontend that cannot render
        the widgets shows (:func:`static_widgets`), and what a rendered page of the lesson keeps."""
        note = "<p><i>static view (interactive widgets are off here): the first item shown</i></p>"
        return note + f"<div>{self.status.value}</div>" + self.view.value


class TaskBrowser(_Pager):
    """Browse judge tasks with filters on domain, source and winner.

    Args:
        tasks: judge tasks (any iterable of dicts, e.g. a ``datasets.Dataset``).

    Attributes:
        widget: the ``ipywidgets.VBox`` to display.
        domain, source, winner: the filter dropdowns.
        index: the position slider within the filtered tasks.
        view: the HTML widget showing the current task.
    """

    def __init__(self, tasks: Iterable[dict]):
        import ipywidgets as w

        self.tasks: list[dict] = [dict(t) for t in tasks]

        def options(key):
            return [ALL, *sorted({str(t.get(key)) for t in self.tasks})]

        self.domain = w.Dropdown(options=options("domain"), value=ALL, description="domain")
        self.source = w.Dropdown(options=options("source"), value=ALL, description="source")
        self.winner = w.Dropdown(options=options("winner"), value=ALL, description="winner")
        self._build([self.domain, self.source, self.winner])

    _noun = "tasks"

    @property
    def _total(self) -> int:
        return len(self.tasks)

    @property
    def filtered(self) -> list[dict]:
        """The tasks that pass the current filters."""
        controls = (("domain", self.domain), ("source", self.source), ("winner", self.winner))
        return [t for t in self.tasks if all(d.value in (ALL, str(t.get(k))) for k, d in controls)]

    def _render(self, task: dict) -> str:
        return render_task_html(task)


def task_browser(tasks: Sequence[dict]) -> TaskBrowser:
    """A :class:`TaskBrowser` over ``tasks`` (display it as the last expression of a cell)."""
    return TaskBrowser(tasks)


# ---------------------------------------------------------------------------------------------
# Judgement explorer
# ---------------------------------------------------------------------------------------------

_SIDE_COLOURS = {"A": "#cfe8ff", "B": "#ffe2c6"}
#: Quote marks: found in the response it names (green), not found there (red).
FOUND_COLOUR, NOT_FOUND_COLOUR = "#c6f6c6", "#ffc9c9"


def highlight(text: str, quotes: Sequence[str], colour: str) -> str:
    """Escape ``text`` for HTML and mark every place a quote is found in it (the faithfulness matching rule).

    Args:
        text: the response text.
        quotes: quoted spans to mark (those not found are simply not marked).
        colour: the mark's background colour.

    Returns:
        HTML.
    """
    spans: list[tuple[int, int]] = []
    for quote in sorted({q for q in quotes if q.strip()}, key=len, reverse=True):
        pattern = quote_pattern(quote)
        for m in pattern.finditer(text) if pattern else ():
            if m.end() > m.start() and not any(m.start() < end and start < m.end() for start, end in spans):
                spans.append((m.start(), m.end()))
    out, at = [], 0
    for start, end in sorted(spans):
        out += [html.escape(text[at:start]), f"<mark style='background:{colour}'>{html.escape(text[start:end])}</mark>"]
        at = end
    return "".join([*out, html.escape(text[at:])])


def _shown_responses(record: dict, pair: dict | None) -> dict | None:
    """What the judge saw as A and B: the log's ``response_a``/``response_b``, else rebuilt from the pair."""
    if isinstance(record.get("response_a"), str) and isinstance(record.get("response_b"), str):
        return {"A": record["response_a"], "B": record["response_b"]}
    if pair is None:
        return None
    shown = shown_responses(pair, record["better_position"])
    return {"A": shown["response_a"], "B": shown["response_b"]}


def _quote_html(check: QuoteCheck) -> str:
    if check.found:
        return (
            f"<mark style='background:{FOUND_COLOUR}' title='found in response {check.side}'>“{html.escape(check.text)}”</mark>"
        )
    where = "found in the other response" if check.in_other else "in neither response"
    return (
        f"<mark style='background:{NOT_FOUND_COLOUR}' title='not found in response {check.side} ({where})'>"
        f"“{html.escape(check.text)}”</mark> <small style='color:#b00'>✗ not in {check.side}: {where}</small>"
    )


def _faithfulness_html(check) -> str:
    if check.quotes:
        state = (
            "<span style='color:#b00'>fabricated quote</span>"
            if check.fabricated
            else "<span style='color:green'>all found</span>"
        )
        parts = [f"quotes: {check.n_faithful} of {check.n_quotes} found in the response they name ({state})"]
    else:
        parts = ["no quotes"]
    if check.solution_agrees is not None:
        parts.append(
            f"solution's answer {html.escape(check.solution_answer)} "
            + ("in" if check.solution_agrees else "<b>not</b> in")
            + " the named response"
        )
    if check.rubric_present is not None:
        parts.append("rubric present" if check.rubric_present else "<span style='color:#b00'>no rubric</span>")
    return "<div>" + "; ".join(parts) + "</div>"


def _judgement_html(record: dict, pair: dict | None) -> str:
    j = record["judgement"]
    ok = record["verdict"] is not None and record["correct"]
    verdict = f"verdict <b>{record['verdict'] or 'none'}</b>, better is <b>{record['better_position']}</b> " + (
        "<span style='color:green'>✓ right</span>" if ok else "<span style='color:#b00'>✗ wrong</span>"
    )
    parts = [
        f"<div><b>order {record.get('order', 0)}</b>: {verdict}; type {html.escape(str(j['task_type']))}; "
        f"format {'complete' if j['format_complete'] else 'incomplete'}</div>"
    ]
    shown = _shown_responses(record, pair)
    checks: list[QuoteCheck] | None = None
    if shown is not None:
        check = check_judgement(Judgement.from_dict(j), shown["A"], shown["B"], bool(record.get("verifiable")))
        checks = check.quotes
        parts.append(_faithfulness_html(check))
        for side in ("A", "B"):
            found = [q.text for q in check.quotes if q.side == side and q.found]
            parts.append(
                f"<div class='rmr1-role'>Chatbot {side}</div>"
                f"<div class='rmr1-pre'>{highlight(shown[side], found, FOUND_COLOUR)}</div>"
            )
    if j["rubric_items"]:
        rows = "".join(
            f"<tr><td>{html.escape(i['text'])}</td><td>{'' if i['weight'] is None else format(i['weight'], 'g')}</td></tr>"
            for i in j["rubric_items"]
        )
        parts.append(
            f"<div class='rmr1-role'>rubric</div><table class='rmr1-meta'><tr><th>item</th><th>weight</th></tr>{rows}</table>"
        )
    for key in ("justification", "solution"):
        if j.get(key):
            parts.append(f"<div class='rmr1-role'>{key}</div><div class='rmr1-pre'>{html.escape(j[key])}</div>")
    for side in ("A", "B"):
        if checks is not None:
            quotes = [_quote_html(q) for q in checks if q.side == side]
        else:
            quotes = [f"“{html.escape(q)}”" for q in j[f"quotes_{side.lower()}"]]
        evidence = quotes + [f"({html.escape(s)})" for s in j[f"summaries_{side.lower()}"]]
        if evidence:
            parts.append(
                f"<div><span style='background:{_SIDE_COLOURS[side]}'>&nbsp;{side}&nbsp;</span> "
                + " · ".join(evidence)
                + "</div>"
            )
    parts.append(
        f"<details><summary>raw completion</summary><div class='rmr1-pre'>{html.escape(record['completion'])}</div></details>"
    )
    return "".join(parts)


class JudgementExplorer(_Pager):
    """Explore judge records (from :func:`rmr1_utils.judge.judge`) pair by pair.

    Each pair shows its question, the two responses as shown to the judge, every quote green when it is
    found in the response it names and red when it is not (:mod:`rmr1_utils.faithfulness`; quotes found
    are also marked in the response), the rubric (items, weights, justification) or the judge's own solution, and the
    verdict against the label — with the other-order judgement beside it when both orders were judged.

    Args:
        records: judge records (one per judged comparison).
        pairs: the preference pairs (by ``id``) to show the question and responses; optional.

    Attributes:
        widget: the ``ipywidgets.VBox`` to display.
        domain: domain filter; ``wrong_only`` / ``inconsistent_only``: checkbox filters.
        index: position among the filtered pairs.
    """

    def __init__(self, records: Iterable[dict], pairs: Iterable[dict] | None = None):
        import ipywidgets as w

        self.groups: dict[str, list[dict]] = {}
        for r in records:
            r = dict(r)
            # Evaluation logs carry the completion but not the parsed judgement or a domain.
            r.setdefault("judgement", parse_judgement(r.get("completion", "")).to_dict())
            r["domain"] = r.get("domain") or r.get("subset") or "-"
            # Both orders of one pair side by side (judge records, JudgeBench logs); other
            # benchmark logs have one judged comparison per key.
            both_orders = r.get("benchmark") in (None, "judgebench")
            self.groups.setdefault(str(r["id"] if both_orders else r.get("key", r["id"])), []).append(r)
        for group in self.groups.values():
            group.sort(key=lambda r: r.get("order", 0))
            if len(group) > 1 and "consistent" not in group[0]:  # evaluation logs don't store it
                mark_position_consistency(group)
        self.pairs = {str(p["id"]): p for p in pairs or []}
        domains = sorted({g[0]["domain"] for g in self.groups.values()})
        self.domain = w.Dropdown(options=[ALL, *domains], value=ALL, description="domain")
        self.wrong_only = w.Checkbox(value=False, description="wrong only")
        self.inconsistent_only = w.Checkbox(value=False, description="inconsistent only")
        self._build([self.domain, self.wrong_only, self.inconsistent_only])

    _noun = "pairs"

    @property
    def _total(self) -> int:
        return len(self.groups)

    @property
    def filtered(self) -> list[list[dict]]:
        """The pairs (each the list of its records, one per order) passing the filters, in input order."""
        keep = []
        for group in self.groups.values():
            if self.domain.value not in (ALL, group[0]["domain"]):
                continue
            if self.wrong_only.value and all(r["correct"] for r in group):
                continue
            if self.inconsistent_only.value and group[0].get("consistent", True):
                continue
            keep.append(group)
        return keep

    def _render(self, group: list[dict]) -> str:
        pid = str(group[0]["id"])
        pair = self.pairs.get(pid)
        head = f"<div><b>{html.escape(pid)}</b> · {html.escape(group[0]['domain'])}"
        if "consistent" in group[0]:
            head += " · " + (
                "consistent across orders"
                if group[0]["consistent"]
                else "<span style='color:#b00'>inconsistent across orders</span>"
            )
        head += "</div>"
        if pair is not None:
            question = pair.get("prompt") or "\n".join(f"{m['role']}: {m['content']}" for m in pair.get("context", []))
            head += f"<div class='rmr1-role'>question</div><div class='rmr1-pre'>{html.escape(question)}</div>"
        columns = "".join(f"<div style='flex:1;min-width:0;padding:4px'>{_judgement_html(r, pair)}</div>" for r in group)
        return _CSS + head + f"<div style='display:flex;gap:12px'>{columns}</div>"


def judgement_explorer(records: Sequence[dict], pairs: Sequence[dict] | None = None) -> JudgementExplorer:
    """A :class:`JudgementExplorer` over judge records (display it as the last expression of a cell)."""
    return JudgementExplorer(records, pairs)


class RolloutViewer(_Pager):
    """GRPO groups one at a time: the samples of a group side by side with reward and advantage.

    Args:
        groups: records from :func:`rmr1_utils.rollouts.sample_group_records`.

    Attributes:
        widget: the ``ipywidgets.VBox`` to display.
        domain: domain filter; ``mixed_only``: only groups whose rewards differ (the ones that teach).
        index: position among the filtered groups.
    """

    _noun = "groups"

    def __init__(self, groups: Iterable[dict]):
        import ipywidgets as w

        self.groups = list(groups)
        domains = sorted({str(g.get("domain") or "-") for g in self.groups})
        self.domain = w.Dropdown(options=[ALL, *domains], value=ALL, description="domain")
        self.mixed_only = w.Checkbox(value=False, description="mixed rewards only")
        self._build([self.domain, self.mixed_only])

    @property
    def _total(self) -> int:
        return len(self.groups)

    @property
    def filtered(self) -> list[dict]:
        """The groups passing the filters, in input order."""
        keep = []
        for g in self.groups:
            if self.domain.value not in (ALL, str(g.get("domain") or "-")):
                continue
            if self.mixed_only.value and len({s["reward"] for s in g["samples"]}) < 2:
                continue
            keep.append(g)
        return keep

    def _render(self, group: dict) -> str:
        rewards = [s["reward"] for s in group["samples"]]
        head = (
            f"<div><b>{html.escape(str(group.get('id')))}</b> · {html.escape(str(group.get('domain') or '-'))} · label "
            f"<b>{html.escape(str(group['winner']))}</b> · mean reward {sum(rewards) / len(rewards):+.2f}</div>"
        )
        user = next((m["content"] for m in reversed(group.get("prompt", [])) if m["role"] == "user"), "")
        head += f"<details><summary>prompt</summary><div class='rmr1-pre'>{html.escape(user)}</div></details>"
        columns = []
        for k, sample in enumerate(group["samples"]):
            colour = "#1a7f37" if sample["reward"] > 0 else "#b00"
            state = "finished" if sample["finished"] else "truncated"
            columns.append(
                f"<div style='flex:1;min-width:180px'><div><b>sample {k + 1}</b> · <span style='color:{colour}'>reward "
                f"{sample['reward']:+.2f}</span> · advantage {sample['advantage']:+.2f}</div>"
                f"<div>verdict {sample['verdict'] or '–'} · {sample['tokens']} tokens, {state}</div>"
                f"<div class='rmr1-pre'>{html.escape(sample['text'])}</div></div>"
            )
        return _CSS + head + f"<div style='display:flex;gap:8px;overflow-x:auto'>{''.join(columns)}</div>"


def rollout_viewer(groups: Sequence[dict]) -> RolloutViewer:
    """A :class:`RolloutViewer` over GRPO groups (display it as the last expression of a cell)."""
    return RolloutViewer(groups)


# ---------------------------------------------------------------------------------------------
# Side-by-side comparison of several judges
# ---------------------------------------------------------------------------------------------


def _comparison_key(record: dict) -> str:
    """What identifies one judged comparison across logs: the evaluation ``key``, else id and order."""
    if record.get("key") is not None:
        return str(record["key"])
    return f"{record['id']}-{record.get('order', 0)}"


class JudgementComparison(_Pager):
    """Several judges on the same comparisons, side by side (e.g. the base and the distilled model).

    Each page is one judged comparison (one pair in one A/B order): the question and both responses
    as shown, then one column per model with its verdict, whether it is right, whether the chain of
    rubrics is complete, and its completion.

    Args:
        logs_by_model: model name → its records (``rmr1 evaluate`` log lines or ``judge`` records),
            keyed by ``key`` (or ``id`` and ``order``). Comparisons follow the first model's order.
        pairs: the preference pairs (by ``id``) to show the question and responses; optional.

    Attributes:
        widget: the ``ipywidgets.VBox`` to display.
        subset: filter on the comparison's subset (e.g. the curriculum family ``curriculum/echo``).
        disagree_only: only comparisons where the models' verdicts differ (no verdict counts as one).
        wrong_for: only comparisons the named model gets wrong (``(all)``: no filter).
        index: position among the filtered comparisons.
    """

    _noun = "comparisons"

    def __init__(self, logs_by_model: dict[str, Sequence[dict]], pairs: Iterable[dict] | None = None):
        import ipywidgets as w

        if not logs_by_model:
            raise ValueError("judgement_comparison needs at least one model's log")
        self.models = list(logs_by_model)
        self.rows: dict[str, dict[str, dict]] = {}
        for name, log in logs_by_model.items():
            for record in log:
                self.rows.setdefault(_comparison_key(record), {})[name] = dict(record)
        self.pairs = {str(p["id"]): p for p in pairs or []}
        subsets = sorted({str(self._first(row).get("subset") or "-") for row in self.rows.values()})
        self.subset = w.Dropdown(options=[ALL, *subsets], value=ALL, description="subset")
        self.disagree_only = w.Checkbox(value=False, description="only where they disagree")
        self.wrong_for = w.Dropdown(options=[ALL, *self.models], value=ALL, description="wrong for")
        self._build([self.subset, self.disagree_only, self.wrong_for])

    @staticmethod
    def _first(row: dict[str, dict]) -> dict:
        return next(iter(row.values()))

    @property
    def _total(self) -> int:
        return len(self.rows)

    def disagree(self, row: dict[str, dict]) -> bool:
        """Whether the models' verdicts on this comparison differ (a model missing from it counts as differing)."""
        return len(row) < len(self.models) or len({r.get("verdict") for r in row.values()}) > 1

    @property
    def filtered(self) -> list[tuple[str, dict[str, dict]]]:
        """``(key, {model: record})`` of the comparisons passing the filters, in input order."""
        keep = []
        for key, row in self.rows.items():
            if self.subset.value not in (ALL, str(self._first(row).get("subset") or "-")):
                continue
            if self.disagree_only.value and not self.disagree(row):
                continue
            if self.wrong_for.value != ALL:
                record = row.get(self.wrong_for.value)
                if record is None or record.get("correct"):
                    continue
            keep.append((key, row))
        return keep

    def _render(self, item: tuple[str, dict[str, dict]]) -> str:
        key, row = item
        first = self._first(row)
        better = first.get("better_position")
        head = (
            f"<div><b>{html.escape(key)}</b> · {html.escape(str(first.get('subset') or '-'))} · better response shown as "
            f"<b>{html.escape(str(better))}</b></div>"
        )
        pair = self.pairs.get(str(first.get("id")))
        if pair is not None:
            question = pair.get("prompt") or "\n".join(f"{m['role']}: {m['content']}" for m in pair.get("context", []))
            shown = (
                {"A": pair["chosen"], "B": pair["rejected"]} if better == "A" else {"A": pair["rejected"], "B": pair["chosen"]}
            )
            head += f"<div class='rmr1-role'>question</div><div class='rmr1-pre'>{html.escape(question)}</div>"
            head += "".join(
                f"<div><span style='background:{_SIDE_COLOURS[side]}'>&nbsp;Chatbot {side}&nbsp;</span> "
                f"{html.escape(shown[side])}</div>"
                for side in ("A", "B")
            )
        columns = []
        for name in self.models:
            record = row.get(name)
            if record is None:
                columns.append(f"<div style='flex:1;min-width:0'><b>{html.escape(name)}</b><div><i>not judged</i></div></div>")
                continue
            verdict = record.get("verdict")
            ok = verdict is not None and record.get("correct")
            mark = "<span style='color:green'>✓ right</span>" if ok else "<span style='color:#b00'>✗ wrong</span>"
            complete = record.get("format_complete")
            if complete is None and "judgement" in record:
                complete = record["judgement"].get("format_complete")
            columns.append(
                f"<div style='flex:1;min-width:0'><div><b>{html.escape(name)}</b></div>"
                f"<div>verdict <b>{verdict or 'none'}</b> {mark}; format {'complete' if complete else 'incomplete'}</div>"
                f"<div class='rmr1-pre'>{html.escape(record.get('completion', ''))}</div></div>"
            )
        return _CSS + head + f"<div style='display:flex;gap:12px;margin-top:6px'>{''.join(columns)}</div>"


def judgement_comparison(logs_by_model: dict[str, Sequence[dict]], pairs: Sequence[dict] | None = None) -> JudgementComparison:
    """A :class:`JudgementComparison` of several judges' logs (display it as the last expression of a cell).

    Args:
        logs_by_model: model name → its records on the same comparisons.
        pairs: the preference pairs, to show each question and its responses; optional.

    Returns:
        The widget.
    """
    return JudgementComparison(logs_by_model, pairs)
