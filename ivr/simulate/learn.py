"""Traffic learned from the journal (`ivr simulate --traffic journal`): calls per number,
weekday and hour, the keys callers pressed at each menu and language choice (and how many
said nothing), their patience (from abandons) and the talk time per queue and topic (from
answered calls). Streams: one pass, small counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ivr.calls.notes import NoteKind
from ivr.plan.nodes import LanguageNode
from ivr.plan.plan import PlanBook
from ivr.reports.records import finished
from ivr.reports.tally import Sum
from ivr.simulate.traffic import Traffic
from ivr.store.port import Entry


def learn(
    entries: Iterable[Entry], start: date, end: date, timezone: str, plans: PlanBook | None = None
) -> Traffic:
    """The traffic of the journal's `entries` between `start` and `end` (days, exclusive).
    With the `plans`, the key pressed at a language choice is read back from the language
    its note names (the note has no key)."""
    tz = ZoneInfo(timezone)
    # node -> language -> the key that chooses it
    language_keys = {
        name: {language: key for key, language in node.options.items()}
        for plan in (plans.plans if plans is not None else ())
        for name, node in plan.spec.nodes.items()
        if isinstance(node, LanguageNode) and node.options
    }
    gave_up: set[tuple[str, str]] = set()  # (call, language node) whose retries ran out
    counts: dict[str, list[list[int]]] = {}
    keys: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    waited, abandoned = Sum(), 0
    talks: dict[str, Sum] = defaultdict(Sum)

    def tap(stream: Iterable[Entry]) -> Iterator[Entry]:
        for entry in stream:
            kind = entry.kind
            if kind == NoteKind.ARRIVED:
                moment = datetime.fromtimestamp(entry.at, tz)
                number = entry.fields.get("number", "")
                table = counts.setdefault(number, [[0] * 24 for _ in range(7)])
                table[moment.weekday()][moment.hour] += 1
            elif kind == NoteKind.MENU_CHOICE:
                keys[entry.fields.get("node", "")][entry.fields.get("option", "")] += 1
            elif kind == NoteKind.MENU_EXHAUSTED:
                keys[entry.fields.get("node", "")][""] += 1  # said nothing they could use
            elif kind == NoteKind.LANGUAGE_EXHAUSTED:
                gave_up.add((entry.call_id, entry.fields.get("node", "")))
            elif kind == NoteKind.LANGUAGE:
                node = entry.fields.get("node", "")
                options = language_keys.get(node)
                if (entry.call_id, node) in gave_up:
                    gave_up.discard((entry.call_id, node))
                    keys[node][""] += 1
                elif options is not None and entry.fields.get("language") in options:
                    keys[node][options[entry.fields["language"]]] += 1
            yield entry

    for record in finished(tap(entries)):
        if record.queue and record.wait is not None:
            waited.add(record.wait)
            abandoned += record.abandoned
        if record.answered and record.talk is not None:
            talks[record.queue].add(record.talk)
            if record.topic:
                talks[record.topic].add(record.talk)
            talks["default"].add(record.talk)
    weekdays = [0] * 7
    day = start
    while day < end:
        weekdays[day.weekday()] += 1
        day += timedelta(days=1)
    rates = {
        number: tuple(
            tuple(calls / weekdays[wd] if weekdays[wd] else 0.0 for calls in table[wd])
            for wd in range(7)
        )
        for number, table in counts.items()
        if number
    }
    talk = {name: s.mean for name, s in talks.items() if s.mean}
    patience = waited.total / abandoned if abandoned and waited.total > 0 else None
    return Traffic(
        timezone=timezone,
        rates=rates,
        keys={node: dict(mix) for node, mix in keys.items()},
        patience=patience,
        talk=talk or {"default": 300.0},
    )
