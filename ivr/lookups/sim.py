"""A simulated shop backend on virtual time, for unit tests and `ivr try`.

Answers by URL: a JSON value with a status after a delay, or nothing at all (down).
Like the real adapter, it says ok only for a 2xx JSON object that comes within the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.calls.commands import Lookup
from ivr.calls.events import CallEvent, LookupDone
from ivr.calls.ports import EventSink
from ivr.clock import VirtualClock


@dataclass(frozen=True)
class SimAnswer:
    """What the backend says to one URL."""

    data: Any
    status: int = 200
    delay: float = 0.2


class SimBackend:
    """The LookupPort on virtual time; `requests` keeps every Lookup it was sent."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.answers: dict[str, SimAnswer] = {}
        self.default: SimAnswer | None = None  # for URLs without their own answer
        self.requests: list[Lookup] = []
        self.on_event: EventSink = lambda event: None

    def answer(self, url: str, data: Any, status: int = 200, delay: float = 0.2) -> None:
        """From now on `url` answers `data` with `status` after `delay` seconds."""
        self.answers[url] = SimAnswer(data, status, delay)

    def send(self, command: Lookup) -> None:
        """Answer later on the virtual clock, as a real backend would."""
        self.requests.append(command)
        answer = self.answers.get(command.url, self.default)
        if answer is None:
            # Connection refused: a fast failure.
            self._later(0.01, LookupDone(command.call_id, command.request_id, ok=False))
            return
        if answer.delay >= command.timeout:
            failed = LookupDone(command.call_id, command.request_id, ok=False)
            self._later(command.timeout, failed)
            return
        ok = 200 <= answer.status < 300 and isinstance(answer.data, dict)
        data = answer.data if ok else {}
        done = LookupDone(command.call_id, command.request_id, ok, answer.status, data)
        self._later(answer.delay, done)

    def _later(self, delay: float, event: CallEvent) -> None:
        self.clock.call_later(delay, lambda: self.on_event(event))
