"""Quote faithfulness, solution agreement and rubric presence (:mod:`rmr1_utils.faithfulness`) on
hand-built judgements, near-misses included; the log summary against a direct bootstrap; the GRPO
penalty on real judge prompts."""

from __future__ import annotations

import pytest

from rmr1_utils.curriculum import curriculum_pairs
from rmr1_utils.data import pair_to_judge_task
from rmr1_utils.faithfulness import (
    answer_in_response,
    check_judgement,
    check_record,
    faithfulness_summary,
    final_answer,
    format_faithfulness,
    quote_found,
    responses_from_messages,
    shown_responses,
)
from rmr1_utils.formats import build_judge_messages
from rmr1_utils.items import item_of
from rmr1_utils.rewards import quote_faithfulness_penalty
from rmr1_utils.rule_teacher import rule_trace
from rmr1_utils.stats import bootstrap_mean

A = "The capital of Australia is Canberra. It has been the seat of government since 1927."
B = "The capital of Australia is Sydney, its largest city."


def reasoning(quote_a: str, quote_b: str, verdict: str = "A", solution: str = "The capital of Australia is Canberra.") -> str:
    return (
        f"<type>Reasoning</type>\n<solution>{solution}</solution>\n<eval>A: <quote_A>{quote_a}</quote_A> "
        f"B: <quote_B>{quote_b}</quote_B></eval>\n<answer>[[{verdict}]]</answer>"
    )


@pytest.mark.parametrize(
    ("quote", "response", "found"),
    [
        ("Canberra. It has been", A, True),  # verbatim
        ("Canberra.\n   It  has\tbeen", A, True),  # whitespace differs: normalised
        ("the seat of government since 1927", A, True),  # a trailing full stop left out
        ("“the seat of government since 1927.”", A, True),  # edge quotation marks and punctuation
        ("Canberra, It has been", A, False),  # inner punctuation changed
        ("the capital of australia", A, False),  # case differs
        ("Canberra It has been", A, False),  # inner punctuation dropped
        ("", A, False),  # empty quote: cites nothing
        (" .. ", A, False),  # only punctuation: cites nothing
        ("Sydney", A, False),  # the other response's words
        ("12 + 13 = 25.", "12 + 13 = 35.", False),  # the issue's example, one digit off
    ],
)
def test_the_matching_rule_on_near_misses(quote, response, found):
    assert quote_found(quote, response) is found


def test_a_faithful_reasoning_judgement():
    check = check_judgement(reasoning("The capital of Australia is Canberra.", "is Sydney"), A, B, verifiable=True)
    assert [q.found for q in check.quotes] == [True, True]
    assert check.faithful_share == 1.0 and not check.fabricated
    assert check.solution_answer == "The capital of Australia is Canberra" and check.solution_agrees is True
    assert check.rubric_present is None


def test_a_quote_of_the_other_response_is_fabricated_and_flagged():
    check = check_judgement(reasoning("is Sydney", "is Sydney", verdict="B"), A, B, verifiable=True)
    assert [(q.side, q.found, q.in_other) for q in check.quotes] == [("A", False, True), ("B", True, False)]
    assert check.faithful_share == 0.5 and check.fabricated
    assert check.solution_agrees is False  # the verdict names B, which does not say Canberra


def test_an_empty_quote_and_a_judgement_without_quotes():
    empty = check_judgement(reasoning("", "is Sydney"), A, B)
    assert [q.found for q in empty.quotes] == [False, True] and empty.fabricated
    none = check_judgement("<type>Chat</type><rubric>1. Accuracy</rubric><eval>A is right.</eval><answer>[[A]]</answer>", A, B)
    assert none.quotes == [] and none.faithful_share is None and not none.fabricated
    assert none.rubric_present is True and none.solution_agrees is None


def test_the_issues_fabricated_quote_example():
    """The shipped judge's arithmetic judgement quoted in issue 26: A says 35, its quote_A says 25."""
    text = (
        "<type>Reasoning</type>\n<solution>12 + 13 = 25.</solution>\n<eval>Chatbot A gives my solution: "
        "<quote_A>12 + 13 = 25.</quote_A> Chatbot B does not: <quote_B>12 + 13 = 25.</quote_B></eval>\n<answer>[[A]]</answer>"
    )
    check = check_judgement(text, "12 + 13 = 35.", "12 + 13 = 25.")
    assert check.fabricated and check.n_faithful == 1 and check.quotes[0].in_other
    assert check.solution_answer == "25" and check.solution_agrees is False  # numeric: checkable without `verifiable`


def test_chat_rubric_presence():
    chat = (
        "<type>Chat</type>\n<rubric>\n<justify>why</justify>\n</rubric>\n"
        "<eval><quote_A>Canberra</quote_A></eval><answer>[[A]]</answer>"
    )
    assert check_judgement(chat, A, B).rubric_present is False  # only a justification: no rubric items
    assert check_judgement(chat.replace("<justify>", "1. Accuracy (100%)\n<justify>"), A, B).rubric_present is True


@pytest.mark.parametrize(
    ("solution", "verifiable", "answer"),
    [
        ("1 km is 1000 m, so 5 km is 5000 m.", False, "5000"),
        ("Tom has 3 × 12 = 36, then 36 − 7 = 29 apples.", False, "29"),
        ("The total is 1,250.", False, "1250"),
        ("The last word is river.", True, "The last word is river"),
        ("The last word is river.", False, None),  # neither numeric nor verifiable: not checkable
        ("   ", True, None),
    ],
)
def test_final_answer(solution, verifiable, answer):
    assert final_answer(solution, verifiable) == answer


def test_answers_compare_numbers_by_value_and_text_without_case():
    assert answer_in_response("5000", "5 km is 5,000 m.") and not answer_in_response("500", "5 km is 5000 m.")
    assert answer_in_response("2.5", "It is 2.50 litres.")
    assert answer_in_response("The last word is river", "the last word is   river.")


@pytest.mark.parametrize("style", ["instruct", "reasoning"])
def test_responses_are_read_back_from_every_prompt_template(style):
    single = build_judge_messages(question="Q?", answer_a="first\nline two", answer_b="[second]", style=style)
    assert responses_from_messages(single) == ("first\nline two", "[second]")
    multi = build_judge_messages(
        conversation_a=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello A"}],
        conversation_b=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello B"}],
        style=style,
    )
    assert responses_from_messages(multi) == ("User: hi\nChatbot A: hello A", "User: hi\nChatbot B: hello B")
    assert responses_from_messages([{"role": "user", "content": "not a judge prompt"}]) is None


def test_rule_teacher_traces_are_faithful_and_agree():
    """The teacher's traces quote verbatim and state the winner's answer: every check passes on them."""
    for pair in curriculum_pairs(["last-word", "units", "count-of", "capital"], 12, seed=3):
        for position in ("A", "B"):
            task = pair_to_judge_task(pair, position)
            check = check_judgement(
                rule_trace(pair["verifiable"], task["winner"]), *responses_from_messages(task["messages"]), True
            )
            assert check.n_quotes == 2 and not check.fabricated and check.solution_agrees is True, pair["id"]


def _log() -> list[dict]:
    """A both-orders log of three pairs: faithful and right, fabricated and wrong, no quotes and right."""
    lines = []
    for k, (text_a, verdict) in enumerate([(reasoning("Canberra", "Sydney"), "A"), (reasoning("Sydney", "Sydney", "B"), "B"),
                                           ("<answer>[[A]]</answer>", "A")]):  # fmt: skip
        for order in (0, 1):
            lines.append({"key": f"p{k}-{order}", "id": f"p{k}", "benchmark": "pairs", "subset": "s", "domain": "chat",
                          "completion": text_a, "correct": verdict == "A", "better_position": "A", "response_a": A,
                          "response_b": B, "verifiable": True})  # fmt: skip
    return lines


def test_summary_matches_a_direct_bootstrap_by_item():
    log = _log()
    summary = faithfulness_summary(log, item_of, resamples=500, seed=3)
    assert summary["judgements"] == 6 and summary["quotes"] == 8 and summary["faithful_quotes"] == 6
    values = [float(q.found) for line in log for q in check_record(line).quotes]
    items = [item_of(line) for line in log for _ in check_record(line).quotes]
    assert summary["faithful_share_ci"] == {**bootstrap_mean(values, items, 500, 3).to_dict(), "unit": "quotes"}
    assert summary["faithful_share_ci"]["clusters"] == 2  # two quoting pairs, both orders together
    assert summary["fabricated_rate"]["value"] == 0.5
    assert summary["accuracy_faithful"]["value"] == 1.0 and summary["accuracy_faithful"]["n"] == 2
    assert summary["accuracy_fabricated"]["value"] == 0.0 and summary["accuracy_no_quotes"]["n"] == 2
    assert summary["solution_agreement"]["n"] == 4
    text = format_faithfulness(summary)
    assert "faithful quotes 0.750" in text and "of 8 quotes in 6 judgements" in text
    assert faithfulness_summary([{k: v for k, v in line.items() if k != "response_a"} for line in log], item_of) is None


def test_shown_responses_follow_the_better_position():
    pair = {"chosen": "good", "rejected": "bad", "verifiable": {"solution": "x"}}
    assert shown_responses(pair, "B") == {"response_a": "bad", "response_b": "good", "verifiable": True}


def test_penalty_is_minus_the_fabricated_share_on_real_prompts():
    pair = curriculum_pairs(["capital"], 1, seed=0)[0]
    task = pair_to_judge_task(pair, "A")
    right, wrong = pair["chosen"], pair["rejected"]
    completions = [
        reasoning(right, wrong),  # both quotes found
        reasoning(wrong, wrong),  # quote_A is B's text: half fabricated
        reasoning("made up", "also made up"),  # none found
        "<answer>[[A]]</answer>",  # no quotes: no penalty
        [{"role": "assistant", "content": reasoning(right, wrong)}],  # conversational completion
    ]
    assert quote_faithfulness_penalty(completions, [task["messages"]] * 5) == [0.0, -0.5, -1.0, 0.0, 0.0]
    assert quote_faithfulness_penalty(["<quote_A>x</quote_A>"], ["a plain prompt"]) == [0.0]  # not a judge prompt
    with pytest.raises(ValueError, match="2 completions but 1 prompts"):
        quote_faithfulness_penalty(["a", "b"], ["p"])


def test_pairs_comparisons_keep_the_known_answer(tmp_path):
    """The evaluation log's ``verifiable`` flag needs the pair's field to survive loading."""
    from rmr1_utils.benchmarks import load_comparisons
    from rmr1_utils.data import write_jsonl

    pairs = curriculum_pairs(["last-item"], 2, seed=1, part="test")
    path = write_jsonl(tmp_path / "p.jsonl", [*pairs, {k: v for k, v in pairs[0].items() if k != "verifiable"} | {"id": "x"}])
    flags = [shown_responses(c["pair"], "A")["verifiable"] for c in load_comparisons("pairs", path)]
    assert flags == [True, True, False]
