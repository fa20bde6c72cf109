"""A rule teacher: exact, checkable chain-of-rubrics traces for verifiable pairs (``--teacher rule``).

RM-R1 distils traces written by a strong model. For pairs whose right answer is known exactly —
the judging curriculum of :mod:`rmr1_utils.curriculum`, or any pair carrying ``verifiable`` facts — a
rule writes the trace instead: no model, no cost, no mistakes, and every piece checkable::

    <type>Reasoning</type>

    <solution>The last word is fence.</solution>

    <eval>
    Chatbot B gives my solution: <quote_B>The last word is fence.</quote_B>
    Chatbot A does not: <quote_A>The last word is near.</quote_A>
    </eval>

    <answer>[[B]]</answer>

The trace is deliberately short (~90 tokens): a 135M student must learn it in minutes on a laptop
CPU, where every supervised token costs a forward and a backward pass. Its steps are the ones the
student can perform: write its own solution (copied from the question or recalled), find the
response that says the same thing, quote both, and name that response in the verdict.

Why this order: the first line of the evaluation *names* the response that matches the solution,
right after the solution is written, and the verdict repeats that name. Measured on the embedded
model (GPU sweeps, 3 families, 200–300 training examples, in-family held-out pairs judged in both
orders): this "find your solution" layout reached 0.93–1.00 accuracy where a layout that quotes A
then B and says "matches"/"does not match" after each reached the same only with more data, and a
word-level layout ("<quote_A>desert.</quote_A> is not soft.") 0.88.

:class:`RuleTeacher` is a :class:`~rmr1_utils.generation.interface.GenerationBackend`, so ``rmr1
distill-data`` runs it through the same log, resume and two-pass correction as a model or an HTTP
teacher (it never needs pass 2: its traces are right by construction, which the pass-1 check
confirms).

How we differ from the paper: RM-R1's traces are long teacher essays. These are templated; they
teach the *procedure* of the chain of rubrics, not the prose.
"""

from __future__ import annotations

from collections.abc import Sequence

from rmr1_utils.errors import RMR1Error
from rmr1_utils.generation.interface import Completion, GenerationBackend, Messages, SamplingParams
from rmr1_utils.judgement import winner_to_letter

GIVES = "gives my solution:"
DOES_NOT = "does not:"


def rule_trace(verifiable: dict, winner: str) -> str:
    """The chain-of-rubrics trace for a verifiable judge task.

    Args:
        verifiable: ``solution``, ``chosen_quote`` (verbatim from the better response) and
            ``rejected_quote`` (verbatim from the worse one); see :mod:`rmr1_utils.curriculum`.
        winner: the task's label, ``model_a`` or ``model_b`` (where the better response is shown).

    Returns:
        The trace: ``<type>Reasoning</type>``, the solution, an ``<eval>`` naming and quoting the
        response that gives the solution, then quoting the other, and the verdict tag.
    """
    better = winner_to_letter(winner)
    worse = "B" if better == "A" else "A"
    return (
        "<type>Reasoning</type>\n\n"
        f"<solution>{verifiable['solution']}</solution>\n\n"
        "<eval>\n"
        f"Chatbot {better} {GIVES} <quote_{better}>{verifiable['chosen_quote']}</quote_{better}>\n"
        f"Chatbot {worse} {DOES_NOT} <quote_{worse}>{verifiable['rejected_quote']}</quote_{worse}>\n"
        "</eval>\n\n"
        f"<answer>[[{better}]]</answer>"
    )


def _prompt_key(conversation: Messages) -> str:
    """What identifies a task in a conversation: its first user message (pass 2 appends turns)."""
    return next(m["content"] for m in conversation if m["role"] == "user")


class RuleTeacher(GenerationBackend):
    """A generation backend that answers each known judge task with :func:`rule_trace`.

    Args:
        tasks: judge tasks with ``messages``, ``winner`` and ``verifiable``; tasks without it
            are not known to the teacher.
    """

    name = "rule"

    def __init__(self, tasks: Sequence[dict]):
        self.traces: dict[str, str] = {}
        self.tokenizer = None
        for task in tasks:
            if task.get("verifiable"):
                self.traces[_prompt_key(task["messages"])] = rule_trace(task["verifiable"], task["winner"])

    def knows(self, task: dict) -> bool:
        """Whether this teacher can write a trace for ``task``."""
        return _prompt_key(task["messages"]) in self.traces

    def generate(
        self, conversations: Sequence[Messages], params: SamplingParams, progress: bool = True
    ) -> list[list[Completion]]:
        """One exact trace per conversation (``params.n`` copies; sampling settings do not apply).

        Raises:
            RMR1Error: a conversation whose task is not verifiable.
        """
        out = []
        for conversation in conversations:
            key = _prompt_key(conversation)
            if key not in self.traces:
                raise RMR1Error("the rule teacher only judges verifiable tasks (with a `verifiable` field)")
            text = self.traces[key]
            out.append([Completion(text=text, num_tokens=len(text), finished=True) for _ in range(params.n)])
        return out
