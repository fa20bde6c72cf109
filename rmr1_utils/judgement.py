"""The RM-R1 judge *output* format: completion text → :class:`Judgement`, and the verdict rules.

A ReasRM completion follows the chain of rubrics::

    <type>Chat</type>                         <type>Reasoning</type>
    <rubric> items (weights) <justify>…</justify> </rubric>    <solution> own solution </solution>
    <eval> … <quote_A>…</quote_A> <summary_B>…</summary_B> … </eval>
    <answer>[[A]]</answer>

:func:`parse_judgement` never raises on model output: empty text, truncation, tags mentioned
inside the rubric, repeated or nested tags and ``<think>`` blocks of reasoning models all give a
``Judgement`` whose fields are ``None``/empty where a piece is missing and whose
``format_complete`` says whether the whole chain is there.

Three verdict rules, deliberately kept apart because they disagree on real outputs:

* :func:`rmr1_eval_verdict` — RM-R1's evaluation harness: search the *whole* text for ``[[A]]``
  and ``[[B]]``; exactly one present gives the verdict, both or neither give none.
* :func:`tail_verdict` — the rule behind RM-R1's *training* reward: look only at the last 80
  characters for the full tags ``<answer>[[A]]</answer>`` / ``<answer>[[B]]</answer>``.
  :func:`rmr1_utils.rewards.rmr1_reward` is +1 when it names the labelled winner, else −1.
* :func:`strict_answer_verdict` — ours: the content of the *last* ``<answer>…</answer>`` tag
  must be exactly ``[[A]]`` or ``[[B]]`` (whitespace aside).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from rmr1_utils.formats import VERDICT_TAGS, WINNER_LABELS

#: How many trailing characters the RM-R1 training reward inspects.
REWARD_TAIL_CHARS = 80

_LABEL_TO_LETTER = {"model_a": "A", "model_b": "B"}


# ---------------------------------------------------------------------------------------------
# Verdict rules
# ---------------------------------------------------------------------------------------------


def rmr1_eval_verdict(text: str) -> str | None:
    """RM-R1 evaluation rule: exactly one of ``[[A]]`` / ``[[B]]`` anywhere in the text.

    Args:
        text: the whole completion.

    Returns:
        ``"A"``, ``"B"``, or ``None`` when both or neither marker appear.
    """
    has_a, has_b = "[[A]]" in text, "[[B]]" in text
    if has_a != has_b:
        return "A" if has_a else "B"
    return None


def tail_verdict(text: str, tail_chars: int = REWARD_TAIL_CHARS) -> str | None:
    """RM-R1 training-reward rule: the full answer tag of exactly one side in the last characters.

    Args:
        text: the whole completion.
        tail_chars: how many trailing characters to inspect (80 in RM-R1).

    Returns:
        ``"A"``, ``"B"``, or ``None`` when both or neither tag are in the tail.
    """
    tail = text[-tail_chars:] if tail_chars > 0 else ""
    has_a, has_b = VERDICT_TAGS["model_a"] in tail, VERDICT_TAGS["model_b"] in tail
    if has_a != has_b:
        return "A" if has_a else "B"
    return None


_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def strict_answer_verdict(text: str) -> str | None:
    """Strict rule: the last ``<answer>…</answer>`` must contain exactly ``[[A]]`` or ``[[B]]``.

    Args:
        text: the whole completion.

    Returns:
        ``"A"``, ``"B"``, or ``None`` when there is no answer tag or its content is anything else.
    """
    answers = _ANSWER_RE.findall(text)
    if not answers:
        return None
    content = answers[-1].strip()
    return {"[[A]]": "A", "[[B]]": "B"}.get(content)


def first_mark_verdict(text: str | None, letters: str = "AB") -> str | None:
    """The benchmarks' own generative rule: the first of ``[[A]]``, ``[[B]]``… (in letter order) found anywhere.

    RewardBench's ``process_judgement`` (``rewardbench/generative.py``: ``[[A]]`` if present, else
    ``[[B]]``) and RewardBench 2's (``rewardbench/generative_v2.py``: A, B, C, D in that order). A
    text naming A and B counts as A — unlike :func:`rmr1_eval_verdict`, which gives no verdict.
    Used by ``--scoring official`` (:mod:`rmr1_utils.scoring`), never to train.

    Args:
        text: the whole completion (None: no verdict).
        letters: the letters to look for, in the order they are checked.

    Returns:
        The first letter whose mark is in the text, or ``None`` (the official "error").
    """
    return next((x for x in letters if f"[[{x}]]" in (text or "")), None)


def reread_verdicts(lines, letters: str = "AB", kind: str | None = None) -> list[dict]:
    """Log lines with ``verdict`` and ``correct`` read again from their ``completion`` by :func:`first_mark_verdict`.

    A line without a ``completion`` field (a null baseline's decision, :mod:`rmr1_utils.baselines`)
    keeps its verdict; with ``kind``, only lines of that ``kind`` are read again.
    """
    out = []
    for line in lines:
        if "completion" in line and (kind is None or line.get("kind") == kind):
            verdict = first_mark_verdict(line["completion"], letters)
            line = {**line, "verdict": verdict, "correct": verdict == line["better_position"]}
        out.append(line)
    return out


#: Named verdict rules, selectable by name from configs and the CLI.
VERDICT_RULES: dict[str, Callable[[str], str | None]] = {
    "rmr1-eval": rmr1_eval_verdict,
    "rmr1-train-tail": tail_verdict,
    "strict": strict_answer_verdict,
}


def get_verdict_rule(rule: str | Callable[[str], str | None]) -> Callable[[str], str | None]:
    """Resolve a verdict rule given by name (see :data:`VERDICT_RULES`) or as a callable."""
    if callable(rule):
        return rule
    try:
        return VERDICT_RULES[rule]
    except KeyError:
        raise ValueError(f"unknown verdict rule {rule!r}: expected one of {', '.join(VERDICT_RULES)}") from None


def winner_to_letter(winner: str) -> str:
    """Map a winner label (``model_a``/``model_b``) to the side letter (``A``/``B``).

    Raises:
        ValueError: on any other label.
    """
    try:
        return _LABEL_TO_LETTER[winner]
    except (KeyError, TypeError):
        raise ValueError(f"unknown winner label {winner!r}: expected one of {', '.join(WINNER_LABELS)}") from None


# ---------------------------------------------------------------------------------------------
# Parser
# ---------------------------------------------------------------------------------------------


@dataclass
class RubricItem:
    """One rubric criterion.

    Attributes:
        text: the item as written (list marker removed).
        weight: its weight when the line gives one: percentages become fractions (``40%`` → 0.4),
            other numbers are kept as written (``weight: 0.3`` → 0.3, ``Weight: 3`` → 3.0).
    """

    text: str
    weight: float | None = None


@dataclass
class Judgement:
    """A parsed ReasRM completion. Fields are ``None``/empty where the piece is missing.

    Attributes:
        raw: the completion text, unchanged.
        task_type: ``"Chat"`` or ``"Reasoning"`` (case-normalised), else ``None``.
        rubric: the rubric text without its ``<justify>`` block.
        rubric_items: the rubric's items with weights when given.
        justification: the ``<justify>`` text.
        solution: the ``<solution>`` text (reasoning tasks).
        eval: the ``<eval>`` text.
        quotes_a, quotes_b, summaries_a, summaries_b: evidence per side, in order.
        verdict: ``"A"``/``"B"``/``None`` by the chosen verdict rule.
        think: the ``<think>`` block of a reasoning model, if any.
        format_complete: the whole chain is there and closed, with one final answer tag.
        truncated: the text ends inside an open tag (the generation was cut off).
    """

    raw: str
    task_type: str | None = None
    rubric: str | None = None
    rubric_items: list[RubricItem] = field(default_factory=list)
    justification: str | None = None
    solution: str | None = None
    eval: str | None = None
    quotes_a: list[str] = field(default_factory=list)
    quotes_b: list[str] = field(default_factory=list)
    summaries_a: list[str] = field(default_factory=list)
    summaries_b: list[str] = field(default_factory=list)
    verdict: str | None = None
    think: str | None = None
    format_complete: bool = False
    truncated: bool = False

    def to_dict(self) -> dict:
        """Plain-dict form (JSON-serialisable)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Judgement:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["rubric_items"] = [RubricItem(**item) for item in data.get("rubric_items", [])]
        return cls(**data)


def _tag_spans(text: str, tag: str, start: int = 0) -> list[tuple[str, bool, int]]:
    """Top-level ``<tag>…</tag>`` contents from ``start`` on, honouring nesting of the same tag.

    Returns a list of ``(content, closed, end)``, ``end`` being the index just past the closing
    tag; an opening tag never closed runs to the end of the text (``closed=False``). Stray closing
    tags are ignored.
    """
    token = re.compile(rf"<(/?){re.escape(tag)}>")
    spans: list[tuple[str, bool, int]] = []
    depth, begin = 0, 0
    for m in token.finditer(text, start):
        if not m.group(1):  # opening tag
            if depth == 0:
                begin = m.end()
            depth += 1
        elif depth > 0:  # closing tag matching an open one
            depth -= 1
            if depth == 0:
                spans.append((text[begin : m.start()], True, m.end()))
    if depth > 0:
        spans.append((text[begin:], False, len(text)))
    return spans


def _first(text: str, tag: str, start: int = 0) -> tuple[str | None, bool, int]:
    """First top-level ``<tag>`` from ``start``: ``(content or None, closed, end)``."""
    spans = _tag_spans(text, tag, start)
    if not spans:
        return None, True, start
    content, closed, end = spans[0]
    return content.strip(), closed, end


def _split_think(text: str) -> tuple[str | None, str, bool]:
    """Separate a reasoning model's ``<think>`` block from the judgement body.

    DeepSeek-R1-distilled chat templates prefill ``<think>\\n``, so the completion often has a
    closing ``</think>`` without an opening one. Returns ``(think, body, think_unclosed)``.
    """
    close = text.rfind("</think>")
    if close >= 0:
        think = text[:close]
        opening = think.find("<think>")
        if opening >= 0:
            think = think[opening + len("<think>") :]
        return think.strip(), text[close + len("</think>") :], False
    opening = text.find("<think>")
    if opening >= 0:  # opened, never closed: the generation stopped while thinking
        return text[opening + len("<think>") :].strip(), text[:opening], True
    return None, text, False


_ITEM_RE = re.compile(r"^(\s*)(?:(\d+)[.)]|[-*•])\s+(.*\S)\s*$")
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_WEIGHT_RE = re.compile(r"weight\s*(?:[:=]|of|is)?\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)


def _weight_of(line: str) -> float | None:
    m = _WEIGHT_RE.search(line)
    if m:
        value = float(m.group(1))
        return value / 100 if m.group(2) else value
    m = _PERCENT_RE.search(line)
    if m:
        return float(m.group(1)) / 100
    return None


def parse_rubric_items(rubric: str) -> list[RubricItem]:
    """Split rubric text into items.

    Numbered lines (``1.``/``1)``) are the items when there are any, and bullet lines under
    them are folded into the item's text; otherwise the least-indented bullet lines are the items.

    Args:
        rubric: rubric text (without the ``<justify>`` block).

    Returns:
        The items, each with its weight when the line gives one.
    """
    matches = [(m, line) for line in rubric.splitlines() if (m := _ITEM_RE.match(line))]
    numbered = [(m, line) for m, line in matches if m.group(2)]
    if numbered:
        heads = numbered
    else:
        if not matches:
            return []
        indent = min(len(m.group(1)) for m, _ in matches)
        heads = [(m, line) for m, line in matches if len(m.group(1)) == indent]
    return [RubricItem(text=m.group(3), weight=_weight_of(m.group(3))) for m, _ in heads]


def _all_contents(text: str, tag: str) -> list[str]:
    return [content.strip() for content, _, _ in _tag_spans(text, tag)]


def parse_judgement(text: str | None, verdict_rule: str | Callable[[str], str | None] = "rmr1-eval") -> Judgement:
    """Parse a ReasRM completion into a :class:`Judgement`. Never raises on model output.

    Args:
        text: the completion (``None`` is treated as empty).
        verdict_rule: a name from :data:`VERDICT_RULES` or a callable ``text -> "A"|"B"|None``;
            the RM-R1 evaluation rule by default.

    Returns:
        The parsed judgement.
    """
    rule = get_verdict_rule(verdict_rule)
    raw = text if isinstance(text, str) else ""
    think, body, think_open = _split_think(raw)
    j = Judgement(raw=raw, think=think, verdict=rule(raw))

    # Sections are read in the order the format prescribes, each searched after the previous
    # one ends, so a tag *mentioned* inside the rubric or solution is not taken for the next
    # section.
    task_type, type_closed, cursor = _first(body, "type")
    if task_type is not None:
        normalised = task_type.strip().capitalize()
        j.task_type = normalised if normalised in ("Chat", "Reasoning") else None

    rubric, rubric_closed, rubric_end = _first(body, "rubric", cursor)
    justify_closed = True
    if rubric is not None:
        j.justification, justify_closed, _ = _first(rubric, "justify")
        # The rubric proper is what is left once the justify block is cut out.
        j.rubric = re.sub(r"<justify>.*?(</justify>|$)", "", rubric, flags=re.DOTALL).strip()
        j.rubric_items = parse_rubric_items(j.rubric)
        cursor = rubric_end

    j.solution, solution_closed, solution_end = _first(body, "solution", cursor)
    if j.solution is not None:
        cursor = solution_end
    j.eval, eval_closed, eval_end = _first(body, "eval", cursor)
    evidence_source = j.eval if j.eval is not None else body[cursor:]
    j.quotes_a = _all_contents(evidence_source, "quote_A")
    j.quotes_b = _all_contents(evidence_source, "quote_B")
    j.summaries_a = _all_contents(evidence_source, "summary_A")
    j.summaries_b = _all_contents(evidence_source, "summary_B")

    answers_after = _tag_spans(body, "answer", eval_end if j.eval is not None else cursor)
    answer_open = bool(answers_after) and not answers_after[-1][1]
    j.truncated = think_open or answer_open or not all((type_closed, rubric_closed, justify_closed, solution_closed, eval_closed))

    # Complete = the chain for the declared type, every section closed, and exactly one answer
    # tag after the evaluation, naming one side, with nothing but whitespace after it.
    if j.task_type == "Chat":
        chain_ok = bool(j.rubric) and bool(j.justification)
    elif j.task_type == "Reasoning":
        chain_ok = bool(j.solution)
    else:
        chain_ok = False
    final_answer = answers_after[0][0].strip() if len(answers_after) == 1 else None
    j.format_complete = (
        chain_ok
        and bool(j.eval)
        and eval_closed
        and not j.truncated
        and final_answer in ("[[A]]", "[[B]]")
        and not body[answers_after[0][2] :].strip()
    )
    return j
