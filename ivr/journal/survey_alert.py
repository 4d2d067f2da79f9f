"""Survey alerts: a caller's bad score (CSAT, NPS) posted at once to a webhook, with the call's
context, so a supervisor can call back while it still matters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.journal.webhook import Webhook

CONTEXT = ("queue", "agent", "topic", "caller_number", "language", "wait")
MAX_CALLS = 10_000  # calls whose context is remembered; a call that never ends can't leak memory


class SurveyAlerts:
    """A journal sink: posts a survey answer at or under its kind's threshold to `url`."""

    def __init__(self, url: str, alert_at: Mapping[str, int], timeout: float = 3.0) -> None:
        self.url = url
        self.alert_at = dict(alert_at)
        self.timeout = timeout
        self._context: dict[str, dict[str, str]] = {}
        self._hook = Webhook(url, "survey_alert", timeout)

    def record(self, note: Note, at: float) -> None:
        if note.kind == NoteKind.ANSWERED:
            self._context[note.call_id] = {k: note.fields.get(k, "") for k in CONTEXT}
            while len(self._context) > MAX_CALLS:
                del self._context[next(iter(self._context))]
        elif note.kind == NoteKind.ENDED:
            self._context.pop(note.call_id, None)
        elif note.kind == NoteKind.SURVEY_ANSWER:
            alert = self._alert(note, at)
            if alert is not None:
                self._hook.send(alert, note.call_id, kind=alert["kind"], score=str(alert["score"]))

    def _alert(self, note: Note, at: float) -> dict[str, Any] | None:
        """The alert for a survey answer, or None when the score is fine (or unreadable)."""
        kind = note.fields.get("kind", "")
        try:
            score = int(note.fields.get("score", ""))
        except ValueError:
            return None
        if kind not in self.alert_at or score > self.alert_at[kind]:
            return None
        context = self._context.get(note.call_id, {})
        return {
            "call_id": note.call_id,
            "kind": kind,
            "score": score,
            "queue": context.get("queue", ""),
            "agent": context.get("agent", ""),
            "topic": context.get("topic", ""),
            "caller_number": context.get("caller_number", ""),
            "at": datetime.fromtimestamp(at, UTC).isoformat(),
        }

    async def close(self) -> None:
        """Wait briefly for posts in flight, then close the HTTP session."""
        await self._hook.close()
