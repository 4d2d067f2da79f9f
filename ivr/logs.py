"""Structured logs: one line per event, key=value (or JSON), secrets and control characters out.

The journal logs every note of every call, so a line is kept cheap: its record is made
without logging's walk up the stack for the caller's file and line (no line shows them),
the time stamp is formatted once a second, values seen lately are not masked and escaped
again, and on the event loop lines are held for a tenth of a second and go out in one write
instead of a write each.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TextIO

_BARE = re.compile(r"^[A-Za-z0-9_.:/@+\-]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SHOWN_VALUES = 2048  # values remembered as shown, per formatter (then forgotten all at once)
SHOWN_LENGTH = 100  # longer values (errors, reasons) are rarely repeated: not remembered
HELD_LINES = 1000  # lines held on the event loop, past which they go at once
HOLD_SECONDS = 0.1  # the longest a line is held on the event loop
_STARTED = time.time()  # for records' relativeCreated (logging's own start is private)


def event(
    logger: logging.Logger, name: str, level: int = logging.INFO, /, **fields: object
) -> None:
    """Log event `name` with its fields."""
    if logger.isEnabledFor(level):
        log_fields(logger, name, fields, level)


def log_fields(
    logger: logging.Logger, name: str, fields: dict[str, object], level: int = logging.INFO
) -> None:
    """Log event `name` with `fields` as they are (the journal's notes: no copy)."""
    if logger.isEnabledFor(level):
        logger.handle(_EventRecord(logger.name, level, name, fields))


class _EventRecord(logging.LogRecord):
    """The record of an event, as logger.log(level, name, extra={"fields": fields}) makes it
    but for what no line shows: the caller's file, line and function, which logging walks
    the stack for."""

    def __init__(self, logger: str, level: int, name: str, fields: dict[str, object]) -> None:
        # LogRecord.__init__ is not called: it would look all those up again.
        now = time.time()
        self.name = logger
        self.msg = name
        self.args = ()
        self.levelname = logging.getLevelName(level)
        self.levelno = level
        self.pathname = self.filename = self.module = ""
        self.exc_info = self.exc_text = self.stack_info = None
        self.lineno = 0
        self.funcName = None  # type: ignore[assignment]  # as logger.log leaves it unknown
        self.created = now
        self.msecs = int((now - int(now)) * 1000) + 0.0
        self.relativeCreated = (now - _STARTED) * 1000
        self.thread = threading.get_ident() if logging.logThreads else None
        self.threadName = threading.current_thread().name if logging.logThreads else None
        self.processName = "MainProcess" if logging.logMultiprocessing else None
        self.process = os.getpid() if logging.logProcesses else None
        self.fields = fields


class _Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = [s for s in secrets if len(s) >= 4]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class _Shown:
    """Values as a line shows them (masked, then escaped by `show`), remembered: the call's
    id, plan, queue, node and agent come back in line after line. A bounded set, forgotten
    all at once when full: it does not grow with the calls or the numbers seen."""

    def __init__(self, redact: _Redactor, show: Callable[[str], str]) -> None:
        self.redact = redact
        self.show = show
        self.seen: dict[str, str] = {}

    def __call__(self, value: object) -> str:
        text = value if type(value) is str else str(value)
        shown = self.seen.get(text)
        if shown is None:
            shown = self.fresh(text)
            if len(text) <= SHOWN_LENGTH:
                if len(self.seen) >= SHOWN_VALUES:
                    self.seen.clear()
                self.seen[text] = shown
        return shown

    def fresh(self, text: str) -> str:
        """`text` shown, not remembered (a time stamp, never seen again)."""
        # Masked before escaping: a secret holding `"`, `\` or a newline is escaped into a
        # different text, which masking afterwards would not find.
        return self.show(self.redact(text))


class _Stamps:
    """`ts` values, the date and time formatted once per second."""

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def __call__(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self.second:
            self.second = second
            self.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self.text}.{int(record.msecs):03d}Z"


class KeyValueFormatter(logging.Formatter):
    """`ts=... level=info event=call.arrived call=... key=value`, values quoted and escaped."""

    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact
        self.shown = _Shown(redact, _value)
        self.stamps = _Stamps()

    def format(self, record: logging.LogRecord) -> str:
        get, show, fresh = self.shown.seen.get, self.shown, self.shown.fresh
        return " ".join(
            [
                # A text seen lately is looked up here: a call to show() costs more.
                f"{key}={(type(value) is str and get(value)) or show(value)}"
                if key != "ts"
                else f"{key}={fresh(str(value))}"
                for key, value in _pairs(record, self.stamps)
            ]
        )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def __init__(self, redact: _Redactor) -> None:
        super().__init__()
        self.redact = redact
        self.shown = _Shown(redact, _json_string)
        self.stamps = _Stamps()

    def format(self, record: logging.LogRecord) -> str:
        # As json.dumps would write the object: a key met twice keeps its first place and
        # its last value.
        fields = dict(_pairs(record, self.stamps))
        get, show, fresh = self.shown.seen.get, self.shown, self.shown.fresh
        inside = [
            f"{_json_string(key)}: {(type(value) is str and get(value)) or show(value)}"
            if key != "ts"
            else f'"ts": {fresh(str(value))}'
            for key, value in fields.items()
        ]
        return "{" + ", ".join(inside) + "}"


def _pairs(
    record: logging.LogRecord, stamp: Callable[[logging.LogRecord], str]
) -> list[tuple[str, object]]:
    pairs: list[tuple[str, object]] = [
        ("ts", stamp(record)),
        ("level", record.levelname.lower()),
        ("event", record.getMessage()),
    ]
    fields = getattr(record, "fields", None)
    if isinstance(fields, dict):
        pairs.extend(fields.items())
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        pairs.append(("error", f"{type(exc).__name__}: {exc}"))
    return pairs


def _value(value: object) -> str:
    text = str(value)
    if _BARE.fullmatch(text):
        return text
    # Quote, and escape what could break the line or fake another field.
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text) + '"'


# What json.dumps(text, ensure_ascii=False) writes for a string, without building an encoder.
_json_string: Callable[[str], str] = json.encoder.encode_basestring


class LineWriter(logging.StreamHandler[TextIO]):
    """Writes formatted lines to a stream. On the event loop, lines are held for at most
    `HOLD_SECONDS` and written together (one write instead of one per line, which cost a
    fifth of a line's work), or with the first warning or error among them; anywhere else
    (the store's thread, before the loop runs, after it stops) at once, after those held, so
    the order holds. logging.shutdown() at exit writes what is held."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.held: list[str] = []
        self.last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record; hold the line a moment, or write it now."""
        try:
            line = self.format(record)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        self.last = record
        self.held.append(line)  # the handler's lock is held (Handler.handle)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # A warning or an error goes at once: it may come before the loop stalls.
        if loop is None or record.levelno >= logging.WARNING or len(self.held) >= HELD_LINES:
            self.flush()
        elif len(self.held) == 1:
            loop.call_later(HOLD_SECONDS, self.flush)

    def flush(self) -> None:
        """Write the lines held, then flush the stream."""
        self.acquire()
        try:
            if self.held:
                text = self.terminator.join(self.held) + self.terminator
                self.held.clear()
                try:
                    self.stream.write(text)
                except RecursionError:
                    raise
                except Exception:
                    if self.last is not None:
                        self.handleError(self.last)
            super().flush()
        finally:
            self.release()

    def close(self) -> None:
        """Write what is held, then close as a StreamHandler does."""
        self.flush()
        super().close()


def flush() -> None:
    """Write the log lines held now (before a notice that must follow them)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


def setup(level: str = "info", fmt: str = "keyvalue", secrets: Iterable[str] = ()) -> None:
    """Send every log line to stderr in the chosen format, with `secrets` masked."""
    redact = _Redactor(secrets)
    handler = LineWriter(sys.stderr)
    formatter = JsonFormatter(redact) if fmt == "json" else KeyValueFormatter(redact)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No line shows the thread or process a record came from: not looked up for each one.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # Library chatter stays out.
    for noisy in ("panoramisk", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
