"""Every kind of journal note the core writes, the fields each carries, and what it means.

A note is `Note(call_id, kind, fields)` (ivr.calls.commands). Journals already in a store are
read back by `ivr report`, so a kind's name and its field names are a stored format: they stay
exactly as written here. Add a kind or a field here when a producer starts writing it;
tests/unit/journal/test_notes.py fails when the producers, the consumers and this list differ.

Why this module lives in ivr/calls/ and not in ivr/journal/: the kinds are the core's own
vocabulary, like `Note` itself, and the core must be able to name them. The consumers (journal/,
recordings/, pbx/, cli/; reports/ too, now) import ivr/calls/ already or safely, while ivr/calls/
must never import ivr/journal/ (a package cycle). Here, producers and consumers share one list.

Fields, as written in each spec: `name` is always there, `name?` only sometimes, and
`prefix_*` is an open family of fields (`var_*`: one per call variable).
Notes with an empty call id are desk notes, about agents and the site rather than a call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class NoteKind(StrEnum):
    """The kind of a journal note; each value is the name written in stored journals."""

    # A call's way through the plan.
    ARRIVED = "arrived"
    REFUSED = "refused"
    NODE = "node"
    PLAN = "plan"
    GOTO_FAILED = "goto_failed"
    LOOP = "loop"
    PROMPT = "prompt"
    HANGUP = "hangup"
    HANDED_BACK = "handed_back"
    RECOVERED = "recovered"
    ENDED = "ended"
    # Nodes.
    MENU_CHOICE = "menu_choice"
    MENU_NO_INPUT = "menu_no_input"
    MENU_INVALID = "menu_invalid"
    MENU_EXHAUSTED = "menu_exhausted"
    LANGUAGE = "language"
    LANGUAGE_NO_INPUT = "language_no_input"
    LANGUAGE_INVALID = "language_invalid"
    LANGUAGE_EXHAUSTED = "language_exhausted"
    COLLECTED = "collected"
    COLLECT_NO_INPUT = "collect_no_input"
    COLLECT_INVALID = "collect_invalid"
    COLLECT_EXHAUSTED = "collect_exhausted"
    WHEN = "when"
    TAG = "tag"
    LOOKUP = "lookup"
    LOOKUP_DONE = "lookup_done"
    TRANSFER = "transfer"
    TRANSFER_FAILED = "transfer_failed"
    HANDOFF = "handoff"
    # Queues and agents.
    QUEUE_FULL = "queue_full"
    QUEUE_JOIN = "queue_join"
    RING = "ring"
    RING_FAILED = "ring_failed"
    ANSWERED = "answered"
    AGENT_HUNG_UP = "agent_hung_up"
    CALLER_HUNG_UP = "caller_hung_up"
    QUEUE_ABANDONED = "queue_abandoned"
    QUEUE_EXIT = "queue_exit"
    QUEUE_CALLBACK = "queue_callback"
    OVERFLOW = "overflow"
    OVERFLOW_SKIPPED = "overflow_skipped"
    # Agents' transfers of answered calls, and what came of a call (ivr/calls/agent_transfer.py).
    AGENT_NOTE = "agent_note"
    AGENT_TRANSFER = "agent_transfer"
    AGENT_TRANSFER_ANSWERED = "agent_transfer_answered"
    AGENT_TRANSFER_DONE = "agent_transfer_done"
    AGENT_TRANSFER_CANCELLED = "agent_transfer_cancelled"
    AGENT_TRANSFER_FAILED = "agent_transfer_failed"
    AGENT_CONFERENCE = "agent_conference"
    AGENT_LEFT = "agent_left"
    DISPOSITION = "disposition"
    QUEUE_MOVED = "queue_moved"
    # Supervisors on live calls: listen, whisper, barge.
    SUPERVISION = "supervision"
    SUPERVISION_ENDED = "supervision_ended"
    # Recording of queue calls.
    RECORDING_STARTED = "recording_started"
    RECORDING_PAUSED = "recording_paused"
    RECORDING_RESUMED = "recording_resumed"
    RECORDING_FINISHED = "recording_finished"
    # The post-call survey.
    SURVEY_STARTED = "survey_started"
    SURVEY_ANSWER = "survey_answer"
    SURVEY_UNANSWERED = "survey_unanswered"
    SURVEY_COMMENT = "survey_comment"
    # Voicemail.
    VOICEMAIL_RECORDING = "voicemail_recording"
    VOICEMAIL = "voicemail"
    VOICEMAIL_FAILED = "voicemail_failed"
    # Callbacks: booked in a call or from the web, then made.
    CALLBACK_NUMBER_INVALID = "callback_number_invalid"
    CALLBACK_REQUESTED = "callback_requested"
    CALLBACK_AGAIN = "callback_again"
    CALLBACK_REFUSED = "callback_refused"
    CALLBACK_QUEUED = "callback_queued"
    CALLBACK_DIALLING = "callback_dialling"
    CALLBACK_CONNECTED = "callback_connected"
    CALLBACK_ENDED = "callback_ended"
    CALLBACK_FINISHED = "callback_finished"
    # Agents and the desk.
    FEATURE_REFUSED = "feature_refused"
    AGENT_REQUEST = "agent_request"
    SHIFT = "shift"
    # Ops controls: the line closed (an emergency) and opened again.
    LINE_CLOSED = "line_closed"
    LINE_OPENED = "line_opened"
    EMERGENCY = "emergency"


@dataclass(frozen=True, slots=True)
class NoteSpec:
    """One kind: the fields always there, those only sometimes there, and what it means."""

    kind: NoteKind
    always: frozenset[str]
    sometimes: frozenset[str]
    prefixes: tuple[str, ...]  # open families: `var_` stands for var_<any name>
    meaning: str

    def allows(self, name: str) -> bool:
        """Whether a note of this kind may carry a field called `name`."""
        return name in self.always or name in self.sometimes or name.startswith(self.prefixes)


def _spec(kind: NoteKind, fields: str, meaning: str) -> NoteSpec:
    names = fields.split()
    return NoteSpec(
        kind,
        always=frozenset(n for n in names if not n.endswith(("?", "*"))),
        sometimes=frozenset(n[:-1] for n in names if n.endswith("?")),
        prefixes=tuple(n[:-1] for n in names if n.endswith("*")),
        meaning=meaning,
    )


_SPECS = (
    # A call's way through the plan.
    _spec(NoteKind.ARRIVED, "number plan version caller_number caller_name",
          "A call came in on `number` and its plan (at `version`) took it."),
    _spec(NoteKind.REFUSED, "number why",
          "A call was handed back to the dialplan at once: shutting down, or no plan."),
    _spec(NoteKind.NODE, "node", "The call entered `node`."),
    _spec(NoteKind.PLAN, "plan version came_from",
          "A `goto: plan:node` moved the call from plan `came_from` into `plan`."),
    _spec(NoteKind.GOTO_FAILED, "node target",
          "A `goto` named a plan or node the call's book lacks: the call says goodbye."),
    _spec(NoteKind.LOOP, "node", "Too many nodes in a row without waiting: the call says goodbye."),
    _spec(NoteKind.PROMPT, "node media",
          "The caller is played `media` (PBX URIs, space-separated)."),
    _spec(NoteKind.HANGUP, "node", "The IVR hangs up, after any goodbye prompt."),
    _spec(NoteKind.HANDED_BACK, "node",
          "Shutdown: the call went back to the PBX dialplan (or stays bridged), its record kept "
          "for the next daemon."),
    _spec(NoteKind.RECOVERED, "node queue? waited? why?",
          "A restart found the call's record: served from `node` (in `queue`, `waited` s so "
          "far); with `why`, the record could not be used and the call starts anew."),
    _spec(NoteKind.ENDED, "outcome plan node seconds",
          "The call is over: how (`outcome`), where, and `seconds` since it arrived."),
    # Nodes.
    _spec(NoteKind.MENU_CHOICE, "plan node option target", "The caller chose `option` of a menu."),
    _spec(NoteKind.MENU_NO_INPUT, "node attempt", "Silence at a menu; `attempt` counts failures."),
    _spec(NoteKind.MENU_INVALID, "node attempt option", "A menu got keys that are no option."),
    _spec(NoteKind.MENU_EXHAUSTED, "node", "A menu's retries ran out."),
    _spec(NoteKind.LANGUAGE, "node language",
          "The call's language is set (chosen, set by the plan, or kept on no choice)."),
    _spec(NoteKind.LANGUAGE_NO_INPUT, "node attempt", "Silence at a language choice."),
    _spec(NoteKind.LANGUAGE_INVALID, "node attempt option", "A language choice got a wrong key."),
    _spec(NoteKind.LANGUAGE_EXHAUSTED, "node", "A language choice's retries ran out."),
    _spec(NoteKind.COLLECTED, "node var length",
          "Digits went into call variable `var`; only their count, never their value."),
    _spec(NoteKind.COLLECT_NO_INPUT, "node attempt",
          "Silence (or a terminator alone) at a collect."),
    _spec(NoteKind.COLLECT_INVALID, "node attempt length",
          "Collected digits were too few or failed the pattern."),
    _spec(NoteKind.COLLECT_EXHAUSTED, "node", "A collect's retries ran out."),
    _spec(NoteKind.WHEN, "node case target",
          "A when node decided: case number `case` (or `else`) sends the call to `target`."),
    _spec(NoteKind.TAG, "plan node tag", "The call's topic is labelled `tag`."),
    _spec(NoteKind.LOOKUP, "node method", "A lookup request went to the shop's backend."),
    _spec(NoteKind.LOOKUP_DONE, "node status result target why?",
          "The backend answered (`result` ok) or not (failed, with `why`); on to `target`."),
    _spec(NoteKind.TRANSFER, "node endpoint",
          "The PBX is asked to transfer the caller to `endpoint`."),
    _spec(NoteKind.TRANSFER_FAILED, "node reason", "The PBX could not transfer the caller."),
    _spec(NoteKind.HANDOFF, "node kind target priority",
          "No roster: the call would go to `kind` (queue) `target`; it is told and let go."),
    # Queues and agents.
    _spec(NoteKind.QUEUE_FULL, "queue", "The queue was full: the caller went to its exit."),
    _spec(NoteKind.QUEUE_JOIN, "queue priority", "The caller started waiting in `queue`."),
    _spec(NoteKind.RING, "queue agent leg task?",
          "An agent's phone rings on leg `leg` for a caller (or a callback `task`)."),
    _spec(NoteKind.RING_FAILED, "queue agent cause", "An agent's phone did not answer (`cause`)."),
    _spec(NoteKind.ANSWERED,
          "queue agent team wait sla topic language caller_number var_* transferred_by? note?",
          "An agent answered after `wait` seconds: what they should know (the screen pop); "
          "`var_*` of sensitive variables (a PIN) hold `***`; a caller an agent sent to this "
          "queue carries `transferred_by` and that agent's `note`."),
    _spec(NoteKind.AGENT_HUNG_UP, "queue agent talk", "The agent ended the talk (`talk` seconds)."),
    _spec(NoteKind.CALLER_HUNG_UP, "queue agent talk", "The caller ended the talk with an agent."),
    _spec(NoteKind.QUEUE_ABANDONED, "queue wait sla", "The caller hung up while waiting."),
    _spec(NoteKind.QUEUE_EXIT, "queue reason wait sla",
          "The caller left the queue for its exit: max wait, or an overflow step's goto."),
    _spec(NoteKind.QUEUE_CALLBACK, "queue wait sla",
          "The caller pressed the callback key: their place is kept as a callback."),
    _spec(NoteKind.OVERFLOW, "queue step action trigger",
          "An overflow step of the queue fired (`trigger`) and took its `action`."),
    _spec(NoteKind.OVERFLOW_SKIPPED, "queue step why",
          "An overflow step could not act; kept waiting."),
    # Agents' transfers and dispositions.
    _spec(NoteKind.AGENT_NOTE, "agent length",
          "The agent wrote a note (`length` characters) that travels with the call."),
    _spec(NoteKind.AGENT_TRANSFER, "agent mode to_kind to leg? talk?",
          "`agent` transfers the call (`mode` blind or warm) to a queue, agent or number `to`: "
          "the caller waits on music; a blind move to a queue ends the agent's leg (`talk`)."),
    _spec(NoteKind.AGENT_TRANSFER_ANSWERED,
          "queue agent team mode transferred_by note topic language caller_number var_*",
          "The transfer's target answered: its screen pop, with who transfers and their note."),
    _spec(NoteKind.AGENT_TRANSFER_DONE, "agent to mode talk",
          "The caller is `to`'s now; `agent`'s leg ended after `talk` seconds (wrap-up)."),
    _spec(NoteKind.AGENT_TRANSFER_CANCELLED, "agent to",
          "`agent` cancelled the consult: the caller is back with them."),
    _spec(NoteKind.AGENT_TRANSFER_FAILED, "agent to reason",
          "The target did not take the call (busy, no-answer, hung-up-in-consult, "
          "caller-hung-up, agent-hung-up): the caller is back with `agent` (or in line)."),
    _spec(NoteKind.AGENT_CONFERENCE, "agent to", "A three-way call: the caller and both agents."),
    _spec(NoteKind.AGENT_LEFT, "agent stays", "`agent` left a three-way call; `stays` goes on."),
    _spec(NoteKind.DISPOSITION, "agent queue disposition",
          "In wrap-up `agent` said what came of the call (a roster's `dispositions:`)."),
    _spec(NoteKind.QUEUE_MOVED, "queue came_from by wait",
          "Supervisor `by` moved the waiting caller from `came_from` to `queue`; their "
          "priority and `wait` so far are kept."),
    # Supervisors on live calls.
    _spec(NoteKind.SUPERVISION, "session mode supervisor phone agent queue",
          "Supervisor `supervisor` asked to `mode` (listen, whisper, barge) on the talk with "
          "`agent` from `phone`; the phone rings."),
    _spec(NoteKind.SUPERVISION_ENDED, "session mode supervisor reason seconds by?",
          "A supervision session is over (`reason`: stopped by `by`, supervisor-hung-up, "
          "no-answer, call-ended, agent-left...), `seconds` after it was asked for."),
    # Recording of queue calls.
    _spec(NoteKind.RECORDING_STARTED, "name queue agent team retention_days",
          "The bridge (both sides) is being recorded into `name`."),
    _spec(NoteKind.RECORDING_PAUSED, "name", "The recording is muted (silence) until resumed."),
    _spec(NoteKind.RECORDING_RESUMED, "name", "The recording hears the call again."),
    _spec(NoteKind.RECORDING_FINISHED, "name", "The bridge ended, and its recording with it."),
    # The post-call survey.
    _spec(NoteKind.SURVEY_STARTED, "survey", "The caller is asked the survey's first question."),
    _spec(NoteKind.SURVEY_ANSWER, "survey kind score",
          "The caller scored a question: `kind` csat (1-5) or nps (0-10)."),
    _spec(NoteKind.SURVEY_UNANSWERED, "survey question",
          "Silence at question number `question`: the survey ends politely."),
    _spec(NoteKind.SURVEY_COMMENT, "survey name",
          "The caller left a spoken comment, recorded `name`."),
    # Voicemail.
    _spec(NoteKind.VOICEMAIL_RECORDING, "name",
          "The caller's message is being recorded into `name`."),
    _spec(NoteKind.VOICEMAIL, "mailbox name seconds caller_number topic queue",
          "A message is on file in the PBX, to be fetched; `queue` books its callback."),
    _spec(NoteKind.VOICEMAIL_FAILED, "mailbox", "The message could not be recorded."),
    # Callbacks.
    _spec(NoteKind.CALLBACK_NUMBER_INVALID, "node digits",
          "The number typed for a callback was no number (`digits`: how many keys)."),
    _spec(NoteKind.CALLBACK_REQUESTED, "task queue source topic",
          "A callback task was booked (`source`: caller, abandon, voicemail or web)."),
    _spec(NoteKind.CALLBACK_AGAIN, "task queue", "The number already had an open callback: kept."),
    _spec(NoteKind.CALLBACK_REFUSED, "reason queue?",
          "No callback was booked (bad number, too many, no number at all)."),
    _spec(NoteKind.CALLBACK_QUEUED, "task queue attempt",
          "Attempt `attempt` at a callback waits in its queue's line (call id: the attempt)."),
    _spec(NoteKind.CALLBACK_DIALLING, "task queue agent leg",
          "The agent took the callback: the customer is being dialled on `leg`."),
    _spec(NoteKind.CALLBACK_CONNECTED, "task queue agent",
          "The customer answered: both are bridged."),
    _spec(NoteKind.CALLBACK_ENDED, "task queue talk", "A connected callback ended after `talk` s."),
    _spec(NoteKind.CALLBACK_FINISHED, "task queue outcome why?",
          "An attempt (or the task) is over: completed, retry, failed or expired."),
    # Agents and the desk.
    _spec(NoteKind.FEATURE_REFUSED, "endpoint code",
          "A feature code from a phone that is no agent's, or an unknown code."),
    _spec(NoteKind.AGENT_REQUEST, "agent action changed endpoint? code? reason?",
          "An agent signs in or out, pauses or resumes (by feature code, or a desk note)."),
    _spec(NoteKind.SHIFT, "team duty", "Desk note: a team went on or off duty by its shift."),
    # Ops controls.
    _spec(NoteKind.LINE_CLOSED, "plan message reason by",
          "Desk note: ops closed `plan`'s line (`*`: every plan); arriving calls hear `message`."),
    _spec(NoteKind.LINE_OPENED, "plan by reason", "Desk note: ops opened `plan`'s line again."),
    _spec(NoteKind.EMERGENCY, "plan message target",
          "The call arrived on a closed line: it hears `message`, then `target` (a node, or "
          "goodbye)."),
)  # fmt: skip

NOTES: Mapping[NoteKind, NoteSpec] = MappingProxyType({spec.kind: spec for spec in _SPECS})
"""Every note kind's spec, in the order above."""

RETRY_KINDS = frozenset(
    {
        NoteKind.MENU_NO_INPUT,
        NoteKind.MENU_INVALID,
        NoteKind.MENU_EXHAUSTED,
        NoteKind.LANGUAGE_NO_INPUT,
        NoteKind.LANGUAGE_INVALID,
        NoteKind.LANGUAGE_EXHAUSTED,
        NoteKind.COLLECT_NO_INPUT,
        NoteKind.COLLECT_INVALID,
        NoteKind.COLLECT_EXHAUSTED,
    }
)
"""A choice or a collect that went wrong: silence, bad keys, or tries run out."""

RECORDING_KINDS = frozenset(
    {
        NoteKind.RECORDING_STARTED,
        NoteKind.RECORDING_PAUSED,
        NoteKind.RECORDING_RESUMED,
        NoteKind.RECORDING_FINISHED,
    }
)
"""The life of a queue call's recording."""


def spec_of(kind: str) -> NoteSpec | None:
    """The spec of a kind as stored (a plain string), or None for a kind nobody lists."""
    try:
        return NOTES[NoteKind(kind)]
    except ValueError:
        return None
