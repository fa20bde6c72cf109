"""A ReasRM as a *pointwise* judge: one prompt and one response in, a rating 1–10 out.

RM-R1 judges are pairwise, but two uses need a number per response: RewardBench 2's ratings mode
and its Ties subset (``rmr1 evaluate --benchmark rewardbench2``, :mod:`rmr1_utils.rewardbench2`),
and a policy reward that needs no reference answer and no group tournament (``reasrm-rating`` in
``rmr1 grpo``). The prompt keeps RM-R1's chain of rubrics — classify the task, then a weighted
rubric with its justification (Chat) or the judge's own solution (Reasoning), then an evaluation
quoting the response — and ends with ``<score>N</score>`` instead of ``<answer>[[A]]</answer>``.

How we differ from RewardBench 2's ratings prompt (``rewardbench/generative_v2.py``,
``ratings_prompt``): it asks for a short explanation and a bare trailing number, parsed as the
last integer 1–10 of the text; ours asks for the chain of rubrics and a tagged score, parsed from
the last ``<score>`` tag, so a number quoted from the response is never taken for the rating.
Like the official code we give the Ties subset its own variant (``ratings_prompt_ties``: rate
correctness and relevance, not depth or detail): ``ties=True`` adds that note.

No released RM-R1 checkpoint was trained on this prompt: a checkpoint distilled or trained with
RM-R1's pairwise prompt may not follow it, so measure its :func:`rating_parse_rate` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rmr1_utils.formats import OUTPUT_FORMATS_HEAD, SOLVE_STEP, STYLES, TASK_TYPES
from rmr1_utils.judgement import parse_judgement
from rmr1_utils.reasrm import PairwiseJudge, _question_of
from rmr1_utils.rewards import completion_text

#: The lowest and highest rating.
RATING_RANGE = (1, 10)

_NOTES = (
    "Important Notes:\n"
    "- Be objective and base your rating only on the content of the response.\n"
    "- Do not let the length of the response affect your rating: a short correct answer can deserve a 10.\n"
    "- Use the whole scale: 1-3 for wrong, harmful or off-topic responses, 4-6 for partly correct or incomplete ones, "
    "7-10 for correct and helpful ones.\n"
)
#: The Ties variant's extra note (the question has many equally good answers).
_TIES_NOTE = (
    "- The question may have many equally correct answers: rate correctness and relevance, and do not reward extra depth "
    "or detail.\n"
)

# The task types, the reasoning step and the output formats' head are the pairwise prompt's own pieces (formats.py).
_SYSTEM_HEAD = "".join(
    (
        "Please act as an impartial judge and rate the quality of the response an AI Chatbot gave to the Client's question "
        "displayed below, on a scale of 1 to 10.\n"
        "\n",
        TASK_TYPES,
        "\n",
        SOLVE_STEP,
        "2. Check the Chatbot's response for correctness, completeness and reasoning quality against your own solution.\n"
        "3. Write this check inside <eval>...</eval> tags, citing the response with <quote>...</quote> for direct quotes and "
        "<summary>...</summary> for paraphrases.\n"
        "4. End with your rating in the format: <score>N</score>, where N is a whole number from 1 (worst) to 10 (best).\n"
        "\n"
        "If the task is Chat:\n"
        "1. Write evaluation criteria (a rubric) tailored to the Client's question and context, inside <rubric>...</rubric> "
        "tags.\n"
        "2. Give each rubric item a weight according to its importance.\n"
        "3. Inside <rubric>, include a <justify>...</justify> section explaining why you chose those criteria and weights.\n"
        "4. Assess the response against every rubric item inside <eval>...</eval> tags, citing it with <quote>...</quote> or "
        "<summary>...</summary>.\n"
        "5. End with your rating in the format: <score>N</score>, where N is a whole number from 1 (worst) to 10 (best).\n"
        "\n",
    )
)
_SYSTEM_TAIL = "".join(
    (
        OUTPUT_FORMATS_HEAD,
        "  your check of the response, supported by <quote>...</quote> or <summary>...</summary>\n"
        "</eval>\n"
        "\n"
        "<score>N</score>\n"
        "\n"
        "For Chat:\n"
        "<type>Chat</type>\n"
        "\n"
        "<rubric>\n"
        "  detailed rubric items with their weights\n"
        "  <justify> justification for the rubric </justify>\n"
        "</rubric>\n"
        "\n"
        "<eval>\n"
        "  your assessment against the rubric, supported by <quote>...</quote> or <summary>...</summary>\n"
        "</eval>\n"
        "\n"
        "<score>N</score>",
    )
)

RATING_USER_SINGLE_TURN = (
    "[Client Question]\n{question}\n\n[The Start of the Chatbot's Response]\n{response}\n[The End of the Chatbot's Response]"
)
RATING_USER_MULTI_TURN = (
    "[The Start of the Conversation between the Chatbot and the Client]\n{conversation}\n"
    "[The End of the Conversation between the Chatbot and the Client]"
)
_REASONING_PREFIX = (
    "Please act as an impartial judge and rate the quality of the response an AI Chatbot gave to the Client question "
    "displayed below, on a scale of 1 to 10.\n\n"
)
_REASONING_SUFFIX = (
    "\n\nOutput your rating at last by strictly following this format: '<score>N</score>', where N is a whole number "
    "from 1 (worst) to 10 (best)."
)


def rating_system_prompt(ties: bool = False) -> str:
    """The instruct-style system prompt (``ties``: the Ties variant, see the module docstring)."""
    return _SYSTEM_HEAD + _NOTES + (_TIES_NOTE if ties else "") + _SYSTEM_TAIL


def build_rating_messages(
    response: str, question: str | None = None, context: Sequence[dict] | None = None, style: str = "instruct",
    ties: bool = False,
) -> list[dict]:  # fmt: skip
    """The chat messages a ReasRM reads to rate one response.

    Args:
        response: the response to rate.
        question: the client's question (single turn), or
        context: the conversation before the response (ends with a user turn); one user message
            is rendered as a single-turn question.
        style: ``instruct`` (system + user message) or ``reasoning`` (one user message).
        ties: the Ties variant (rate correctness and relevance, not depth).

    Returns:
        ``[{"role", "content"}, ...]`` ready for a chat template.

    Raises:
        ValueError: neither or both of ``question`` and ``context``, or an unknown style.
    """
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}: expected one of {', '.join(STYLES)}")
    if (question is None) == (context is None):
        raise ValueError("give either question or context")
    if context is not None and len(context) == 1 and context[0]["role"] == "user":
        question, context = context[0]["content"], None
    if context is None:
        user = RATING_USER_SINGLE_TURN.format(question=question, response=response)
    else:
        names = {"user": "User", "system": "System", "assistant": "Chatbot"}
        turns = [*context, {"role": "assistant", "content": response}]
        user = RATING_USER_MULTI_TURN.format(conversation="\n".join(f"{names[m['role']]}: {m['content']}" for m in turns))
    if style == "instruct":
        return [{"role": "system", "content": rating_system_prompt(ties)}, {"role": "user", "content": user}]
    note = "\n\n" + _TIES_NOTE.strip("- \n") if ties else ""
    return [{"role": "user", "content": _REASONING_PREFIX + user + note + _REASONING_SUFFIX}]


_SCORE_RE = re.compile(r"<score>(.*?)</score>", re.DOTALL)


def parse_rating(text: str | None) -> int | None:
    """The rating in a completion: the content of its *last* ``<score>…</score>`` tag.

    The last tag, as :func:`~rmr1_utils.judgement.strict_answer_verdict` reads the last answer
    tag: a reasoning model may draft a score while thinking and revise it.

    Args:
        text: the completion (``None`` is empty).

    Returns:
        A whole number 1–10 (whitespace around it allowed), or None: no tag, an empty or
        non-integer content (``7.5``, ``7/10``, ``seven``), or a number outside 1–10.
    """
    scores = _SCORE_RE.findall(text or "")
    if not scores:
        return None
    content = scores[-1].strip()
    if not re.fullmatch(r"\d{1,2}", content):
        return None
    value = int(content)
    return value if RATING_RANGE[0] <= value <= RATING_RANGE[1] else None


def chain_complete(judgement) -> bool:
    """The chain of rubrics of a parsed completion is whole: the sections of its declared type and a
    closed evaluation, nothing cut off (shared by the rating and the four-way formats).

    Args:
        judgement: :func:`~rmr1_utils.judgement.parse_judgement` of the completion.
    """
    if judgement.task_type == "Chat":
        sections = bool(judgement.rubric) and bool(judgement.justification)
    else:
        sections = judgement.task_type == "Reasoning" and bool(judgement.solution)
    return sections and bool(judgement.eval) and not judgement.truncated


def rating_format_complete(text: str | None) -> bool:
    """The whole rating format: the chain of rubrics, then exactly one valid ``<score>`` tag, last."""
    text = text or ""
    return (
        chain_complete(parse_judgement(text))
        and len(_SCORE_RE.findall(text)) == 1
        and parse_rating(text) is not None
        and text.rstrip().endswith("</score>")
    )


class RatingJudge(PairwiseJudge):
    """A ReasRM rating single responses 1–10, batched and cached like :class:`~rmr1_utils.reasrm.PairwiseJudge`.

    Same arguments; its cache records the stage ``rating-judge``, so a pairwise cache file is never
    read as a rating cache (or the other way round).
    """

    stage = "rating-judge"

    def rate(self, items: Sequence[tuple], ties: bool = False) -> list[int | None]:
        """Ratings of ``(prompt, response)`` pairs.

        Args:
            items: the prompt (a string or chat messages) and the response.
            ties: use the Ties variant of the prompt.

        Returns:
            One rating 1–10 per item, None where the completion holds none (:func:`parse_rating`).
        """
        questions = [_question_of(p) for p, _ in items]  # {"prompt": text} or {"context": messages}
        tasks = [build_rating_messages(r, question=q.get("prompt"), context=q.get("context"), style=self.style, ties=ties)
                 for q, (_, r) in zip(questions, items)]  # fmt: skip
        return self.generate_parsed(tasks, parse_rating)


def normalised_rating(rating: int | None) -> float:
    """A rating as a reward in [0, 1]: ``(rating − 1) / 9``; no rating is 0.5, the middle of the scale.

    The middle, not 0: an unreadable rating says nothing about the sample, and (as a missing
    verdict is a tie in :mod:`rmr1_utils.reasrm`) it must not push the sample below one the judge
    actually found mediocre; a group whose ratings all fail gets equal rewards (no signal).
    """
    low, high = RATING_RANGE
    return 0.5 if rating is None else (rating - low) / (high - low)


def rating_reward(judge: RatingJudge):
    """A TRL reward function: each completion rated on its own by the ReasRM, reward in [0, 1].

    One judge call per sample, no reference answer and no tournament (compare
    :func:`~rmr1_utils.reasrm.reference_reward`, 2 calls per sample, and the tournaments).

    Args:
        judge: the rating judge.

    Returns:
        ``reward(prompts, completions, **columns) -> list[float]`` (:func:`normalised_rating`).
    """

    def reasrm_rating(prompts, completions, **columns) -> list[float]:
        ratings = judge.rate([(p, completion_text(c)) for p, c in zip(prompts, completions)])
        return [normalised_rating(r) for r in ratings]

    return reasrm_rating


def rating_parse_rate(judge, items: Sequence[tuple], ties: bool = False, max_new_tokens: int = 512) -> dict:
    """How often a model's ratings can be read: run it on ``(prompt, response)`` pairs and count.

    Args:
        judge: a :class:`RatingJudge`, or a generation backend (then an in-memory judge with
            ``max_new_tokens`` is made around it).
        items: ``(prompt, response)`` pairs (a prompt is a string or chat messages).
        ties: use the Ties variant of the prompt.
        max_new_tokens: the rating length cap when ``judge`` is a backend.

    Returns:
        ``{"n", "parsed", "parse_rate", "ratings"}``.
    """
    if not isinstance(judge, RatingJudge):
        judge = RatingJudge(judge, max_new_tokens=max_new_tokens)
    ratings = judge.rate(items, ties=ties)
    parsed = sum(r is not None for r in ratings)
    return {"n": len(ratings), "parsed": parsed, "parse_rate": parsed / len(ratings) if ratings else float("nan"),
            "ratings": ratings}  # fmt: skip
