"""The callback node: the caller confirms the number to call (or types another), hears how many
callbacks are ahead, and hangs up; their place in line is kept in the callback book."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.callbacks.book import CallbackBook, Refusal
from ivr.callbacks.task import CallbackTask, Source, valid_number
from ivr.calls.call import Call
from ivr.calls.commands import Command, Note, SaveCallback
from ivr.calls.events import CallEvent, DigitPressed, PromptFinished, TimerFired
from ivr.calls.step import Step
from ivr.plan.handoffs import CallbackNode

MAX_DIGITS = 15
ATTEMPTS = 2  # numbers typed before we give up (a dead end never: the caller ID is kept)


@dataclass
class Booking:
    """Where the caller is in booking: confirming, typing a number, or hearing it is booked."""

    stage: str  # "confirm" | "enter" | "booked" | "refused"
    digits: str = ""
    attempts: int = 0


def enter(call: Call, node: CallbackNode) -> Step:
    """Read back the caller's number and ask to confirm it; no number: ask for one.

    The caller ID is only looked at here (digits); booking checks it as the website's are."""
    if valid_number(call.caller.number):
        call.step = Booking("confirm")
        media = (
            call.media(node.prompt)
            + call.media(node.confirm)
            + (f"digits:{call.caller.number.lstrip('+')}",)
            + call.media(node.choose)
        )
        return Step([*call.play_media(media), call.start_timer(node.timeout)])
    call.step = Booking("enter")
    return Step([*call.play(list(node.prompt) + list(node.enter)), call.start_timer(node.timeout)])


def handle(
    call: Call, node: CallbackNode, book: CallbackBook, event: CallEvent, now: float
) -> Step:
    """Keys choose or type the number; silence takes the caller ID when there is one."""
    booking = call.step
    assert isinstance(booking, Booking)
    match event:
        case DigitPressed(digit=digit) if booking.stage == "confirm":
            if digit == "1":
                return _book(call, node, book, call.caller.number, now)
            if digit == "2":
                booking.stage = "enter"
                commands = call.stop_playback() + call.play(node.enter)
                return Step([*commands, call.start_timer(node.timeout)])
        case DigitPressed(digit="#") if booking.stage == "enter":
            return _typed(call, node, book, booking, now)
        case DigitPressed(digit=digit) if booking.stage == "enter" and digit.isdigit():
            booking.digits = (booking.digits + digit)[:MAX_DIGITS]
            return Step([*call.stop_playback(), call.start_timer(node.timeout)])
        case TimerFired(timer_id=timer) if timer == call.timer and booking.stage == "confirm":
            call.timer = None
            return _book(call, node, book, call.caller.number, now)
        case TimerFired(timer_id=timer) if timer == call.timer and booking.stage == "enter":
            call.timer = None
            return _typed(call, node, book, booking, now)
        case PromptFinished(playback_id=playback) if (
            playback == call.playback and booking.stage in ("booked", "refused")
        ):
            call.playback = None
            outcome = "callback" if booking.stage == "booked" else "failed"
            return Step(hang_up=True, outcome=outcome)
    return Step()


def _typed(
    call: Call, node: CallbackNode, book: CallbackBook, booking: Booking, now: float
) -> Step:
    number, booking.digits = booking.digits, ""
    # The website's rules for the number: 8 900..., 900... and 7 900... are one number.
    if not isinstance(book.dialable(number), Refusal):
        return _book(call, node, book, number, now)
    booking.attempts += 1
    if booking.attempts < ATTEMPTS:
        return _ask_again(call, node, len(number))
    if not isinstance(book.dialable(call.caller.number), Refusal):
        return _book(call, node, book, call.caller.number, now)
    return _refused(call, [call.note("callback_refused", reason="no-number")])


# A caller whose callback cannot be booked (no number we may call, a cap reached) hears why
# in stock words before the line closes: never silence.
SORRY = ("sound:im-sorry", "sound:please-try-call-later")


def _refused(call: Call, commands: list[Command]) -> Step:
    booking = call.step
    assert isinstance(booking, Booking)
    booking.stage = "refused"
    media = [*call.cancel_timer(), *call.stop_playback(), *call.play_media(SORRY)]
    return Step(commands + media)


def _ask_again(call: Call, node: CallbackNode, digits: int) -> Step:
    heard = call.note("callback_number_invalid", node=call.node, digits=str(digits))
    media = call.stop_playback() + call.play(["sound:check-number-dial-again", *node.enter])
    return Step([heard, *media, call.start_timer(node.timeout)])


def _book(call: Call, node: CallbackNode, book: CallbackBook, number: str, now: float) -> Step:
    booking = call.step
    assert isinstance(booking, Booking)
    if booking.stage == "confirm" and isinstance(book.dialable(number), Refusal):
        # The caller ID looked like a number but is none we may call: ask them for one.
        booking.stage = "enter"
        return _ask_again(call, node, len(number))
    booked = request(call, book, node.queue, number, "caller", now)
    commands: list[Command] = [*call.cancel_timer(), *call.stop_playback(), *booked]
    if not any(isinstance(c, SaveCallback) for c in booked):
        return _refused(call, booked)
    booking.stage = "booked"
    ahead = book.pending_count(node.queue) - 1
    media = call.media(node.booked)
    if ahead > 0:
        media += ("sound:queue-thereare", f"number:{ahead}", "sound:queue-callswaiting")
    return Step(commands + call.play_media(media))


def request(
    call: Call,
    book: CallbackBook,
    queue: str,
    number: str,
    source: Source,
    now: float,
    voicemail: str = "",
) -> list[Command]:
    """Book a callback for this call (its topic, language and place in line): the notes and
    the SaveCallback, or a refusal note."""
    place = call.queue_joined_at if call.queue_joined_at is not None else now
    booked_before = book.open_task(number, queue)
    task = book.request(
        number,
        queue,
        source,
        now,
        place=place,
        topic=call.tags[-1] if call.tags else "",
        language=call.language,
        voicemail=voicemail,
    )
    if isinstance(task, Refusal):
        return [call.note("callback_refused", queue=queue, reason=task.reason)]
    if task is booked_before:
        # Booked already (the same number again): kept, saved, but not a new request.
        return [
            call.note("callback_again", task=task.id, queue=queue),
            SaveCallback(task.to_json()),
        ]
    return booked_notes(call.id, task)


def booked_notes(call_id: str, task: CallbackTask) -> list[Command]:
    """What booking `task` leaves: a journal note and the task kept in the store."""
    fields = {"task": task.id, "queue": task.queue, "source": task.source, "topic": task.topic}
    return [Note(call_id, "callback_requested", fields), SaveCallback(task.to_json())]
