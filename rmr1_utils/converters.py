"""Raw preference datasets → preference pairs (or, for RM-R1's released format, judge tasks).

One converter per raw shape; each takes one raw record and returns a pair, ``None`` when the
record is deliberately filtered out (e.g. Skywork's ``magpie_ultra`` source), or raises
:class:`RecordError` with a reason code (counted per reason with ``--on-error skip``).

=====================  ====================================================================
format                 raw shape
=====================  ====================================================================
``skywork``            Skywork-Reward-Preference-80K-v0.2: ``chosen``/``rejected`` message
                       lists + ``source``. Single turn when both are exactly [user, assistant].
``code-preference``    Vezora/Code-Preference-Pairs: ``input``, ``accepted``, ``rejected``.
``math-step-dpo``      xinlai/Math-Step-DPO-10K: ``prompt``, ``initial_reason_steps`` +
                       ``full_chosen``/``full_rejected`` (concatenated without separator, as RM-R1 does).
``generic``            ``chosen``/``rejected`` as strings (with ``prompt``) or message lists
                       (UltraFeedback-binarized style: the prompt is in the lists).
``hh-rlhf``            Anthropic/hh-rlhf transcripts: ``"\\n\\nHuman: …\\n\\nAssistant: …"``.
``pairs``              our own pair records (``prompt``/``context``, ``chosen``, ``rejected``).
``rmr1``               RM-R1 released judge tasks: ``context_messages`` + ``winner``.
=====================  ====================================================================

How we differ from the paper: RM-R1's script asserts on malformed items and silently keeps
items whose chosen and rejected conversations have different prompts in multi-turn data; here
every such record is either an error naming the file and record or a counted skip.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from rmr1_utils.formats import WINNER_LABELS

ROLES = ("system", "user", "assistant")

#: The four domains of RM-R1's evaluation (chat, safety, math, code).
DOMAINS = ("chat", "safety", "math", "code")

#: Skywork sources that are filtered out by RM-R1's recipe.
SKYWORK_EXCLUDED_SOURCES = ("magpie_ultra",)

#: Skywork sources whose items are safety items (the rest are chat).
SKYWORK_SOURCE_DOMAINS = {"wildguard": "safety"}


class RecordError(ValueError):
    """A raw record that cannot be converted.

    Attributes:
        reason: a short code used to count skips (``missing_field``, ``empty_response``…).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _text(record: dict, key: str) -> str:
    if key not in record or record[key] is None:
        raise RecordError("missing_field", f"missing field {key!r}")
    value = record[key]
    if not isinstance(value, str):
        raise RecordError("non_string_content", f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _optional_text(record: dict, key: str) -> str | None:
    """A field that may be absent (``None`` when missing, null or empty), else must be a string.

    Checked where the record is read: ids, sources and domains end up as dictionary keys and
    group names, where a list would fail far from the record that holds it.
    """
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError("bad_field_type", f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _record_id(record: dict) -> str | int | None:
    """A record's ``id``: absent, a string or an integer (not a bool, float, list or mapping)."""
    value = record.get("id")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RecordError("bad_field_type", f"'id' must be a string or an integer, got {type(value).__name__}")
    return value


def _check_messages(messages, name: str) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise RecordError("missing_field", f"{name!r} must be a non-empty list of messages")
    clean = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise RecordError("missing_field", f"{name} message {i}: needs 'role' and 'content'")
        if m["role"] not in ROLES:
            raise RecordError("unknown_role", f"{name} message {i}: unknown role {m['role']!r}")
        if not isinstance(m["content"], str):
            raise RecordError(
                "non_string_content", f"{name} message {i}: content must be a string, got {type(m['content']).__name__}"
            )
        clean.append({"role": m["role"], "content": m["content"]})
    return clean


def _check_responses(chosen: str, rejected: str) -> None:
    for name, value in (("chosen", chosen), ("rejected", rejected)):
        if not value.strip():
            raise RecordError("empty_response", f"{name} response is empty")
    if chosen == rejected:
        raise RecordError("identical_responses", "chosen and rejected are identical")


def pair_id(source: str, prompt_or_context, chosen: str, rejected: str) -> str:
    """A stable id from the content: ``<source>-<10 hex of sha1>``."""
    digest = hashlib.sha1(json.dumps([prompt_or_context, chosen, rejected], ensure_ascii=False).encode()).hexdigest()
    return f"{source}-{digest[:10]}"


def make_pair(
    source: str,
    domain: str,
    chosen: str,
    rejected: str,
    prompt: str | None = None,
    context: list | None = None,
    id: str | None = None,
) -> dict:
    """Build a validated preference pair.

    Args:
        source: dataset/source name.
        domain: ``chat``, ``safety``, ``math`` or ``code``.
        chosen: the better final response.
        rejected: the worse final response.
        prompt: the question (single turn); or
        context: the conversation before the final response (ends with a user turn).
        id: an id (default: content hash, see :func:`pair_id`).

    Returns:
        The pair record.
    """
    _check_responses(chosen, rejected)
    if domain not in DOMAINS:
        raise RecordError("unknown_domain", f"unknown domain {domain!r} (expected one of {', '.join(DOMAINS)})")
    pair = {"id": id, "source": source, "domain": domain}
    if context is not None and not (len(context) == 1 and context[0]["role"] == "user"):
        if context[-1]["role"] != "user":
            raise RecordError("bad_context", "the conversation before the responses must end with a user turn")
        pair["context"] = context
        key = context
    else:
        question = prompt if context is None else context[0]["content"]
        if not isinstance(question, str) or not question.strip():
            raise RecordError("empty_prompt", "the prompt is empty")
        pair["prompt"] = question
        key = question
    pair["chosen"], pair["rejected"] = chosen, rejected
    pair["id"] = id or pair_id(source, key, chosen, rejected)
    return pair


def split_conversations(chosen_msgs, rejected_msgs) -> tuple[list[dict], str, str]:
    """Shared context + final responses of two whole conversations.

    Raises:
        RecordError: when a conversation does not end with an assistant turn or the two differ
            before their final turns ("different prompts").
    """
    chosen_msgs = _check_messages(chosen_msgs, "chosen")
    rejected_msgs = _check_messages(rejected_msgs, "rejected")
    for name, msgs in (("chosen", chosen_msgs), ("rejected", rejected_msgs)):
        if msgs[-1]["role"] != "assistant":
            raise RecordError("not_ending_with_assistant", f"{name} conversation does not end with an assistant turn")
        if len(msgs) < 2:
            raise RecordError("missing_field", f"{name} conversation has no prompt before the response")
    if chosen_msgs[:-1] != rejected_msgs[:-1]:
        raise RecordError("different_prompts", "chosen and rejected have different prompts")
    return chosen_msgs[:-1], chosen_msgs[-1]["content"], rejected_msgs[-1]["content"]


# ---------------------------------------------------------------------------------------------
# Converters
# ---------------------------------------------------------------------------------------------


def convert_skywork(record: dict, source: str = "skywork", domain: str | None = None) -> dict | None:
    """Skywork-Reward-Preference-80K-v0.2 → pair (``None`` for excluded sources).

    The record's own ``source`` (e.g. ``wildguard``) becomes the pair's source, prefixed with the
    dataset name, and decides the domain (safety for wildguard, else chat) unless ``domain`` is given.
    """
    item_source = _optional_text(record, "source") or "unknown"
    if item_source in SKYWORK_EXCLUDED_SOURCES:
        return None
    if "chosen" not in record or "rejected" not in record:
        raise RecordError("missing_field", "missing field 'chosen' or 'rejected'")
    context, chosen, rejected = split_conversations(record["chosen"], record["rejected"])
    return make_pair(
        source=f"{source}/{item_source}",
        domain=domain or SKYWORK_SOURCE_DOMAINS.get(item_source, "chat"),
        chosen=chosen,
        rejected=rejected,
        context=context,
    )


def convert_code_preference(record: dict, source: str = "code-preference-pairs", domain: str | None = None) -> dict:
    """Vezora/Code-Preference-Pairs (``input``, ``accepted``, ``rejected``) → pair."""
    return make_pair(
        source, domain or "code", _text(record, "accepted"), _text(record, "rejected"), prompt=_text(record, "input")
    )


def convert_math_step_dpo(record: dict, source: str = "math-step-dpo", domain: str | None = None) -> dict:
    """xinlai/Math-Step-DPO-10K → pair; each full solution = ``initial_reason_steps`` + ``full_*`` (no separator)."""
    prefix = _text(record, "initial_reason_steps")
    return make_pair(
        source,
        domain or "math",
        prefix + _text(record, "full_chosen"),
        prefix + _text(record, "full_rejected"),
        prompt=_text(record, "prompt"),
    )


def convert_generic(record: dict, source: str = "generic", domain: str | None = None) -> dict:
    """``chosen``/``rejected`` as strings (with ``prompt``) or as whole message lists → pair."""
    if "chosen" not in record or "rejected" not in record:
        raise RecordError("missing_field", "missing field 'chosen' or 'rejected'")
    chosen, rejected = record["chosen"], record["rejected"]
    if isinstance(chosen, list) or isinstance(rejected, list):
        context, chosen_text, rejected_text = split_conversations(chosen, rejected)
        return make_pair(source, domain or "chat", chosen_text, rejected_text, context=context)
    prompt = record.get("prompt")
    if isinstance(prompt, list):
        context = _check_messages(prompt, "prompt")
        return make_pair(source, domain or "chat", _text(record, "chosen"), _text(record, "rejected"), context=context)
    return make_pair(source, domain or "chat", _text(record, "chosen"), _text(record, "rejected"), prompt=_text(record, "prompt"))


_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def parse_hh_transcript(transcript: str, name: str = "transcript") -> list[dict]:
    """Split an HH-RLHF transcript (``"\\n\\nHuman: …\\n\\nAssistant: …"``) into messages."""
    if not isinstance(transcript, str):
        raise RecordError("non_string_content", f"{name} must be a string, got {type(transcript).__name__}")
    parts = _HH_TURN.split(transcript)
    if parts[0].strip() or len(parts) < 3:
        raise RecordError("bad_transcript", f"{name} is not a '\\n\\nHuman: … \\n\\nAssistant: …' transcript")
    roles = {"Human": "user", "Assistant": "assistant"}
    return [{"role": roles[speaker], "content": text.strip()} for speaker, text in zip(parts[1::2], parts[2::2])]


def convert_hh_rlhf(record: dict, source: str = "hh-rlhf", domain: str | None = None) -> dict:
    """Anthropic/hh-rlhf transcript pair → pair."""
    chosen = parse_hh_transcript(_text(record, "chosen"), "chosen")
    rejected = parse_hh_transcript(_text(record, "rejected"), "rejected")
    context, chosen_text, rejected_text = split_conversations(chosen, rejected)
    return make_pair(source, domain or "safety", chosen_text, rejected_text, context=context)


#: The fields of a pair's ``verifiable`` mapping (what the rule teacher writes a trace from).
VERIFIABLE_FIELDS = ("solution", "chosen_quote", "rejected_quote")


def check_verifiable(verifiable, chosen: str, rejected: str) -> dict:
    """Validate a pair's ``verifiable`` mapping: the judge's solution and a verbatim quote of each response.

    Args:
        verifiable: the mapping (``solution``, ``chosen_quote``, ``rejected_quote``; ``family``
            and ``type`` optional).
        chosen, rejected: the pair's responses (each quote must occur in its response).

    Returns:
        The mapping.

    Raises:
        RecordError: not a mapping, a field missing or empty, or a quote not found verbatim.
    """
    if not isinstance(verifiable, dict):
        raise RecordError("bad_verifiable", f"verifiable must be a mapping with {', '.join(VERIFIABLE_FIELDS)}")
    for name in VERIFIABLE_FIELDS:
        value = verifiable.get(name)
        if not isinstance(value, str) or not value.strip():
            raise RecordError("bad_verifiable", f"verifiable.{name} must be a non-empty string")
    for name in ("family", "type"):
        if verifiable.get(name) is not None and not isinstance(verifiable[name], str):
            raise RecordError("bad_verifiable", f"verifiable.{name} must be a string, got {type(verifiable[name]).__name__}")
    for name, response in (("chosen_quote", chosen), ("rejected_quote", rejected)):
        if verifiable[name] not in response:
            raise RecordError("bad_verifiable", f"verifiable.{name} is not a verbatim part of the response it quotes")
    return verifiable


def convert_pairs(record: dict, source: str = "local", domain: str | None = None) -> dict:
    """Our own pair records, validated (``id``/``source``/``domain`` and ``verifiable`` kept when present)."""
    context = record.get("context")
    if context is not None:
        context = _check_messages(context, "context")
    elif "prompt" not in record:
        raise RecordError("missing_field", "missing field 'prompt' or 'context'")
    pair = make_pair(
        _optional_text(record, "source") or source,
        _optional_text(record, "domain") or domain or "chat",
        _text(record, "chosen"),
        _text(record, "rejected"),
        prompt=None if context is not None else _text(record, "prompt"),
        context=context,
        id=_record_id(record),
    )
    if record.get("verifiable") is not None:
        pair["verifiable"] = check_verifiable(record["verifiable"], pair["chosen"], pair["rejected"])
    return pair


def convert_rmr1_released(record: dict, source: str = "rmr1", domain: str | None = None) -> dict:
    """RM-R1 released judge tasks or SFT traces → judge task (already rendered).

    Accepts ``context_messages`` (the released name) or ``messages`` (what ``rmr1 prepare``
    writes) plus ``winner``. When the conversation ends with an assistant message, that message
    is the released SFT trace: it is returned as ``trace`` and the task is what comes before it.
    """
    key = "context_messages" if "context_messages" in record else "messages" if "messages" in record else None
    if key is None:
        raise RecordError("missing_field", "missing field 'context_messages'")
    if "winner" not in record:
        raise RecordError("missing_field", "missing field 'winner'")
    winner = record["winner"]
    if winner not in WINNER_LABELS:
        raise RecordError("unknown_winner", f"unknown winner {winner!r} (expected {' or '.join(WINNER_LABELS)})")
    messages = _check_messages(record[key], key)
    trace = None
    if messages[-1]["role"] == "assistant" and len(messages) > 1:
        trace, messages = messages[-1]["content"], messages[:-1]
    if messages[-1]["role"] != "user":
        raise RecordError(
            "bad_context", f"{key} must end with the user message holding both responses (then optionally the trace)"
        )
    digest = hashlib.sha1(json.dumps(messages, ensure_ascii=False).encode()).hexdigest()[:10]
    record_id = _record_id(record)
    _optional_text(record, "source")  # the caller may name the task's source from it: it must be text
    task = {
        "id": record_id if record_id is not None else f"{source}-{digest}",
        "source": source,
        "domain": _optional_text(record, "domain") or domain or "chat",
        "messages": messages,
        "winner": winner,
    }
    if trace is not None:
        task["trace"] = trace
    if isinstance(record.get("verifiable"), dict):
        task["verifiable"] = record["verifiable"]
    return task


#: Converters by format name. All return pairs except ``rmr1`` (judge tasks).
CONVERTERS: dict[str, Callable[..., dict | None]] = {
    "skywork": convert_skywork,
    "code-preference": convert_code_preference,
    "math-step-dpo": convert_math_step_dpo,
    "generic": convert_generic,
    "hh-rlhf": convert_hh_rlhf,
    "pairs": convert_pairs,
    "rmr1": convert_rmr1_released,
}

#: Formats whose converter returns judge tasks instead of pairs.
TASK_FORMATS = ("rmr1",)


def detect_format(record: dict) -> str:
    """Guess a raw record's format from its keys (used for ``format: auto``).

    Raises:
        RecordError: when no known format fits.
    """
    keys = set(record)
    if {"context_messages", "winner"} <= keys or {"messages", "winner"} <= keys:
        return "rmr1"
    if {"input", "accepted", "rejected"} <= keys:
        return "code-preference"
    if {"initial_reason_steps", "full_chosen", "full_rejected"} <= keys:
        return "math-step-dpo"
    if {"chosen", "rejected"} <= keys:
        chosen = record["chosen"]
        if isinstance(chosen, str) and chosen.startswith("\n\nHuman: "):
            return "hh-rlhf"
        if "prompt" in keys or "context" in keys:
            return "pairs" if "id" in keys and isinstance(chosen, str) else "generic"
        if isinstance(chosen, list) and "source" in keys:
            return "skywork"
        return "generic"
    raise RecordError("unknown_format", f"cannot tell the format from the keys {sorted(keys)}")
