"""The core's messages are read-only: mypy (which CI runs) refuses an assignment to any
field of any event, command, leg or routing answer (ivr/message.py says why not at run time)."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from types import ModuleType

from mypy import api

from ivr.calls import commands, events, legs
from ivr.routing import results

MODULES = (commands, events, legs, results)


def _messages(module: ModuleType) -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls)
    ]


def test_every_message_field_is_read_only_to_mypy(tmp_path: Path) -> None:
    lines = ["from typing import Any"]
    expected: list[str] = []
    for module in MODULES:
        lines.append(f"import {module.__name__}")
        for cls in _messages(module):
            first = dataclasses.fields(cls)[0].name
            lines.append(f"def set_{cls.__name__}(m: {module.__name__}.{cls.__name__}, v: Any)"
                         f" -> None:\n    m.{first} = v")  # fmt: skip
            expected.append(f'"{first}" defined in "{cls.__name__}" is read-only')
    snippet = tmp_path / "assign.py"
    snippet.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out, _, status = api.run(
        ["--no-incremental", "--follow-imports=silent", "--cache-dir=/dev/null", str(snippet)]
    )
    assert status == 1, out
    missing = [message for message in expected if message not in out]
    assert len(expected) > 40  # every message class was found
    assert missing == [], out


def test_messages_compare_and_hash_by_value() -> None:
    note = commands.Note("c1", "ring", {"agent": "a1"})
    assert note == commands.Note("c1", "ring", {"agent": "a1"})
    assert hash(events.DigitPressed("c1", "1")) == hash(events.DigitPressed("c1", "1"))
    assert not hasattr(note, "__dict__")  # slotted: a typo'd attribute cannot be set
