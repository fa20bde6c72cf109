"""Reasoning you can check: is a judgement's evidence true to the text it judges?

RM-R1's case for reasoning reward models is that a reader can see *why* the judge decided: it quotes
the responses (``<quote_A>…</quote_A>``) and, on reasoning tasks, states its own ``<solution>``.
The ±1 verdict reward never looks at that reasoning, so nothing stops a judge from quoting words a
response never said. This module checks, for every judgement:

* **quote faithfulness** — each ``<quote_X>`` span must occur in response X. The matching rule
  (:func:`quote_found`): both texts are whitespace-normalised (every run of whitespace becomes one
  space, ends stripped); the quote's leading and trailing punctuation and quotation marks
  (:data:`EDGE_PUNCTUATION`) are stripped, since a judge closing a quoted clause with a full stop is
  not inventing anything; what is left must be a case-sensitive substring of the response. Inner
  punctuation, case and every other character must match. An empty quote (nothing left after
  stripping) cites nothing and counts as *not found*. A quote is checked only against the response it
  names: a ``<quote_A>`` of Chatbot B's text is not found (and flagged ``in_other``).
  Per judgement: the share of faithful quotes (``None`` without quotes) and whether any quote is
  fabricated (not found).
* **solution agreement** (Reasoning-type judgements with a ``<solution>``) — the response the
  verdict names contains the solution's final answer (:func:`final_answer`: the last number in the
  solution when it has one, compared as a number with the response's numbers; otherwise, for
  verifiable items only, its last sentence, compared whitespace-normalised and case-insensitively
  as a substring). Checkable when the solution has a number or the item is ``verifiable`` (the
  curriculum's field); otherwise ``None``.
* **rubric presence** (Chat-type judgements) — the judgement has a non-empty ``<rubric>``.

"Response X" is what the judge was shown as Chatbot X: the response itself for single-turn items,
the whole transcript of that side for multi-turn ones (:func:`responses_from_messages`).

The same check feeds the summaries (:mod:`rmr1_utils.summary`), the pipeline report, the model cards,
the explorer's green/red quotes (:mod:`rmr1_utils.widgets`) and the optional GRPO reward term
:func:`rmr1_utils.rewards.quote_faithfulness_penalty`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation

from rmr1_utils.formats import INSTRUCT_USER_MULTI_TURN, INSTRUCT_USER_SINGLE_TURN
from rmr1_utils.judgement import Judgement, parse_judgement
from rmr1_utils.stats import bootstrap_mean

#: Characters stripped from both ends of a quote before it is looked up.
EDGE_PUNCTUATION = " .,;:!?\"'`“”‘’«»()[]"

_WHITESPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalise(text: str) -> str:
    """Every run of whitespace as one space, ends stripped."""
    return _WHITESPACE.sub(" ", text).strip()


def quote_key(quote: str) -> str:
    """A quote as it is looked up: whitespace-normalised, edge punctuation stripped."""
    return normalise(quote).strip(EDGE_PUNCTUATION)


def quote_found(quote: str, response: str) -> bool:
    """The matching rule (see the module docstring): is ``quote`` in ``response``?"""
    key = quote_key(quote)
    return bool(key) and key in normalise(response)


def quote_pattern(quote: str) -> re.Pattern | None:
    """Where :func:`quote_found` finds ``quote`` in the raw text: its words with any whitespace between
    (``None`` for an empty quote). For marking the places in a response (the explorer)."""
    key = quote_key(quote)
    return re.compile(r"\s+".join(re.escape(word) for word in key.split(" "))) if key else None


@dataclass
class QuoteCheck:
    """One ``<quote_X>`` span.

    Attributes:
        side: ``"A"`` or ``"B"``: the response it claims to quote.
        text: the quote as written.
        found: it occurs in that response (:func:`quote_found`).
        in_other: not found there, but found in the other response (a misattributed quote).
    """

    side: str
    text: str
    found: bool
    in_other: bool = False


@dataclass
class FaithfulnessCheck:
    """The checkable properties of one judgement's reasoning.

    Attributes:
        quotes: every quote, A's then B's, each checked.
        task_type: the judgement's ``<type>``.
        solution_answer: the final answer read from ``<solution>`` (``None``: no solution, or not checkable).
        solution_agrees: the response the verdict names contains it (``None``: not checkable or no verdict).
        rubric_present: a Chat-type judgement has a non-empty rubric (``None`` for other types).
    """

    quotes: list[QuoteCheck] = field(default_factory=list)
    task_type: str | None = None
    solution_answer: str | None = None
    solution_agrees: bool | None = None
    rubric_present: bool | None = None

    @property
    def n_quotes(self) -> int:
        return len(self.quotes)

    @property
    def n_faithful(self) -> int:
        return sum(q.found for q in self.quotes)

    @property
    def faithful_share(self) -> float | None:
        """Share of quotes found (``None`` when the judgement quotes nothing)."""
        return self.n_faithful / self.n_quotes if self.quotes else None

    @property
    def fabricated(self) -> bool:
        """At least one quote is not found in the response it names."""
        return any(not q.found for q in self.quotes)

    def to_dict(self) -> dict:
        """Plain-dict form with the derived fields."""
        return {
            **asdict(self),
            "n_quotes": self.n_quotes,
            "n_faithful": self.n_faithful,
            "faithful_share": self.faithful_share,
            "fabricated": self.fabricated,
        }


def _numbers(text: str) -> list[Decimal]:
    out = []
    for token in _NUMBER.findall(text):
        try:
            out.append(Decimal(token.replace(",", "").rstrip(".")))
        except InvalidOperation:  # a stray "1,,": not a number
            continue
    return out


def final_answer(solution: str | None, verifiable: bool = False) -> str | None:
    """The final answer a ``<solution>`` states, when it is checkable.

    Args:
        solution: the solution text.
        verifiable: the item has a known answer (the curriculum's ``verifiable`` field), so a
            non-numeric final sentence is checkable too.

    Returns:
        The last number of the solution (as written, commas removed) when it has one; else, for a
        verifiable item, its last sentence (whitespace-normalised, edge punctuation stripped); else ``None``.
    """
    if not solution or not solution.strip():
        return None
    numbers = _NUMBER.findall(solution)
    if numbers:
        return numbers[-1].replace(",", "")
    if verifiable:
        sentences = [s for s in _SENTENCE_END.split(normalise(solution)) if s.strip(EDGE_PUNCTUATION)]
        return sentences[-1].strip(EDGE_PUNCTUATION) if sentences else None
    return None


def answer_in_response(answer: str, response: str) -> bool:
    """Does ``response`` contain a :func:`final_answer`? Numbers by value, text as a case-insensitive substring."""
    as_numbers = _numbers(answer)
    if as_numbers and _NUMBER.fullmatch(answer):
        return as_numbers[0] in _numbers(response)
    return normalise(answer).casefold() in normalise(response).casefold()


def check_judgement(judgement: Judgement | str, response_a: str, response_b: str, verifiable: bool = False) -> FaithfulnessCheck:
    """Check one judgement's quotes, solution and rubric against the responses it judged.

    Args:
        judgement: a parsed :class:`~rmr1_utils.judgement.Judgement` or the completion text.
        response_a, response_b: what the judge was shown as Chatbot A and Chatbot B.
        verifiable: the item has a known answer (makes a non-numeric solution checkable).

    Returns:
        The :class:`FaithfulnessCheck`.
    """
    j = parse_judgement(judgement) if isinstance(judgement, str) else judgement
    responses = {"A": response_a or "", "B": response_b or ""}
    check = FaithfulnessCheck(task_type=j.task_type)
    for side, quotes in (("A", j.quotes_a), ("B", j.quotes_b)):
        other = responses["B" if side == "A" else "A"]
        for quote in quotes:
            found = quote_found(quote, responses[side])
            check.quotes.append(QuoteCheck(side, quote, found, in_other=not found and quote_found(quote, other)))
    if j.task_type == "Reasoning":
        check.solution_answer = final_answer(j.solution, verifiable)
        if check.solution_answer is not None and j.verdict in responses:
            check.solution_agrees = answer_in_response(check.solution_answer, responses[j.verdict])
    elif j.task_type == "Chat":
        check.rubric_present = bool(j.rubric and j.rubric.strip())
    return check


# ---------------------------------------------------------------------------------------------
# Where the responses come from
# ---------------------------------------------------------------------------------------------


def _between(text: str, start: str, end: str) -> str | None:
    begin = text.find(start)
    if begin < 0:
        return None
    begin += len(start)
    stop = text.rfind(end)
    return text[begin:stop] if stop >= begin else None


# The markers around each side in the RM-R1 user templates (single turn, multi-turn).
_SIDE_MARKERS = [
    tuple(
        (template.split("{" + slot + "}")[0].rsplit("\n\n", 1)[-1], template.split("{" + slot + "}")[1].split("\n\n", 1)[0])
        for slot in slots
    )
    for template, slots in (
        (INSTRUCT_USER_SINGLE_TURN, ("answer_a", "answer_b")),
        (INSTRUCT_USER_MULTI_TURN, ("conversation_1", "conversation_2")),
    )
]


def responses_from_messages(messages: Sequence[dict] | str) -> tuple[str, str] | None:
    """What a judge prompt shows as Chatbot A and Chatbot B (either prompt style, single or multi-turn).

    Args:
        messages: the judge's prompt messages (the last user message is read) or that message's text.

    Returns:
        ``(response_a, response_b)``, or ``None`` when the text is not an RM-R1 judge prompt.
    """
    if isinstance(messages, str):
        text = messages
    else:
        users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        text = users[-1] if users and isinstance(users[-1], str) else ""
    for (start_a, end_a), (start_b, end_b) in _SIDE_MARKERS:
        a, b = _between(text, start_a, end_a), _between(text, start_b, end_b)
        if a is not None and b is not None:
            return a, b
    return None


def shown_responses(pair: dict, better: str) -> dict:
    """The responses a pair shows as A and B when the better one is at ``better`` (log fields)."""
    chosen, rejected = pair["chosen"], pair["rejected"]
    a, b = (chosen, rejected) if better == "A" else (rejected, chosen)
    return {"response_a": a, "response_b": b, "verifiable": bool(pair.get("verifiable"))}


def check_record(record: dict) -> FaithfulnessCheck | None:
    """Check a per-sample log line (``completion``, ``response_a``, ``response_b``); ``None`` for lines
    without the responses (logs written before they were recorded, RewardBench 2's jobs)."""
    if not isinstance(record.get("response_a"), str) or not isinstance(record.get("response_b"), str):
        return None
    return check_judgement(
        record.get("completion") or "", record["response_a"], record["response_b"], bool(record.get("verifiable"))
    )


# ---------------------------------------------------------------------------------------------
# A log's faithfulness, with intervals
# ---------------------------------------------------------------------------------------------


def faithfulness_summary(
    log: Sequence[dict], item: Callable[[dict], Hashable], resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> dict | None:
    """Faithfulness of a per-sample log's judgements, each rate with a seeded bootstrap interval by item.

    Args:
        log: per-sample log lines with ``completion``, ``response_a``, ``response_b`` and ``correct``.
        resamples, seed, level: the bootstrap's.
        item: line → the item it judges (its judgements are resampled together): the summaries'
            :func:`rmr1_utils.items.item_of`, the pipeline's pair (both orders of a pair together).

    Returns:
        ``None`` when no line records its responses; else ``judgements`` (checked), ``quotes``,
        ``faithful_quotes``, ``faithful_share`` (faithful quotes / quotes, pooled) with
        ``faithful_share_ci``, ``fabricated_rate`` (judgements with a fabricated quote / judgements
        with quotes) with its interval, ``accuracy_faithful`` / ``accuracy_fabricated`` /
        ``accuracy_no_quotes`` (accuracy of the judgements whose quotes are all found / that have a
        fabricated quote / that quote nothing, each an interval dict with its ``n``),
        ``solution_agreement`` (over the checkable Reasoning-type judgements) and ``rubric_present``
        (over the Chat-type ones), each an interval dict.
    """
    checked = [(line, check) for line in log if (check := check_record(line)) is not None]
    if not checked:
        return None

    def interval(values: list[float], clusters: list) -> dict:
        if not values:  # nothing to measure (no quotes, no checkable solution): null, not NaN, so summaries compare equal
            return {"value": None, "low": None, "high": None, "n": 0, "clusters": 0, "level": level}
        if resamples:
            return bootstrap_mean(values, clusters, resamples, seed, level).to_dict()
        point = bootstrap_mean(values, clusters, 1, seed, level).to_dict()  # no intervals asked for: the value alone
        return {**point, "low": float("nan"), "high": float("nan")}

    quote_values, quote_items = [], []
    groups: dict[str, tuple[list[float], list]] = {"faithful": ([], []), "fabricated": ([], []), "no_quotes": ([], [])}
    fabricated, quoting_items = [], []
    agreement, agreement_items, rubric, rubric_items = [], [], [], []
    for line, check in checked:
        unit = item(line)
        for q in check.quotes:
            quote_values.append(float(q.found))
            quote_items.append(unit)
        group = "no_quotes" if not check.quotes else ("fabricated" if check.fabricated else "faithful")
        groups[group][0].append(float(bool(line.get("correct"))))
        groups[group][1].append(unit)
        if check.quotes:
            fabricated.append(float(check.fabricated))
            quoting_items.append(unit)
        if check.solution_agrees is not None:
            agreement.append(float(check.solution_agrees))
            agreement_items.append(unit)
        if check.rubric_present is not None:
            rubric.append(float(check.rubric_present))
            rubric_items.append(unit)
    share = {**interval(quote_values, quote_items), "unit": "quotes"}
    return {
        "judgements": len(checked),
        "quotes": len(quote_values),
        "faithful_quotes": int(sum(quote_values)),
        "faithful_share": share["value"],
        "faithful_share_ci": share,
        "fabricated_rate": interval(fabricated, quoting_items),
        **{f"accuracy_{name}": interval(values, units) for name, (values, units) in groups.items()},
        "solution_agreement": interval(agreement, agreement_items),
        "rubric_present": interval(rubric, rubric_items),
        "bootstrap": {"resamples": resamples, "seed": seed, "level": level, "unit": "item"},
    }


def _rate(interval: dict | None) -> str:
    if not interval or not interval.get("n"):
        return "n/a (n=0)"
    low, high = interval["low"], interval["high"]
    bounds = f"[{low:.3f}, {high:.3f}]" if low == low and high == high else "[n/a]"  # NaN: no resamples asked for
    return f"{interval['value']:.3f} {bounds} (n={interval['n']})"


def format_faithfulness(summary: dict | None) -> str | None:
    """Two lines for a summary table: the faithful-quote share with its interval, and accuracy by faithfulness."""
    if not summary:
        return None
    return (
        f"  reasoning: faithful quotes {_rate(summary['faithful_share_ci'])} of {summary['quotes']} quotes in "
        f"{summary['judgements']} judgements; judgements with a fabricated quote {_rate(summary['fabricated_rate'])}; "
        f"solution agrees with verdict {_rate(summary['solution_agreement'])}; "
        f"rubric present {_rate(summary['rubric_present'])}\n"
        f"  accuracy when all quotes are found {_rate(summary['accuracy_faithful'])}, with a fabricated quote "
        f"{_rate(summary['accuracy_fabricated'])}, without quotes {_rate(summary['accuracy_no_quotes'])}"
    )
