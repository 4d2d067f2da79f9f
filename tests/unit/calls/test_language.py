"""The language node: the caller's language picks each named prompt's version."""

from __future__ import annotations

from ivr.plan.prompts import slug
from tests.unit.conftest import book, make_world

PLAN = """
name: shop
numbers: ["100"]
language: en
prompts:
  choose: {en: "say:For English press 1. Для русского нажмите 2."}
  greeting: {en: "say:Hello", ru: "say:Здравствуйте"}
  menu: {en: [sound:vm-press, sound:digits/1], ru: sound:ru-menu}
nodes:
  start:
    type: language
    prompt: choose
    options: {"1": en, "2": ru}
    no_input: sound:please-try-again
    retries: 1
    next: hello
  hello:
    type: play
    prompt: [greeting, menu, "say:Thank you"]
    next: bye
  bye: {type: hangup}
"""


def say(language: str, text: str) -> str:
    return f"sound:ivr/shop/{language}/{slug(text)}"


CHOOSE = say("en", "For English press 1. Для русского нажмите 2.")


def test_choosing_russian_plays_the_russian_versions() -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.wait(1)
    world.pbx.press(sim.call_id, "2")
    world.wait(30)
    # say: written in a node is in the plan's language, whatever the caller chose.
    assert sim.heard == [CHOOSE, say("ru", "Здравствуйте"), "sound:ru-menu", say("en", "Thank you")]
    assert world.notes.of(sim.call_id, "language")[0].fields == {"node": "start", "language": "ru"}


def test_english_stays_english() -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.pbx.press(sim.call_id, "1")
    world.wait(30)
    assert sim.heard[1:4] == [say("en", "Hello"), "sound:vm-press", "sound:digits/1"]


def test_a_prompt_without_the_callers_language_falls_back_to_the_plans() -> None:
    text = PLAN.replace(
        'greeting: {en: "say:Hello", ru: "say:Здравствуйте"}', 'greeting: {en: "say:Hello"}'
    )
    world = make_world(book(text))
    sim = world.call()
    world.pbx.press(sim.call_id, "2")
    world.wait(30)
    assert sim.heard[1:3] == [say("en", "Hello"), "sound:ru-menu"]


def test_no_choice_keeps_the_language_and_goes_on() -> None:
    world = make_world(book(PLAN))
    sim = world.call()
    world.wait(60)
    kinds = world.notes.kinds(sim.call_id)
    assert kinds.count("language_no_input") == 2
    assert "language_exhausted" in kinds
    assert world.notes.of(sim.call_id, "language")[0].fields["language"] == "en"
    assert say("en", "Hello") in sim.heard  # never a dead end: on to `next`


def test_set_switches_at_once() -> None:
    text = """
name: shop
numbers: ["100"]
prompts:
  greeting: {en: "say:Hello", ru: "say:Здравствуйте"}
nodes:
  start: {type: language, set: ru, next: hello}
  hello: {type: hangup, prompt: greeting}
"""
    world = make_world(book(text))
    sim = world.call()
    world.wait(10)
    assert sim.heard == [say("ru", "Здравствуйте")]


def test_the_play_command_carries_the_language_for_asterisk_sounds() -> None:
    world = make_world(book(PLAN))
    sent: list[str] = []
    send = world.pbx.send

    def spy(command: object) -> None:
        language = getattr(command, "language", None)
        if language:
            sent.append(language)
        send(command)  # type: ignore[arg-type]

    world.pbx.send = spy  # type: ignore[method-assign]
    world.driver.pbx = world.pbx
    sim = world.call()
    world.pbx.press(sim.call_id, "2")
    world.wait(30)
    assert sent == ["en", "ru"]  # the choice, then the greeting
