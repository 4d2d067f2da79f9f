"""The survey node: after the agent hangs up the caller scores the call with keys (CSAT 1..5,
NPS 0..10 where 10 is 1 then 0, or * alone), may leave a spoken comment, and is thanked.
Silence ends the survey politely; the answers given so far are kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ivr.calls.call import Call
from ivr.calls.commands import Command, Note, RecordMessage
from ivr.calls.events import CallEvent, DigitPressed, PromptFinished, RecordingDone, TimerFired
from ivr.calls.step import Step
from ivr.plan.handoffs import SurveyNode

TEN_AFTER_ONE = 2.0  # seconds a "1" of an NPS answer waits for a "0"
COMMENT_SILENCE = 4  # seconds of silence that end a comment


@dataclass
class Answers:
    """Where the caller is in the survey."""

    question: int = 0
    stage: str = "ask"  # ask | comment | thanks
    one: bool = False  # an NPS "1" that may become 10


def enter(call: Call, node: SurveyNode) -> Step:
    """Ask the first question (after the node's prompt)."""
    call.step = Answers()
    note = call.note("survey_started", survey=node.survey)
    return Step([note, *_ask(call, node, list(node.prompt))])


def handle(call: Call, node: SurveyNode, event: CallEvent) -> Step:
    """Keys answer; silence ends; the comment is recorded; the thanks ends the call."""
    answers = call.step
    assert isinstance(answers, Answers)
    match event:
        case DigitPressed(digit=digit) if answers.stage == "ask":
            return _key(call, node, answers, digit)
        case TimerFired(timer_id=timer) if timer == call.timer and answers.stage == "ask":
            call.timer = None
            if answers.one:
                return _scored(call, node, answers, 1)
            note = call.note(
                "survey_unanswered", survey=node.survey, question=str(answers.question + 1)
            )
            return _thank(call, node, [note])
        case PromptFinished(playback_id=playback) if playback == call.playback:
            call.playback = None
            if answers.stage == "comment":
                name = f"comment-{call.id}"
                return Step([RecordMessage(call.id, name, node.comment_seconds, COMMENT_SILENCE)])
            if answers.stage == "thanks":
                return Step(hang_up=True, outcome=call.outcome or "completed")
        case RecordingDone(name=name, ok=ok) if answers.stage == "comment":
            kept = [call.note("survey_comment", survey=node.survey, name=name)] if ok else []
            return _thank(call, node, kept)
    return Step()


def _key(call: Call, node: SurveyNode, answers: Answers, digit: str) -> Step:
    kind = node.questions[answers.question].kind
    if kind == "csat":
        return _scored(call, node, answers, int(digit)) if digit in "12345" else Step()
    if answers.one:
        return _scored(call, node, answers, 10 if digit == "0" else 1)
    if digit == "*":
        return _scored(call, node, answers, 10)
    if digit == "1":
        answers.one = True  # 1, or the first key of 10
        return Step([*call.stop_playback(), call.start_timer(TEN_AFTER_ONE)])
    return _scored(call, node, answers, int(digit)) if digit.isdigit() else Step()


def _scored(call: Call, node: SurveyNode, answers: Answers, score: int) -> Step:
    question = node.questions[answers.question]
    answers.one = False
    commands: list[Command] = [*call.stop_playback(), *call.cancel_timer()]
    # Built by hand: `kind` is a field of this note, and Call.note takes `kind` as its own.
    fields = {"survey": node.survey, "kind": question.kind, "score": str(score)}
    commands.append(Note(call.id, "survey_answer", fields))
    answers.question += 1
    if answers.question < len(node.questions):
        return Step(commands + _ask(call, node, []))
    if node.comment:
        answers.stage = "comment"
        return Step(commands + call.play(node.comment))
    return _thank(call, node, commands)


def _ask(call: Call, node: SurveyNode, before: list[str]) -> list[Command]:
    answers = call.step
    assert isinstance(answers, Answers)
    question = node.questions[answers.question]
    return [*call.play(before + list(question.prompt)), call.start_timer(node.timeout)]


def _thank(call: Call, node: SurveyNode, commands: Sequence[Command]) -> Step:
    answers = call.step
    assert isinstance(answers, Answers)
    answers.stage = "thanks"
    commands = [*commands, *call.stop_playback(), *call.cancel_timer()]
    if not node.thanks:
        return Step(commands, hang_up=True, outcome=call.outcome or "completed")
    return Step(commands + call.play(node.thanks))
