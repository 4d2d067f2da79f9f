"""Call summaries published on AMI as UserEvents, for wallboards and CRM connectors."""

from __future__ import annotations

from ivr.calls.commands import Note
from ivr.calls.notes import NoteKind
from ivr.pbx.ami.link import AmiLink


class CallSummaryPublisher:
    """On each call's end: `UserEvent: IvrCallEnded` with caller, plan, outcome and duration."""

    def __init__(self, ami: AmiLink) -> None:
        self.ami = ami
        self._callers: dict[str, tuple[str, str]] = {}

    def record(self, note: Note, at: float) -> None:
        if note.kind == NoteKind.ARRIVED:
            self._callers[note.call_id] = (
                note.fields.get("caller_number", ""),
                note.fields.get("caller_name", ""),
            )
        elif note.kind == NoteKind.ENDED:
            number, name = self._callers.pop(note.call_id, ("", ""))
            # Caller text is hostile: AmiLink cleans every value before it reaches the socket.
            self.ami.user_event(
                "IvrCallEnded",
                {
                    "Uniqueid": note.call_id,
                    "CallerIDNum": number,
                    "CallerIDName": name,
                    "Plan": note.fields.get("plan", ""),
                    "Outcome": note.fields.get("outcome", ""),
                    "Seconds": note.fields.get("seconds", ""),
                },
            )
