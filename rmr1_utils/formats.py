"""The RM-R1 judge *input* format: system prompt, user templates and the message builder.

The strings below are byte-exact copies of what the released RM-R1 checkpoints were trained on
(`RM-R1-UIUC/RM-R1`, ``demo/demo.ipynb`` and ``rm_r1/dataset/mix_data/mix_data.py``; our copy is
checked against ``shared/reference/rmr1_format.json`` by ``tests/test_formats.py``). A single space
or newline of difference changes what those checkpoints do, so never edit them by hand.

Two families:

* **instruct** ReasRMs (RM-R1 Qwen2.5-Instruct based) take a *system* message
  (:data:`INSTRUCT_SYSTEM_PROMPT`, the chain-of-rubrics instructions) plus one *user* message.
* **reasoning** ReasRMs (RM-R1 DeepSeek-R1-Distill based) take *one user message* that carries
  a short instruction and the verdict format; they think in ``<think>`` first.

How we differ from the paper's data script: RM-R1's ``mix_data.py`` names the rejected side
"Chabot B" (sic) in multi-turn items where A wins, and "Chatbot B" otherwise — the typo leaks the
label into the prompt. Here one renderer (:func:`render_conversation`) formats both sides, so A and
B are named and laid out identically and nothing but the responses depends on the label.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.errors import DataError
from rmr1_utils.stage import parse_stage_args, stage_parser

# ---------------------------------------------------------------------------------------------
# Byte-exact strings of the released checkpoints (do not edit; see module docstring).
# ---------------------------------------------------------------------------------------------

# The system prompt is written as its pieces so that the four-way (:mod:`rmr1_utils.fourway`) and the
# rating (:mod:`rmr1_utils.rating`) prompts reuse the very same lines; joined, they are the released
# prompt byte for byte (``tests/test_formats.py`` checks the whole against the reference).

#: "First, classify the task…": the two task types and when to use each.
TASK_TYPES = (
    "First, classify the task into one of two categories: <type>Reasoning</type> or <type>Chat</type>.\n"
    "- Use <type>Reasoning</type> for tasks that involve math, coding, or require domain knowledge, multi-step inference, logical deduction, or combining information to reach a conclusion.\n"
    "- Use <type>Chat</type> for tasks that involve open-ended or factual conversation, stylistic rewrites, safety questions, or general helpfulness requests without deep reasoning.\n"
)
#: A reasoning task's first step: the judge's own solution.
SOLVE_STEP = (
    "If the task is Reasoning:\n"
    "1. Solve the Client's question yourself and present your final answer within <solution>...</solution> tags.\n"
)
#: A chat task's first three steps: the rubric, its weights and its justification.
RUBRIC_STEPS = (
    "If the task is Chat:\n"
    "1. Generate evaluation criteria (rubric) tailored to the Client's question and context, enclosed in <rubric>...</rubric> tags.\n"
    "2. Assign weights to each rubric item based on their relative importance.\n"
    "3. Inside <rubric>, include a <justify>...</justify> section explaining why you chose those rubric criteria and weights.\n"
)
#: The notes against position, length and name bias.
OBJECTIVITY_NOTES = (
    "Important Notes:\n"
    "- Be objective and base your evaluation only on the content of the responses.\n"
    "- Do not let response order, length, or Chatbot names affect your judgment.\n"
)
#: From the last note to the opening ``<eval>`` of the Reasoning output format.
OUTPUT_FORMATS_HEAD = (
    "- Follow the response format strictly depending on the task type.\n"
    "\n"
    "Your output must follow one of the two formats below:\n"
    "\n"
    "For Reasoning:\n"
    "<type>Reasoning</type>\n"
    "\n"
    "<solution> your own solution for the problem </solution>\n"
    "\n"
    "<eval>\n"
)
#: The Chat output format up to its opening ``<eval>``.
CHAT_FORMAT_HEAD = (
    "For Chat:\n"
    "<type>Chat</type>\n"
    "\n"
    "<rubric>\n"
    "  detailed rubric items\n"
    "  <justify> justification for the rubric </justify>\n"
    "</rubric>\n"
    "\n"
    "<eval>\n"
)

INSTRUCT_SYSTEM_PROMPT = "".join(
    (
        "Please act as an impartial judge and evaluate the quality of the responses provided by two AI Chatbots to the Client's question displayed below.\n"
        "\n",
        TASK_TYPES,
        "\n",
        SOLVE_STEP,
        "2. Evaluate the two Chatbot responses based on correctness, completeness, and reasoning quality, referencing your own solution.\n"
        "3. Include your evaluation inside <eval>...</eval> tags, quoting or summarizing the Chatbots using the following tags:\n"
        "   - <quote_A>...</quote_A> for direct quotes from Chatbot A\n"
        "   - <summary_A>...</summary_A> for paraphrases of Chatbot A\n"
        "   - <quote_B>...</quote_B> for direct quotes from Chatbot B\n"
        "   - <summary_B>...</summary_B> for paraphrases of Chatbot B\n"
        "4. End with your final judgment in the format: <answer>[[A]]</answer> or <answer>[[B]]</answer>\n"
        "\n",
        RUBRIC_STEPS,
        "4. Compare both Chatbot responses according to the rubric.\n"
        "5. Provide your evaluation inside <eval>...</eval> tags, using <quote_A>, <summary_A>, <quote_B>, and <summary_B> as described above.\n"
        "6. End with your final judgment in the format: <answer>[[A]]</answer> or <answer>[[B]]</answer>\n"
        "\n",
        OBJECTIVITY_NOTES,
        OUTPUT_FORMATS_HEAD,
        "  include direct comparisons supported by <quote_A>...</quote_A> or <summary_A>...</summary_A>, and <quote_B>...</quote_B>, or <summary_B>...</summary_B>\n"
        "</eval>\n"
        "\n"
        "<answer>[[A/B]]</answer>\n"
        "\n",
        CHAT_FORMAT_HEAD,
        "  include direct comparisons supported by <quote_A>...</quote_A> or <summary_A>...</summary_A>, and <quote_B>...</quote_B>, or <summary_B>...</summary_B> tags\n"
        "</eval>\n"
        "\n"
        "<answer>[[A/B]]</answer>",
    )
)

INSTRUCT_USER_SINGLE_TURN = (
    "[Client Question]\n"
    "{question}\n"
    "\n"
    "[The Start of Chatbot A's Response]\n"
    "{answer_a}\n"
    "[The End of Chatbot A's Response]\n"
    "\n"
    "[The Start of Chatbot B's Response]\n"
    "{answer_b}\n"
    "[The End of Chatbot B's Response]"
)

INSTRUCT_USER_MULTI_TURN = (
    "[The Start of the Conversation between Chatbot A and the Client]\n"
    "{conversation_1}\n"
    "[The End of the Conversation between Chatbot A and the Client]\n"
    "\n"
    "[The Start of the Conversation between Chatbot B and the Client]\n"
    "{conversation_2}\n"
    "[The End of the Conversation between Chatbot B and the Client]"
)

# The reasoning-model templates wrap the instruct user templates in an instruction (one user
# message, no system prompt) and the verdict format.
_REASONING_PREFIX = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two AI Chatbots to the Client question displayed below. \n"
    "\n"
)
_REASONING_SUFFIX = (
    "\n"
    "\n"
    "Output your final verdict at last by strictly following this format: '<answer>[[A]]</answer>' if Chatbot A is better, or '<answer>[[B]]</answer>' if Chatbot B is better."
)
REASONING_USER_SINGLE_TURN = _REASONING_PREFIX + INSTRUCT_USER_SINGLE_TURN + _REASONING_SUFFIX
REASONING_USER_MULTI_TURN = _REASONING_PREFIX + INSTRUCT_USER_MULTI_TURN + _REASONING_SUFFIX

#: Label values of a judge task: which side (as shown to the judge) is the better one.
WINNER_LABELS: tuple[str, str] = ("model_a", "model_b")

#: The verdict tag the judge must end with, per winner label.
VERDICT_TAGS: dict[str, str] = {
    "model_a": "<answer>[[A]]</answer>",
    "model_b": "<answer>[[B]]</answer>",
}

#: Prompt styles: ``instruct`` (system + user) and ``reasoning`` (one user message).
STYLES: tuple[str, str] = ("instruct", "reasoning")

#: Speaker names used inside a rendered conversation, per side.
CHATBOT_NAMES: dict[str, str] = {"A": "Chatbot A", "B": "Chatbot B"}

_TEMPLATES: dict[tuple[str, bool], str] = {
    ("instruct", False): INSTRUCT_USER_SINGLE_TURN,
    ("instruct", True): INSTRUCT_USER_MULTI_TURN,
    ("reasoning", False): REASONING_USER_SINGLE_TURN,
    ("reasoning", True): REASONING_USER_MULTI_TURN,
}

# Roles a conversation may contain, and how each is named in the rendered transcript.
# RM-R1's script accepts only user/assistant; "system" is our extension (rendered "System: ...")
# so that real multi-turn data with a system turn is not silently dropped.
_ROLE_NAMES = {"user": "User", "system": "System"}


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}: expected one of {', '.join(STYLES)}")


def render_conversation(messages: Sequence[dict], side: str) -> str:
    """Render a whole conversation for one side of a multi-turn judge prompt.

    Lines are ``"User: <content>"`` and ``"Chatbot A: <content>"`` (or ``Chatbot B``) joined by
    newlines, exactly as RM-R1's data script does. The same function renders both sides, so
    the two transcripts differ only in the speaker name and the responses themselves.

    Args:
        messages: chat messages (``{"role": ..., "content": ...}``), typically the shared context
            followed by this side's assistant response.
        side: ``"A"`` or ``"B"``.

    Returns:
        The transcript string that fills ``{conversation_1}`` / ``{conversation_2}``.

    Raises:
        ValueError: on an unknown side, an unknown role or non-string content.
    """
    if side not in CHATBOT_NAMES:
        raise ValueError(f"unknown side {side!r}: expected 'A' or 'B'")
    lines = []
    for i, message in enumerate(messages):
        role = message.get("role")
        content = message.get("content")
        if role == "assistant":
            speaker = CHATBOT_NAMES[side]
        elif role in _ROLE_NAMES:
            speaker = _ROLE_NAMES[role]
        else:
            raise ValueError(f"message {i}: unknown role {role!r} (expected user, assistant or system)")
        if not isinstance(content, str):
            raise ValueError(f"message {i}: content must be a string, got {type(content).__name__}")
        lines.append(f"{speaker}: {content}")
    return "\n".join(lines)


def build_judge_messages(
    *,
    question: str | None = None,
    answer_a: str | None = None,
    answer_b: str | None = None,
    conversation_a: Sequence[dict] | None = None,
    conversation_b: Sequence[dict] | None = None,
    style: str = "instruct",
) -> list[dict]:
    """Build the chat messages a ReasRM reads for one comparison.

    Give either a single-turn item (``question``, ``answer_a``, ``answer_b``) or a multi-turn one
    (``conversation_a`` and ``conversation_b``: each the whole conversation including that side's
    final assistant turn).

    Args:
        question: the client's question (single turn).
        answer_a: response shown as Chatbot A (single turn).
        answer_b: response shown as Chatbot B (single turn).
        conversation_a: whole conversation with Chatbot A (multi-turn).
        conversation_b: whole conversation with Chatbot B (multi-turn).
        style: ``"instruct"`` (system + user message) or ``"reasoning"`` (one user message).

    Returns:
        A list of ``{"role", "content"}`` dicts ready for ``tokenizer.apply_chat_template``.

    Raises:
        ValueError: when the arguments mix the two shapes or miss a piece.
    """
    _check_style(style)
    single = (question, answer_a, answer_b)
    multi = (conversation_a, conversation_b)
    if any(x is not None for x in multi):
        if any(x is not None for x in single):
            raise ValueError("give either question/answer_a/answer_b or conversation_a/conversation_b, not both")
        if conversation_a is None or conversation_b is None:
            raise ValueError("multi-turn items need both conversation_a and conversation_b")
        user = _TEMPLATES[(style, True)].format(
            conversation_1=render_conversation(conversation_a, "A"),
            conversation_2=render_conversation(conversation_b, "B"),
        )
    else:
        if any(x is None for x in single):
            raise ValueError("single-turn items need question, answer_a and answer_b")
        for name, value in zip(("question", "answer_a", "answer_b"), single):
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string, got {type(value).__name__}")
        # str.format never re-reads substituted text, so braces inside responses are safe.
        user = _TEMPLATES[(style, False)].format(question=question, answer_a=answer_a, answer_b=answer_b)
    if style == "instruct":
        return [{"role": "system", "content": INSTRUCT_SYSTEM_PROMPT}, {"role": "user", "content": user}]
    return [{"role": "user", "content": user}]


# ---------------------------------------------------------------------------------------------
# `rmr1 prompt`: preview the exact model input.
# ---------------------------------------------------------------------------------------------


def _read_conversation(path: str) -> list[dict]:
    if Path(path).is_dir():
        raise DataError(f"{path}: is a folder, expected a JSON file of messages")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict) and "messages" in data:
        data = data["messages"]
    if not isinstance(data, list) or not data:
        raise DataError(f"{path}: expected a non-empty JSON list of {{'role', 'content'}} messages")
    for k, m in enumerate(data, 1):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise DataError(f"{path}: message {k}: expected {{'role': string, 'content': string}}, got {m!r}"[:300])
    return data


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 prompt`` (standalone when ``subparsers`` is None)."""
    description = "Print the exact messages a ReasRM reads for one comparison (RM-R1 format)."
    parser = stage_parser(subparsers, "prompt", description)
    parser.add_argument(
        "--style", choices=STYLES, default="instruct", help="instruct: system + user; reasoning: one user message"
    )
    parser.add_argument("--question", help="client question (single turn)")
    parser.add_argument("--answer-a", help="response shown as Chatbot A (single turn)")
    parser.add_argument("--answer-b", help="response shown as Chatbot B (single turn)")
    parser.add_argument("--conversation-a", metavar="FILE", help="JSON list of messages: whole conversation with Chatbot A")
    parser.add_argument("--conversation-b", metavar="FILE", help="JSON list of messages: whole conversation with Chatbot B")
    parser.add_argument("--json", action="store_true", help="print the messages as JSON (exact strings)")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> list[dict]:
    """Entry point of ``rmr1 prompt``.

    Args:
        args: parsed namespace, or an argv list (``None`` reads ``sys.argv``).

    Returns:
        The messages that were printed.
    """
    args = parse_stage_args(args, make_parser)
    multi = args.conversation_a is not None or args.conversation_b is not None
    try:
        if multi:
            if args.conversation_a is None or args.conversation_b is None:
                raise DataError("--conversation-a and --conversation-b go together")
            messages = build_judge_messages(
                conversation_a=_read_conversation(args.conversation_a),
                conversation_b=_read_conversation(args.conversation_b),
                style=args.style,
            )
        else:
            missing = [f"--{n}" for n in ("question", "answer-a", "answer-b") if getattr(args, n.replace("-", "_")) is None]
            if missing:
                raise DataError(f"missing {', '.join(missing)} (or give --conversation-a/--conversation-b)")
            messages = build_judge_messages(
                question=args.question, answer_a=args.answer_a, answer_b=args.answer_b, style=args.style
            )
    except ValueError as e:
        raise DataError(str(e)) from None
    if args.json:
        sys.stdout.write(json.dumps(messages, ensure_ascii=False, indent=2) + "\n")
    else:
        for m in messages:
            sys.stdout.write(f"===== {m['role']} =====\n{m['content']}\n")
    return messages
