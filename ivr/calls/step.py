"""What a node executor answers: commands to run now, and maybe the next node to go to."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.calls.commands import Command


@dataclass(slots=True)
class Step:
    """Commands for now; `goto` names the node to enter next, `hang_up` ends the call."""

    commands: list[Command] = field(default_factory=list)
    goto: str | None = None
    hang_up: bool = False
    outcome: str = ""
