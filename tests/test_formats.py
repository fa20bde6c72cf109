"""The judge input format is byte-exact to the released RM-R1 checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmr1_utils import formats
from rmr1_utils.errors import DataError

from .conftest import run_rmr1

CONVERSATION = [
    {"role": "user", "content": "I need a name for my bakery."},
    {"role": "assistant", "content": "How about 'Rise & Shine'?"},
    {"role": "user", "content": "Something with {braces} and 'quotes'?"},
]


def test_strings_match_reference(reference_format):
    ref = reference_format
    assert formats.INSTRUCT_SYSTEM_PROMPT == ref["instruct"]["system_prompt"]
    assert formats.INSTRUCT_USER_SINGLE_TURN == ref["instruct"]["user_single_turn"]
    assert formats.INSTRUCT_USER_MULTI_TURN == ref["instruct"]["user_multi_turn"]
    assert formats.REASONING_USER_SINGLE_TURN == ref["reasoning"]["user_single_turn"]
    assert formats.REASONING_USER_MULTI_TURN == ref["reasoning"]["user_multi_turn"]
    assert list(formats.WINNER_LABELS) == ref["labels"]["winner"]
    assert [formats.VERDICT_TAGS[w] for w in formats.WINNER_LABELS] == ref["labels"]["verdict_tags"]


@pytest.mark.parametrize("style", formats.STYLES)
def test_single_turn_messages_byte_exact(reference_format, style):
    q, a, b = "What is 2+2? Use {question} literally.", "4 {answer_b}", "5\n\nsure"
    messages = formats.build_judge_messages(question=q, answer_a=a, answer_b=b, style=style)
    user = reference_format[style]["user_single_turn"].format(question=q, answer_a=a, answer_b=b)
    if style == "instruct":
        assert messages == [
            {"role": "system", "content": reference_format["instruct"]["system_prompt"]},
            {"role": "user", "content": user},
        ]
    else:
        assert messages == [{"role": "user", "content": user}]
    # Placeholders inside responses are never substituted a second time.
    assert "4 {answer_b}" in messages[-1]["content"]


@pytest.mark.parametrize("style", formats.STYLES)
def test_multi_turn_messages_byte_exact(reference_format, style):
    conv_a = [*CONVERSATION, {"role": "assistant", "content": "Try 'Brace Yourself Bakery'."}]
    conv_b = [*CONVERSATION, {"role": "assistant", "content": "No."}]
    messages = formats.build_judge_messages(conversation_a=conv_a, conversation_b=conv_b, style=style)
    # The transcript convention of the reference: 'User: ...' / 'Chatbot A: ...' joined by newlines.
    expected_1 = "\n".join(f"{'User' if m['role'] == 'user' else 'Chatbot A'}: {m['content']}" for m in conv_a)
    expected_2 = "\n".join(f"{'User' if m['role'] == 'user' else 'Chatbot B'}: {m['content']}" for m in conv_b)
    user = reference_format[style]["user_multi_turn"].format(conversation_1=expected_1, conversation_2=expected_2)
    assert messages[-1] == {"role": "user", "content": user}
    assert len(messages) == (2 if style == "instruct" else 1)


def test_one_renderer_names_both_sides_identically():
    conv = [*CONVERSATION, {"role": "assistant", "content": "Same reply."}]
    a = formats.render_conversation(conv, "A")
    b = formats.render_conversation(conv, "B")
    assert a.replace("Chatbot A", "Chatbot B") == b
    assert "Chabot" not in a + b


def test_render_conversation_rejects_bad_messages():
    with pytest.raises(ValueError, match="unknown role 'tool'"):
        formats.render_conversation([{"role": "tool", "content": "x"}], "A")
    with pytest.raises(ValueError, match="content must be a string"):
        formats.render_conversation([{"role": "user", "content": ["x"]}], "A")
    with pytest.raises(ValueError, match="unknown side"):
        formats.render_conversation(CONVERSATION, "C")


def test_build_rejects_mixed_or_partial_arguments():
    with pytest.raises(ValueError, match="not both"):
        formats.build_judge_messages(
            question="q", answer_a="a", answer_b="b", conversation_a=CONVERSATION, conversation_b=CONVERSATION
        )
    with pytest.raises(ValueError, match="need question, answer_a and answer_b"):
        formats.build_judge_messages(question="q", answer_a="a")
    with pytest.raises(ValueError, match="unknown prompt style"):
        formats.build_judge_messages(question="q", answer_a="a", answer_b="b", style="chatty")


@pytest.mark.parametrize("style", formats.STYLES)
def test_cli_prompt_json_is_byte_exact(reference_format, style):
    q, a, b = "Is 17 prime?", "Yes, 17 is prime.", "No, 17 = 3 × 6."
    result = run_rmr1("prompt", "--style", style, "--question", q, "--answer-a", a, "--answer-b", b, "--json")
    assert result.returncode == 0, result.stderr
    messages = json.loads(result.stdout)
    user = reference_format[style]["user_single_turn"].format(question=q, answer_a=a, answer_b=b)
    assert messages[-1]["content"] == user
    if style == "instruct":
        assert messages[0] == {"role": "system", "content": reference_format["instruct"]["system_prompt"]}


def test_cli_prompt_multi_turn_from_files(tmp_path, reference_format):
    conv_a = [*CONVERSATION, {"role": "assistant", "content": "A's reply"}]
    conv_b = [*CONVERSATION, {"role": "assistant", "content": "B's reply"}]
    (tmp_path / "a.json").write_text(json.dumps(conv_a))
    (tmp_path / "b.json").write_text(json.dumps(conv_b))
    result = run_rmr1(
        "prompt", "--conversation-a", str(tmp_path / "a.json"), "--conversation-b", str(tmp_path / "b.json"), "--json"
    )
    assert result.returncode == 0, result.stderr
    expected = formats.build_judge_messages(conversation_a=conv_a, conversation_b=conv_b)
    assert json.loads(result.stdout) == expected
    assert expected[1]["content"].startswith(reference_format["instruct"]["user_multi_turn"].split("{conversation_1}")[0])


def test_cli_prompt_errors_are_one_line(tmp_path):
    result = run_rmr1("prompt", "--question", "q", "--answer-a", "a")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "rmr1 prompt: error: missing --answer-b (or give --conversation-a/--conversation-b)"
    ]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run_rmr1("prompt", "--conversation-a", str(bad), "--conversation-b", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "not valid JSON" in lines[0]


def test_main_in_process_returns_messages(capsys):
    messages = formats.main(["--style", "reasoning", "--question", "q", "--answer-a", "a", "--answer-b", "b"])
    assert messages == formats.build_judge_messages(question="q", answer_a="a", answer_b="b", style="reasoning")
    assert "===== user =====" in capsys.readouterr().out
    with pytest.raises(DataError):
        formats.main(["--conversation-a", "x.json"])


# The four-way and rating prompts reuse the pairwise prompt's pieces; each piece's text is written once.
PIECES = ("TASK_TYPES", "SOLVE_STEP", "RUBRIC_STEPS", "OBJECTIVITY_NOTES", "OUTPUT_FORMATS_HEAD", "CHAT_FORMAT_HEAD")
# sha256 of each composed prompt as recorded runs used it (RewardBench 2's four-way and ratings runs):
# sharing the pieces must not change a byte of them.
COMPOSED_SHA256 = {
    "four-way": "4aa5f7e6b0fbb2f6",
    "rating": "85fad6f046a0ab3c",
    "rating, ties": "ca9f73ccec91cfc5",
}


def test_prompt_pieces_are_shared_and_written_once():
    import hashlib
    import re

    from rmr1_utils import fourway, rating

    composed = {
        "four-way": fourway._SYSTEM_PROMPT,
        "rating": rating.rating_system_prompt(),
        "rating, ties": rating.rating_system_prompt(ties=True),
    }
    for name, text in composed.items():
        assert hashlib.sha256(text.encode()).hexdigest()[:16] == COMPOSED_SHA256[name], name
    for piece in PIECES:
        assert getattr(formats, piece) in formats.INSTRUCT_SYSTEM_PROMPT, piece
    assert all(getattr(formats, p) in composed["four-way"] for p in PIECES)
    assert all(getattr(formats, p) in composed["rating"] for p in ("TASK_TYPES", "SOLVE_STEP", "OUTPUT_FORMATS_HEAD"))
    # No module writes a piece's longest line out again as a literal (the whole package's source is searched;
    # the rating prompt's Chat format differs from CHAT_FORMAT_HEAD in its rubric line, so that line is the probe).
    package = Path(formats.__file__).parent
    for piece in PIECES:
        line = "  detailed rubric items" if piece == "CHAT_FORMAT_HEAD" else max(getattr(formats, piece).splitlines(), key=len)
        literal = re.compile(re.escape(f'"{line}' + "\\n" + '"'))
        writers = [p.name for p in package.rglob("*.py") if literal.search(p.read_text(encoding="utf-8"))]
        assert writers == ["formats.py"], (piece, writers)
