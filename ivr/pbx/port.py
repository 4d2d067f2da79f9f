"""The PBX port: how the core's commands reach a PBX, and how its events come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ivr.calls.commands import PbxCommand
from ivr.calls.events import CallEvent

EventSink = Callable[[CallEvent], None]


class PbxPort(Protocol):
    """A PBX the core can drive. Commands for one call are carried out in the order sent."""

    def send(self, command: PbxCommand) -> None:
        """Queue `command`; failures come back as events (a vanished call as CallHungUp)."""
        ...
