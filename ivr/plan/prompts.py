"""Prompt items as the PBX plays them: named prompts per language, and `say:` text as sounds.

What may be written as an item is ivr/plan/prompt_items.py.

A `say:TEXT` item plays as `sound:ivr/<plan>/<language>/<slug>`, where the slug is a short
stable hash of the text: `ivr prompts build` makes those files, and caller-visible text never
becomes a path. `say:` items written in a node are in the plan's language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime

from ivr.plan.handoffs import SurveyNode
from ivr.plan.source import Path
from ivr.plan.spec import PlanSpec
from ivr.schedule.schedule import Schedule

SOUND = "sound:"
SAY = "say:"
OPENING = "opening:"  # opening:SCHEDULE speaks when that schedule next opens
FOLDER = "ivr"


def slug(text: str) -> str:
    """A short, stable name for a spoken text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def say_sound(plan: str, language: str, text: str) -> str:
    """The sound name (under Asterisk's sounds folder) that speaks `text`."""
    return f"{FOLDER}/{plan}/{language}/{slug(text)}"


def resolve(spec: PlanSpec, language: str, items: Sequence[str]) -> tuple[str, ...]:
    """PBX media URIs for prompt items, in the caller's `language` where a version exists."""
    media: list[str] = []
    for item in items:
        if item.startswith(SOUND):
            media.append(item)
        elif item.startswith(SAY):
            media.append(SOUND + say_sound(spec.name, spec.language, item[len(SAY) :]))
        else:
            chosen, versions = version(spec, item, language)
            for part in versions:
                if part.startswith(SAY):
                    part = SOUND + say_sound(spec.name, chosen, part[len(SAY) :])
                media.append(part)
    return tuple(media)


def opening_media(schedule: Schedule, now: float) -> list[str]:
    """When `schedule` next opens, as stock sounds: "today|tomorrow|<weekday> <hour> [min]"."""
    at = datetime.fromtimestamp(now, schedule.zone)
    opening = schedule.next_opening(at)
    if opening is None:
        return []
    opening = opening.astimezone(schedule.zone)
    days = (opening.date() - at.date()).days
    if days == 0:
        day = "sound:digits/today"
    elif days == 1:
        day = "sound:digits/tomorrow"
    else:
        day = f"sound:digits/day-{(opening.weekday() + 1) % 7}"  # day-0 is Sunday
    media = [day, "sound:digits/at", f"number:{opening.hour}"]
    media.append(f"number:{opening.minute}" if opening.minute else "sound:digits/oclock")
    return media


def version(spec: PlanSpec, key: str, language: str) -> tuple[str, list[str]]:
    """The language and items of named prompt `key`: the caller's, else the plan's, else any."""
    versions = spec.prompts.get(key)
    if not versions:
        return language, []  # a checked plan names only prompts it has
    for wanted in (language, spec.language):
        if wanted in versions:
            return wanted, versions[wanted]
    first = next(iter(versions))
    return first, versions[first]


def spoken(spec: PlanSpec) -> Iterator[tuple[str, str]]:
    """Every `say:` text of the plan with its language, once each."""
    seen: set[tuple[str, str]] = set()
    found: list[tuple[str, str]] = []
    for _, items in prompt_lists(spec):
        found += [(spec.language, i[len(SAY) :]) for i in items if i.startswith(SAY)]
    for versions in spec.prompts.values():
        for language, items in versions.items():
            found += [(language, i[len(SAY) :]) for i in items if i.startswith(SAY)]
    for queue in spec.queues.values():
        # A queue's recording announcement (`recording: {announce: ...}`, or the default).
        policy = queue.recording
        if policy is not None and policy.mode != "none":
            found += [(spec.language, i[len(SAY) :]) for i in policy.announce if i.startswith(SAY)]
    for pair in found:
        if pair not in seen:
            seen.add(pair)
            yield pair


def texts(spec: PlanSpec) -> dict[str, str]:
    """Media URI -> text, for every `say:` item of the plan (what `ivr try` shows)."""
    return {SOUND + say_sound(spec.name, lang, text): text for lang, text in spoken(spec)}


# The node fields that hold prompt lists.
PROMPT_FIELDS = (
    "prompt", "invalid", "no_input", "callback_offer", "confirm", "choose", "enter", "booked",
    "thanks", "comment",
)  # fmt: skip


def prompt_lists(spec: PlanSpec) -> list[tuple[Path, list[str]]]:
    """Every prompt list of the plan, with its path, for checks and tools."""
    lists: list[tuple[Path, list[str]]] = [
        (("goodbye",), spec.goodbye),
        (("hold_prompt",), spec.hold_prompt),
    ]
    if spec.emergency is not None:
        # Messages ops may choose when closing the line: named prompts that must exist.
        lists.append((("emergency", "messages"), list(spec.emergency.messages)))
    if "emergency" in spec.prompts:
        # The message of a closed line when ops name none (ivr/plan/emergency.py).
        lists.append((("prompts", "emergency"), ["emergency"]))
    for name, node in spec.nodes.items():
        # Only the fields the node's kind has: asking a pydantic model for one it lacks is slow.
        fields = type(node).model_fields
        for field in PROMPT_FIELDS:
            items = getattr(node, field) if field in fields else None
            if items:
                lists.append((("nodes", name, field), items))
        if isinstance(node, SurveyNode):
            for index, question in enumerate(node.questions):
                lists.append((("nodes", name, "questions", index, "prompt"), question.prompt))
    return lists
