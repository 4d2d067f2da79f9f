# ruff: noqa: E501  (a table of whole messages reads better than strings cut in pieces)
"""Broken plans and the exact words `ivr check` says about each: file:line:column, what, the fix.

Each case is a file (or a folder of plans checked together) under broken/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.plan.errors import PlanError
from ivr.plan.load import load_book, plan_files

HERE = Path(__file__).parent

CASES: list[tuple[str, list[str]]] = [
    (
        "alias-loop.yaml",
        [
            "broken/alias-loop.yaml:2:10: error: YAML syntax: an alias refers to the block that contains it; copy the values instead of using an alias",
        ],
    ),
    (
        "bad-number.yaml",
        [
            "broken/bad-number.yaml:2:18: error: numbers.1: '12-34' is not a phone number; write digits only, with an optional leading '+', in quotes",
        ],
    ),
    (
        "bad-timezone.yaml",
        [
            "broken/bad-timezone.yaml:3:1: error: timezone: 'Moscow' is not a known time zone; write an IANA name such as Europe/Moscow",
        ],
    ),
    (
        "callback-queue-undefined.yaml",
        [
            "broken/callback-queue-undefined.yaml:4:27: error: queue 'operator' is not defined in queues:; add it under queues: at the top of the plan",
        ],
    ),
    (
        "caller-list-undefined.yaml",
        [
            "broken/caller-list-undefined.yaml:7:9: error: caller list 'vips' is not defined in callers:; add it under callers: at the top of the plan",
        ],
    ),
    (
        "collect-bad-pattern.yaml",
        [
            "broken/collect-bad-pattern.yaml:9:5: error: pattern '^[0-9{5}$' is not a regular expression: unterminated character set; check its brackets and backslashes; in YAML put it in single quotes",
        ],
    ),
    (
        "collect-never-ends.yaml",
        [
            "broken/collect-never-ends.yaml:4:3: error: nodes.start: the entry never ends: give digits: N or a terminator such as '#'",
        ],
    ),
    (
        "collect-next-unknown.yaml",
        [
            "broken/collect-next-unknown.yaml:9:5: error: 'next' goes to 'lookup_order': no such node; did you mean 'lookup'?",
        ],
    ),
    (
        "digit-quoted-and-bare.yaml",
        [
            "broken/digit-quoted-and-bare.yaml:8:5: error: nodes.start.options: option '1' is given twice (once quoted); keep one of them",
        ],
    ),
    (
        "duplicate-digit.yaml",
        [
            "broken/duplicate-digit.yaml:11:7: error: '1' is listed twice in the same block; keep one of them: YAML would silently use the last",
            "broken/duplicate-digit.yaml:12:3: warning: node 'a' cannot be reached from 'start'; link it from a menu option or another node's next, or delete it",
        ],
    ),
    (
        "goto-bad-target.yaml",
        [
            "broken/goto-bad-target.yaml:4:23: error: nodes.start.target: 'billing:' is not a node; write a node's name, or plan:node for a node of another plan",
        ],
    ),
    (
        "goto-unknown-node",
        [
            "broken/goto-unknown-node/billing.yaml:5:3: warning: node 'invoice' cannot be reached from 'start'; link it from a menu option or another node's next, or delete it",
            "broken/goto-unknown-node/shop.yaml:4:23: error: 'target' goes to 'billing:invoices': plan 'billing' has no such node; did you mean 'invoice'?",
        ],
    ),
    (
        "goto-unknown-plan",
        [
            "broken/goto-unknown-plan/shop.yaml:4:23: error: 'target' goes to plan 'biling', which is not among the plans checked; did you mean 'billing'?; check every plan together: ivr check dialplans/",
        ],
    ),
    (
        "instant-loop.yaml",
        [
            "broken/instant-loop.yaml:4:3: error: callers who reach 'start' can loop through 'start' -> 'hidden' -> 'start' at once, hearing nothing; put a play, menu or collect in the loop, or lead it elsewhere",
        ],
    ),
    (
        "language-set-and-options.yaml",
        [
            "broken/language-set-and-options.yaml:4:3: error: nodes.start: give either set: LANGUAGE or options (keys -> languages) with a prompt",
        ],
    ),
    (
        "lookup-fallback-unknown.yaml",
        [
            "broken/lookup-fallback-unknown.yaml:8:5: error: 'fallback' goes to 'operatr': no such node; did you mean 'operator'?",
        ],
    ),
    (
        "lookup-nowhere.yaml",
        [
            "broken/lookup-nowhere.yaml:4:3: error: nodes.start: a good answer leads nowhere: give next: NODE or a route",
        ],
    ),
    (
        "lookup-url-ftp.yaml",
        [
            "broken/lookup-url-ftp.yaml:6:5: error: lookup url 'ftp://127.0.0.1/orders' is not an http(s) URL; write it as http://host:port/path, for example http://127.0.0.1:8099/orders",
        ],
    ),
    (
        "lookup-url-variable.yaml",
        [
            "broken/lookup-url-variable.yaml:12:5: error: lookup url 'http://127.0.0.1:8099/orders/{order}' cannot hold variables; send call variables with params: {name: variable}",
        ],
    ),
    (
        "loop-without-way-out.yaml",
        [
            "broken/loop-without-way-out.yaml:4:3: error: callers who reach 'start' go round in a loop that never ends; give the loop a way out: a menu option or an 'exhausted' branch that leads to a hangup, queue or transfer",
            "broken/loop-without-way-out.yaml:5:3: error: callers who reach 'again' go round in a loop that never ends; give the loop a way out: a menu option or an 'exhausted' branch that leads to a hangup, queue or transfer",
        ],
    ),
    (
        "menu-option-typo.yaml",
        [
            "broken/menu-option-typo.yaml:10:7: error: option '3' goes to 'retuns': no such node; did you mean 'returns'?",
        ],
    ),
    (
        "menu-without-no-input.yaml",
        [
            "broken/menu-without-no-input.yaml:4:3: warning: menu 'start' has no no_input prompt: after silence the caller hears the prompt again without being told why; add no_input: (for example sound:please-try-again)",
        ],
    ),
    (
        "missing-name.yaml",
        [
            "broken/missing-name.yaml:1:1: error: name: required but missing; add it",
        ],
    ),
    (
        "name-twice",
        [
            "broken/name-twice/b.yaml:1:1: error: plan name 'shop' is also the name of broken/name-twice/a.yaml; give each plan its own name: `goto: plan:node` finds plans by name",
        ],
    ),
    (
        "no-start.yaml",
        [
            "broken/no-start.yaml:3:1: error: there is no node called 'start'; name the first node callers reach 'start'",
        ],
    ),
    (
        "node-without-type.yaml",
        [
            "broken/node-without-type.yaml:4:3: error: nodes.start: the node has no 'type'; set type to one of: 'menu', 'play', 'collect', 'lookup', 'language', 'when', 'tag', 'queue', 'transfer', 'voicemail', 'callback', 'survey', 'hangup', 'goto'",
        ],
    ),
    (
        "not-a-mapping.yaml",
        [
            "broken/not-a-mapping.yaml:1:1: error: a plan must be a mapping with name, numbers and nodes",
        ],
    ),
    (
        "number-twice",
        [
            "broken/number-twice/shop.yaml:2:18: error: number 101 is claimed by plan 'billing' (broken/number-twice/billing.yaml) and by plan 'shop'; a number can ring into one plan only: remove it from one of them",
        ],
    ),
    (
        "option-not-keys.yaml",
        [
            "broken/option-not-keys.yaml:7:5: error: nodes.start.options: option '12345' is not a key sequence; use 1 to 4 of 0-9, * and # (quote '*' and '#' in YAML)",
        ],
    ),
    (
        "prompt-key-typo.yaml",
        [
            "broken/prompt-key-typo.yaml:6:23: error: prompt 'greting' is not in prompts:; did you mean 'greeting'?",
            "broken/prompt-key-typo.yaml:4:3: warning: prompt 'greeting' is never used; use it in a node's prompt or delete it",
        ],
    ),
    (
        "prompt-kind-unknown.yaml",
        [
            "broken/prompt-kind-unknown.yaml:4:23: error: nodes.start.prompt: prompt 'tts:Hello' is not understood; write sound:NAME (an Asterisk sound, for example sound:hello), say:TEXT (text to speech) or the name of an entry in prompts:",
        ],
    ),
    (
        "prompt-without-default-language.yaml",
        [
            "broken/prompt-without-default-language.yaml:5:3: warning: prompt 'greeting' has no 'en' version (the plan's language); callers whose language it lacks hear the 'ru' one; add en: under it",
            "broken/prompt-without-default-language.yaml:6:3: warning: prompt 'unused' is never used; use it in a node's prompt or delete it",
        ],
    ),
    (
        "prompt-without-versions.yaml",
        [
            "broken/prompt-without-versions.yaml:4:3: error: prompts.greeting: is empty; give at least 1 entry",
        ],
    ),
    (
        "queue-bad-settings.yaml",
        [
            "broken/queue-bad-settings.yaml:4:20: error: queue 'sales': skills.sales: Input should be less than or equal to 10; see the queue settings in ivr/plan/queues.py (skills, strategy, ring_timeout, wrapup, max_wait, max_callers, exit, sla_seconds, teams, announce_every, max_misses, overflow, callback_after_abandon)",
            "broken/queue-bad-settings.yaml:4:32: error: queue 'sales': strategy: Input should be 'longest-idle', 'most-skilled', 'round-robin' or 'ring-all'; see the queue settings in ivr/plan/queues.py (skills, strategy, ring_timeout, wrapup, max_wait, max_callers, exit, sla_seconds, teams, announce_every, max_misses, overflow, callback_after_abandon)",
        ],
    ),
    (
        "queue-exit-unknown.yaml",
        [
            "broken/queue-exit-unknown.yaml:4:46: error: queue 'sales' exit goes to 'voicemal': no such node; did you mean 'voicemail'?",
        ],
    ),
    (
        "queue-undefined.yaml",
        [
            "broken/queue-undefined.yaml:6:24: error: queue 'sale' is not defined in queues:; did you mean 'sales'?",
        ],
    ),
    (
        "route-case-unknown.yaml",
        [
            "broken/route-case-unknown.yaml:9:15: error: route case 'shipped' goes to 'order_shiped': no such node; did you mean 'order_shipped'?",
        ],
    ),
    (
        "schedule-invalid.yaml",
        [
            "broken/schedule-invalid.yaml:6:14: error: schedules.shop-hours.weekly.mon-fri: '9-18' is not a time range; write HH:MM-HH:MM, e.g. 09:00-18:00",
        ],
    ),
    (
        "schedule-undefined.yaml",
        [
            "broken/schedule-undefined.yaml:11:9: error: schedule 'shop-hour' is not defined in schedules:; did you mean 'shop-hours'?",
        ],
    ),
    (
        "sound-leaves-folder.yaml",
        [
            "broken/sound-leaves-folder.yaml:4:45: error: nodes.start.prompt.1: sound name '../../../etc/passwd' may only hold letters, digits, '-', '_' and '/' between names (no '..', no leading '/')",
        ],
    ),
    (
        "tab-indent.yaml",
        [
            "broken/tab-indent.yaml:5:1: error: YAML syntax: found character '\\t' that cannot start any token; indent with spaces, not tabs",
        ],
    ),
    (
        "transfer-two-destinations.yaml",
        [
            "broken/transfer-two-destinations.yaml:4:3: error: nodes.start: give either extension: 101 or number: '+74951234567'",
        ],
    ),
    (
        "unknown-field.yaml",
        [
            "broken/unknown-field.yaml:1:1: error: numbers: required but missing; add it",
            "broken/unknown-field.yaml:2:1: error: nmbers: unknown field; did you mean 'numbers'?",
        ],
    ),
    (
        "unknown-node-type.yaml",
        [
            "broken/unknown-node-type.yaml:4:3: error: nodes.start: unknown node type 'menuu'; set type to one of: 'menu', 'play', 'collect', 'lookup', 'language', 'when', 'tag', 'queue', 'transfer', 'voicemail', 'callback', 'survey', 'hangup', 'goto'",
        ],
    ),
    (
        "unreachable-node.yaml",
        [
            "broken/unreachable-node.yaml:6:3: warning: node 'orphan' cannot be reached from 'start'; link it from a menu option or another node's next, or delete it",
        ],
    ),
    (
        "variable-never-stored.yaml",
        [
            "broken/variable-never-stored.yaml:13:14: warning: variable 'ordr' is never stored: no collect (var:) or lookup (vars:) sets it; did you mean 'order'?",
        ],
    ),
    (
        "when-bad-pattern.yaml",
        [
            "broken/when-bad-pattern.yaml:8:9: error: pattern '(+7' is not a regular expression: nothing to repeat; check its brackets and backslashes; in YAML put it in single quotes",
        ],
    ),
    (
        "when-case-tests-nothing.yaml",
        [
            "broken/when-case-tests-nothing.yaml:7:9: error: nodes.start.cases.0: the case tests nothing: give schedule, caller_in, caller_withheld, caller_prefix, var (with equals, in or matches), date or weekday",
        ],
    ),
    (
        "when-else-unknown.yaml",
        [
            "broken/when-else-unknown.yaml:11:5: error: 'else' goes to 'mian': no such node; did you mean 'main'?",
        ],
    ),
    (
        "when-var-two-tests.yaml",
        [
            "broken/when-var-two-tests.yaml:7:9: error: nodes.start.cases.0: var 'caller' needs exactly one of equals, in or matches",
        ],
    ),
    (
        "when-without-else.yaml",
        [
            "broken/when-without-else.yaml:4:3: error: nodes.start.else: required but missing; add it",
        ],
    ),
]


def problems_of(name: str) -> list[str]:
    files = plan_files([Path("broken") / name])
    try:
        _, problems = load_book(files)
    except PlanError as exc:
        problems = exc.problems
    return [str(p) for p in problems]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[name for name, _ in CASES])
def test_check_says_exactly(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(HERE)
    assert problems_of(name) == expected


def test_every_broken_plan_is_in_the_table() -> None:
    on_disk = sorted(p.name for p in (HERE / "broken").iterdir())
    assert on_disk == sorted(name for name, _ in CASES)
    assert len(CASES) >= 30


def test_a_broken_plan_with_errors_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    with pytest.raises(PlanError):
        load_book([Path("broken/menu-option-typo.yaml")])
