"""The voicemail node: a message is kept (noted, a callback booked) only once recording began;
a caller who hangs up during the greeting left nothing."""

from __future__ import annotations

import pytest

from ivr.callbacks.book import CallbackBook, CallbackRules
from ivr.calls.events import Caller, PromptFinished, RecordingDone
from ivr.pbx.sim.pbx import SimCall
from ivr.routing.desk import Desk
from ivr.routing.roster import parse_roster
from tests.unit.conftest import World, book, make_world

PLAN = """
name: shop
numbers: ["100"]
timezone: Europe/Moscow
queues:
  returns: {skills: {returns: 5}}
nodes:
  start: {type: voicemail, mailbox: shop, queue: returns, prompt: [sound:vm-intro, sound:beep]}
"""
ROSTER = """
teams:
  shop: {kind: in-house}
agents:
  - {id: agent1, name: Anna, endpoint: PJSIP/agent1, team: shop, skills: {returns: 5}}
"""
CUSTOMER = Caller("+79991234567", "Ivan")


def _world() -> World:
    plans = book(PLAN)
    desk = Desk(parse_roster((ROSTER, "roster.yaml")), plans.queue_specs())
    # Prompts of 2 s: the greeting (two sounds) lasts 4 s, then the beep and the recording.
    return make_world(plans, desk=desk, callback_book=CallbackBook(CallbackRules()))


def test_a_caller_who_hangs_up_during_the_greeting_leaves_no_message_and_no_callback() -> None:
    world = _world()
    call = world.call("100", CUSTOMER)
    world.wait(3)  # still in the greeting's second sound
    world.pbx.hang_up(call.call_id)
    world.wait(1)
    assert call.recorded == []
    kinds = world.notes.kinds(call.call_id)
    assert "voicemail" not in kinds and "callback_requested" not in kinds
    assert world.switchboard.callback_book.pending() == []
    [ended] = world.notes.of(call.call_id, "ended")
    assert ended.fields["outcome"] == "hungup_in_menu"  # as anywhere else in the plan


def _hang_up_at_the_beep(world: World, recording_fails: bool) -> SimCall:
    """As Asterisk does it: the greeting ends as the caller goes, the recording is asked for
    and (when `recording_fails`) refused at once, then the hang-up arrives."""
    call = world.call("100", CUSTOMER)
    world.wait(3)
    live = world.switchboard.calls[call.call_id]
    assert live.playback is not None
    world.driver.feed(PromptFinished(call.call_id, live.playback))
    assert world.notes.kinds(call.call_id)[-1] == "voicemail_recording"
    if recording_fails:
        world.driver.feed(RecordingDone(call.call_id, f"vm-{call.call_id}", ok=False))
    world.pbx.hang_up(call.call_id)
    world.wait(2)
    return call


@pytest.mark.parametrize("recording_fails", [False, True])
def test_a_hang_up_that_ends_the_greeting_on_its_way_is_no_message_and_no_failure(
    recording_fails: bool,
) -> None:
    world = _world()
    call = _hang_up_at_the_beep(world, recording_fails)
    kinds = world.notes.kinds(call.call_id)
    assert "voicemail" not in kinds and "callback_requested" not in kinds
    assert "voicemail_failed" not in kinds
    assert world.switchboard.callback_book.pending() == []
    [ended] = world.notes.of(call.call_id, "ended")
    assert ended.fields["outcome"] == "hungup_in_menu"


@pytest.mark.parametrize(("into_the_recording", "told_after"), [(0.0, 1.0), (2.0, 0.0)])
def test_a_recording_that_fails_while_the_caller_stays_is_a_failure(
    into_the_recording: float, told_after: float
) -> None:
    world = _world()
    call = world.call("100", CUSTOMER)
    world.wait(4 + into_the_recording)  # the greeting lasts 4 s
    assert call.recorded == [f"vm-{call.call_id}"]
    world.driver.feed(RecordingDone(call.call_id, f"vm-{call.call_id}", ok=False))
    # Refused at once, it may be a hang-up on its way: a failure only if the caller stays.
    world.wait(told_after - 0.1 if told_after else 0)
    assert ("voicemail_failed" in world.notes.kinds(call.call_id)) == (not told_after)
    world.wait(0.2)
    assert "voicemail_failed" in world.notes.kinds(call.call_id)
    world.wait(2)
    assert call.ended_by == "ivr"
    [ended] = world.notes.of(call.call_id, "ended")
    assert ended.fields["outcome"] == "failed"
    assert world.switchboard.callback_book.pending() == []


def test_a_caller_who_hangs_up_while_recording_leaves_a_message_and_is_called_back() -> None:
    world = _world()
    call = world.call("100", CUSTOMER)
    world.wait(7)  # the greeting is over at 4 s: 3 s of message
    assert call.recorded == [f"vm-{call.call_id}"]
    world.pbx.hang_up(call.call_id)
    world.wait(1)
    [message] = world.notes.of(call.call_id, "voicemail")
    assert message.fields["name"] == f"vm-{call.call_id}"
    assert message.fields["seconds"] == "3.0"
    [task] = world.switchboard.callback_book.pending()
    assert task.number == "+79991234567" and task.voicemail == f"vm-{call.call_id}"
    [ended] = world.notes.of(call.call_id, "ended")
    assert ended.fields["outcome"] == "voicemail"
