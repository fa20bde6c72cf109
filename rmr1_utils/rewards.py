"""TRL reward functions for RM-R1's reinforcement learning with verifiable rewards.

:func:`rmr1_reward` is the paper's rule (``rm_r1/verl/utils/reward_score/lm_as_judge.py``): look at
the last 80 characters of the completion; +1.0 when the labelled winner's tag
(``<answer>[[A]]</answer>`` or ``<answer>[[B]]</answer>``) is there and the other's is not, else
−1.0. There is no format or length term: a truncated or malformed judgement simply gets −1.

It follows TRL's reward-function protocol, so GRPO configs can name it by dotted path
(``rmr1_utils.rewards.rmr1_reward``): ``completions`` are strings or conversational message
lists, and every other dataset column (here ``winner``) arrives as a keyword list.
"""

from __future__ import annotations

from collections.abc import Sequence

from rmr1_utils.judgement import REWARD_TAIL_CHARS, tail_verdict, winner_to_letter


def completion_text(completion: str | Sequence[dict]) -> str:
    """Text of one completion, whether TRL passed it as a string or as chat messages.

    Conversational completions are lists of ``{"role", "content"}`` messages; the judge's text is
    the content of the last message (content given as parts is joined from its text parts).
    """
    if isinstance(completion, str):
        return completion
    if not completion:
        return ""
    content = completion[-1].get("content", "")
    if isinstance(content, list):  # multimodal-style parts: [{"type": "text", "text": ...}]
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""


def rmr1_reward(
    completions: Sequence[str | Sequence[dict]],
    winner: Sequence[str] | str,
    **kwargs,
) -> list[float]:
    """RM-R1 verdict reward: +1.0 when the last 80 characters name the labelled winner, else −1.0.

    Args:
        completions: generated judgements, as strings or conversational message lists.
        winner: the label per completion (``"model_a"`` / ``"model_b"``), or one label for all.
        **kwargs: other dataset columns and trainer state (ignored).

    Returns:
        One reward per completion.

    Raises:
        ValueError: on an unknown winner label or a label list of the wrong length.
    """
    labels = [winner] * len(completions) if isinstance(winner, str) else list(winner)
    if len(labels) != len(completions):
        raise ValueError(f"rmr1_reward: {len(completions)} completions but {len(labels)} winner labels")
    rewards = []
    for completion, label in zip(completions, labels):
        letter = winner_to_letter(label)  # raises on an unknown label before any scoring
        verdict = tail_verdict(completion_text(completion), REWARD_TAIL_CHARS)
        rewards.append(1.0 if verdict == letter else -1.0)
    return rewards


def quote_faithfulness_penalty(
    completions: Sequence[str | Sequence[dict]],
    prompts: Sequence[str | Sequence[dict]],
    **kwargs,
) -> list[float]:
    """The fabricated-quote penalty: minus the share of a judgement's quotes not found in the response they name.

    0.0 for a judgement whose every ``<quote_X>`` occurs in response X (or that quotes nothing),
    −1.0 when none does; the matching rule is :func:`rmr1_utils.faithfulness.quote_found`. GRPO adds
    it to :func:`rmr1_reward` with the weight ``quote_faithfulness_weight`` (0 by default: the
    column is logged, ``rewards/quote_faithfulness_penalty/mean``, but the RM-R1 reward is unchanged).

    A judgement that quotes nothing is not penalised: the term rewards quoting *truly*, not quoting
    at all, and a judge could dodge it by dropping its quotes — watch the quotes per judgement.

    Args:
        completions: generated judgements.
        prompts: the judge prompts (the responses are read from them:
            :func:`~rmr1_utils.faithfulness.responses_from_messages`).
        **kwargs: other dataset columns (``verifiable`` is not needed: only quotes are scored).

    Returns:
        One penalty in [−1, 0] per completion (0 for a prompt that is not an RM-R1 judge prompt).
    """
    from rmr1_utils.faithfulness import check_judgement, responses_from_messages

    if len(prompts) != len(completions):
        raise ValueError(f"quote_faithfulness_penalty: {len(completions)} completions but {len(prompts)} prompts")
    penalties = []
    for completion, prompt in zip(completions, prompts):
        responses = responses_from_messages(prompt)
        if responses is None:
            penalties.append(0.0)
            continue
        check = check_judgement(completion_text(completion), *responses)
        penalties.append(0.0 if check.faithful_share is None else check.faithful_share - 1.0)
    return penalties
