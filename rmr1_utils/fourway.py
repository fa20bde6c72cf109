"""A ReasRM choosing the best of *four* responses: RewardBench 2's generative protocol in RM-R1's format.

RewardBench 2's official generative evaluation (``scripts/run_generative_v2.py`` with
``rewardbench/generative_v2.py``) shows one prompt with four responses, the chosen one swapped into
a random position, and asks for ``[[A]]``–``[[D]]``. Its prompt (``prompt_v2``) is MT-Bench style;
ours is RM-R1's chain of rubrics widened to four chatbots — the same instructions, tags and verdict
format as the pairwise prompt (:mod:`rmr1_utils.formats`), with ``<quote_C>``/``<summary_D>``… and
``<answer>[[C]]</answer>`` added — so a ReasRM meets the format it knows.

Verdicts (:func:`four_way_verdict`) follow the project's verdict rules widened to four letters. The
official ``process_judgement`` instead takes the first of ``[[A]]``, ``[[B]]``, ``[[C]]``, ``[[D]]``
found anywhere in the text, in that order, so a judgement naming A and C counts as A; we count it as
no verdict (scored 0.25 like the official "error"), which does not favour position A. Both are a
choice when scoring: ``--scoring rmr1`` (ours, the default) or ``--scoring official``
(:func:`rmr1_utils.judgement.first_mark_verdict` re-reads the logged completions;
:mod:`rmr1_utils.scoring` says by how much the two differed on a recorded run).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from rmr1_utils.formats import (
    CHAT_FORMAT_HEAD,
    OBJECTIVITY_NOTES,
    OUTPUT_FORMATS_HEAD,
    RUBRIC_STEPS,
    SOLVE_STEP,
    STYLES,
    TASK_TYPES,
)
from rmr1_utils.judgement import REWARD_TAIL_CHARS, parse_judgement
from rmr1_utils.rating import chain_complete

LETTERS = ("A", "B", "C", "D")

# Built from the pairwise prompt's own pieces (formats.py): only what four responses change is written here.
_SYSTEM_PROMPT = "".join(
    (
        "Please act as an impartial judge and evaluate the quality of the responses provided by four AI Chatbots to the "
        "Client's question displayed below, and choose the best one.\n"
        "\n",
        TASK_TYPES,
        "\n",
        SOLVE_STEP,
        "2. Evaluate the four Chatbot responses based on correctness, completeness, and reasoning quality, referencing your "
        "own solution.\n"
        "3. Include your evaluation inside <eval>...</eval> tags, quoting or summarizing the Chatbots using the following "
        "tags:\n"
        "   - <quote_A>...</quote_A> for direct quotes from Chatbot A, <summary_A>...</summary_A> for paraphrases of Chatbot A\n"
        "   - likewise <quote_B>, <summary_B>, <quote_C>, <summary_C>, <quote_D> and <summary_D> for Chatbots B, C and D\n"
        "4. End with your final judgment in the format: <answer>[[A]]</answer>, <answer>[[B]]</answer>, "
        "<answer>[[C]]</answer> or <answer>[[D]]</answer>\n"
        "\n",
        RUBRIC_STEPS,
        "4. Compare the four Chatbot responses according to the rubric.\n"
        "5. Provide your evaluation inside <eval>...</eval> tags, using the quote and summary tags described above.\n"
        "6. End with your final judgment in the format: <answer>[[A]]</answer>, <answer>[[B]]</answer>, "
        "<answer>[[C]]</answer> or <answer>[[D]]</answer>\n"
        "\n",
        OBJECTIVITY_NOTES,
        "- Name exactly one Chatbot in your final judgment.\n",
        OUTPUT_FORMATS_HEAD,
        "  include direct comparisons supported by the quote and summary tags of Chatbots A, B, C and D\n"
        "</eval>\n"
        "\n"
        "<answer>[[A/B/C/D]]</answer>\n"
        "\n",
        CHAT_FORMAT_HEAD,
        "  include direct comparisons supported by the quote and summary tags of Chatbots A, B, C and D\n"
        "</eval>\n"
        "\n"
        "<answer>[[A/B/C/D]]</answer>",
    )
)

#: The user message: the question, then the four responses in the pairwise template's framing.
FOUR_WAY_USER = "[Client Question]\n{question}" + "".join(
    f"\n\n[The Start of Chatbot {x}'s Response]\n{{answer_{x.lower()}}}\n[The End of Chatbot {x}'s Response]" for x in LETTERS
)
_REASONING_PREFIX = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by four AI Chatbots to the "
    "Client question displayed below. \n\n"
)
_REASONING_SUFFIX = (
    "\n\nOutput your final verdict at last by strictly following this format: '<answer>[[A]]</answer>' if Chatbot A is "
    "best, '<answer>[[B]]</answer>' if Chatbot B is best, '<answer>[[C]]</answer>' if Chatbot C is best, or "
    "'<answer>[[D]]</answer>' if Chatbot D is best."
)


def build_four_way_messages(question: str, answers: Sequence[str], style: str = "instruct") -> list[dict]:
    """The chat messages a ReasRM reads to pick the best of four responses.

    Args:
        question: the client's question.
        answers: the four responses, shown as Chatbots A, B, C, D in this order.
        style: ``instruct`` (system + user message) or ``reasoning`` (one user message).

    Returns:
        ``[{"role", "content"}, ...]``.

    Raises:
        ValueError: not exactly four answers, or an unknown style.
    """
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}: expected one of {', '.join(STYLES)}")
    if len(answers) != len(LETTERS):
        raise ValueError(f"a four-way prompt shows exactly 4 responses, got {len(answers)}")
    # str.format never re-reads substituted text, so braces inside responses are safe.
    user = FOUR_WAY_USER.format(question=question, **{f"answer_{x.lower()}": a for x, a in zip(LETTERS, answers)})
    if style == "instruct":
        return [{"role": "system", "content": _SYSTEM_PROMPT}, {"role": "user", "content": user}]
    return [{"role": "user", "content": _REASONING_PREFIX + user + _REASONING_SUFFIX}]


def _only_one(text: str, marks: dict[str, str]) -> str | None:
    """The letter whose mark alone appears in ``text`` (none or several: None)."""
    present = [x for x, mark in marks.items() if mark in text]
    return present[0] if len(present) == 1 else None


_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def four_way_verdict(text: str | None, rule: str = "rmr1-eval") -> str | None:
    """The chatbot a four-way judgement picks, by one of the project's verdict rules (four letters).

    Args:
        text: the completion.
        rule: ``rmr1-eval`` (exactly one of ``[[A]]``…``[[D]]`` anywhere: RM-R1's evaluation rule),
            ``rmr1-train-tail`` (exactly one full ``<answer>[[X]]</answer>`` tag in the last 80
            characters: RM-R1's reward rule) or ``strict`` (the last ``<answer>`` tag holds exactly
            ``[[X]]``); see :mod:`rmr1_utils.judgement`.

    Returns:
        ``"A"``–``"D"``, or None (no mark, several marks, an empty text).

    Raises:
        ValueError: an unknown rule.
    """
    text = text or ""
    if rule == "rmr1-eval":
        return _only_one(text, {x: f"[[{x}]]" for x in LETTERS})
    if rule == "rmr1-train-tail":
        return _only_one(text[-REWARD_TAIL_CHARS:], {x: f"<answer>[[{x}]]</answer>" for x in LETTERS})
    if rule == "strict":
        answers = _ANSWER_RE.findall(text)
        return {f"[[{x}]]": x for x in LETTERS}.get(answers[-1].strip()) if answers else None
    raise ValueError(f"unknown verdict rule {rule!r}: expected rmr1-eval, rmr1-train-tail or strict")


def four_way_format_complete(text: str | None) -> bool:
    """The whole format: the chain of rubrics, then one answer tag naming one chatbot, last."""
    text = text or ""
    return (
        chain_complete(parse_judgement(text))
        and len(_ANSWER_RE.findall(text)) == 1
        and four_way_verdict(text, "strict") is not None
        and text.rstrip().endswith("</answer>")
    )


def four_way_position(seed: int, group: str, index: int) -> str:
    """Where the better response is shown among A–D: seeded, and balanced within every block of four.

    The official script draws the position with an unseeded ``np.random.randint(0, 4)`` per item;
    ours is reproducible and balanced: the items of a group (a subset), in file order, form blocks
    of four, and each block shows the better response once at each position, in a seeded order.
    An item's position depends only on the seed, its group and its index, so ``--limit`` (a
    prefix of the file) and a resumed run show every item as the full run does.

    Args:
        seed: the run's seed.
        group: the item's group (its subset).
        index: the item's 0-based index within its group, in file order.

    Returns:
        ``"A"``, ``"B"``, ``"C"`` or ``"D"``.
    """
    block = random.Random(f"{seed}:{group}:{index // len(LETTERS)}").sample(LETTERS, len(LETTERS))
    return block[index % len(LETTERS)]
