"""The example shop's greeting menu, driven through the core on virtual time."""

from __future__ import annotations

from ivr.store.memory import MemoryLive
from ivr.switchboard import checkpoints
from tests.unit.conftest import World, book, make_world

MENU = [
    "sound:hello",
    "sound:vm-press",
    "sound:digits/1",
    "sound:digits/2",
    "sound:vm-and",
    "sound:digits/0",
]


def test_pressing_2_plays_the_returns_prompt_then_says_goodbye(shop: World) -> None:
    call = shop.call()
    shop.wait(1)
    shop.pbx.press(call.call_id, "2")
    shop.wait(30)
    assert call.answered
    assert call.heard == [*MENU, "sound:pls-hold-while-try", "sound:goodbye"]
    assert call.ended_by == "ivr"
    choice = shop.notes.of(call.call_id, "menu_choice")[0]
    assert choice.fields == {"plan": "shop", "node": "start", "option": "2", "target": "returns"}


def test_a_key_during_the_greeting_interrupts_it(shop: World) -> None:
    call = shop.call()
    shop.wait(0.5)
    shop.pbx.press(call.call_id, "1")
    shop.wait(0)
    # The greeting stopped at once and the order-status prompt followed.
    assert call.heard[-1] == "sound:one-moment-please"
    assert not [p for p in call.playing if p.endswith("p1")]


def test_silence_replays_the_menu_then_says_goodbye(shop: World) -> None:
    call = shop.call()
    shop.wait(120)
    again = ["sound:please-try-again", *MENU]
    assert call.heard == [*MENU, *again, *again, "sound:goodbye"]
    assert call.ended_by == "ivr"
    assert shop.notes.kinds(call.call_id).count("menu_no_input") == 3
    assert shop.notes.of(call.call_id, "ended")[0].fields["outcome"] == "no_choice"


def test_a_wrong_key_says_so_and_replays_the_menu(shop: World) -> None:
    call = shop.call()
    shop.wait(5)
    shop.pbx.press(call.call_id, "7")
    shop.wait(0)
    assert call.heard == [*MENU, "sound:pbx-invalid", *MENU]
    shop.pbx.press(call.call_id, "1")
    shop.wait(30)
    assert call.heard[-2:] == ["sound:one-moment-please", "sound:goodbye"]


def test_timeout_waits_for_the_end_of_the_prompt(shop: World) -> None:
    # Prompts take 2 s each here: the 5 s timeout starts only when the 12 s greeting ends.
    call = shop.call()
    shop.wait(16.9)
    assert "sound:please-try-again" not in call.heard
    shop.wait(0.2)
    assert "sound:please-try-again" in call.heard


def test_caller_hanging_up_in_the_menu_ends_the_call_cleanly(shop: World) -> None:
    call = shop.call()
    shop.wait(3)
    shop.pbx.hang_up(call.call_id)
    shop.wait(60)
    assert shop.switchboard.calls == {}
    assert shop.notes.of(call.call_id, "ended")[0].fields["outcome"] == "hungup_in_menu"
    assert call.heard == MENU  # nothing was played to a caller who had gone


def test_a_number_without_a_plan_goes_back_to_the_pbx(shop: World) -> None:
    call = shop.call("555")
    shop.wait(1)
    assert call.ended_by == "dialplan"
    assert shop.notes.of(call.call_id, "refused")[0].fields["why"] == "no plan for this number"


def test_calls_keep_the_plan_version_they_started_on(shop: World) -> None:
    first = shop.call()
    shop.switchboard.reload(
        book(
            """
name: shop
numbers: ["100"]
nodes:
  start: {type: menu, prompt: sound:welcome-v2, options: {"1": bye}}
  bye: {type: hangup}
"""
        )
    )
    second = shop.call()
    shop.wait(0.5)
    shop.pbx.press(first.call_id, "2")
    shop.pbx.press(second.call_id, "1")
    shop.wait(30)
    assert first.heard == [*MENU, "sound:pls-hold-while-try", "sound:goodbye"]
    assert second.heard == ["sound:welcome-v2"]
    assert second.ended_by == "ivr"


def test_multi_key_options_wait_for_the_second_key() -> None:
    world = make_world(
        book(
            """
name: shop
numbers: ["100"]
nodes:
  start:
    type: menu
    prompt: sound:menu
    options: {"1": one, "12": twelve}
    inter_digit_timeout: 2
  one: {type: hangup, prompt: sound:one}
  twelve: {type: hangup, prompt: sound:twelve}
"""
        )
    )
    short, long = world.call(), world.call()
    world.pbx.press(short.call_id, "1")
    world.pbx.press(long.call_id, "1")
    world.wait(1)
    world.pbx.press(long.call_id, "2")
    world.wait(10)
    assert short.heard[-1] == "sound:one"
    assert long.heard[-1] == "sound:twelve"


def test_shutdown_hands_every_call_back_to_the_pbx_and_keeps_its_record(shop: World) -> None:
    store = MemoryLive()
    shop.driver.live = store
    call = shop.call()
    shop.switchboard.stop_accepting()
    late = shop.call()
    shop.wait(1)
    assert late.ended_by == "dialplan"
    shop.driver.run(shop.switchboard.hand_back_all())
    shop.wait(1)
    assert call.ended_by == "dialplan"
    assert shop.switchboard.calls == {}
    # Not ended: the dialplan holds the caller and the next daemon serves them from the record.
    assert shop.notes.kinds(call.call_id)[-1] == "handed_back"
    assert shop.notes.of(call.call_id, "ended") == []
    assert store.load(checkpoints.CALL)[call.call_id]["node"] == "start"
