"""Log lines: secrets masked whatever characters they hold, one event per line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.logs import (
    HOLD_SECONDS,
    SHOWN_LENGTH,
    JsonFormatter,
    KeyValueFormatter,
    LineWriter,
    _Redactor,
    _value,
    event,
    log_fields,
)


def _record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("ivr", logging.ERROR, "", 0, "ari.failed", None, None)
    record.fields = fields
    return record


@pytest.mark.parametrize("secret", ['pa"ss-word', "back\\slash-pw", "new\nline-pw", "tab\tpw12"])
def test_a_secret_with_quotes_backslashes_or_newlines_is_masked(secret: str) -> None:
    record = _record(error=f"login refused for ivr:{secret} at pbx")
    for formatter in (KeyValueFormatter(_Redactor([secret])), JsonFormatter(_Redactor([secret]))):
        line = formatter.format(record)
        assert "***" in line
        for piece in secret.replace("\\", "\n").replace('"', "\n").splitlines():
            if len(piece) >= 4:
                assert piece not in line, (formatter, line)


@given(st.text(min_size=4, max_size=30).filter(lambda s: s.strip() == s and len(s.strip()) >= 4))
def test_no_secret_survives_either_format(secret: str) -> None:
    record = _record(error=f"<{secret}>", url=f"http://u:{secret}@pbx")
    line = KeyValueFormatter(_Redactor([secret])).format(record)
    assert secret not in line
    assert secret not in line.encode().decode("unicode_escape", errors="ignore")
    fields = json.loads(JsonFormatter(_Redactor([secret])).format(record))
    assert all(secret not in value for value in fields.values())


# --- the lines are the same as the formatters' before they were made cheap (issue 14) ---


def _old_pairs(record: logging.LogRecord) -> list[tuple[str, object]]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    pairs: list[tuple[str, object]] = [
        ("ts", f"{stamp}.{int(record.msecs):03d}Z"),
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


def _old_keyvalue(redact: _Redactor, record: logging.LogRecord) -> str:
    return " ".join(f"{key}={_value(redact(str(value)))}" for key, value in _old_pairs(record))


def _old_json(redact: _Redactor, record: logging.LogRecord) -> str:
    fields = {key: redact(str(value)) for key, value in _old_pairs(record)}
    return json.dumps(fields, ensure_ascii=False)


SECRET = "hunter22-secret"
KEYS = st.sampled_from(["call", "queue", "ts", "event", "level", "error", "caller_name", "n"])
VALUES = st.one_of(
    st.builds(lambda a, b: a + SECRET + b, st.text(max_size=3), st.text(max_size=3)),
    st.text(max_size=12),
    st.text(min_size=SHOWN_LENGTH - 2, max_size=SHOWN_LENGTH + 20),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["sim-1", "returns", "hunter22-secret", 'a "quoted" \\ value', "é\u2028\x85"]),
)


@given(
    st.lists(st.dictionaries(KEYS, VALUES, max_size=6), min_size=1, max_size=8),
    st.lists(st.sampled_from(["é\u2028\x85", "abc", "12:3", 'x"\\y']), max_size=2),
    st.floats(min_value=0, max_value=4e9),
)
def test_lines_are_written_as_before_whatever_the_fields_and_the_secrets(
    records: list[dict[str, object]], secrets: list[str], created: float
) -> None:
    # Several records through one formatter, then again: values shown before come from
    # its memory and must read exactly as when first shown.
    redact = _Redactor([SECRET, *secrets])
    keyvalue, json_lines = KeyValueFormatter(redact), JsonFormatter(redact)
    for fields in [*records, *records]:
        record = _record(**fields)
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        assert keyvalue.format(record) == _old_keyvalue(redact, record)
        assert json_lines.format(record) == _old_json(redact, record)


def test_an_error_s_exception_is_shown_as_before() -> None:
    try:
        raise ValueError('bad "thing"\nhere')
    except ValueError:
        record = logging.LogRecord("ivr", logging.ERROR, "", 0, "x.failed", None, sys.exc_info())
    redact = _Redactor(["thing"])
    assert KeyValueFormatter(redact).format(record) == _old_keyvalue(redact, record)
    assert JsonFormatter(redact).format(record) == _old_json(redact, record)


def test_an_event_s_record_carries_its_name_fields_and_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("ivr.test")
    caplog.set_level(logging.INFO, logger="ivr.test")
    event(logger, "thing.done", logging.WARNING, call="c1", count=3)
    event(logger, "thing.chatter", logging.DEBUG, call="c1")  # below the level: nothing
    log_fields(logger, "thing.again", {"call": "c2"})
    [done, again] = caplog.records
    assert (done.getMessage(), done.levelname, done.name) == ("thing.done", "WARNING", "ivr.test")
    assert done.__dict__["fields"] == {"call": "c1", "count": 3}
    assert again.__dict__["fields"] == {"call": "c2"} and again.levelno == logging.INFO
    assert abs(done.created - time.time()) < 60


# --- LineWriter: on the event loop, lines are held a moment and go out in one write ---


class Stream(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def writer_logger(name: str) -> tuple[logging.Logger, Stream, LineWriter]:
    stream = Stream()
    handler = LineWriter(stream)
    handler.setFormatter(KeyValueFormatter(_Redactor([])))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream, handler


def events_of(stream: Stream) -> list[list[str]]:
    """The `event=` of each line, per write."""
    return [[line.split()[2] for line in text.splitlines()] for text in stream.writes]


async def test_on_the_loop_lines_are_held_a_moment_then_go_out_together_in_order() -> None:
    logger, stream, _ = writer_logger("ivr.test.turn")
    for n in range(3):
        event(logger, f"turn.one{n}")
    await asyncio.sleep(0)
    event(logger, "turn.two")  # a later turn of the loop
    await asyncio.sleep(0)
    assert stream.writes == []  # held
    # The write was scheduled HOLD_SECONDS after the first line, before this sleep ends.
    await asyncio.sleep(2 * HOLD_SECONDS)
    event(logger, "turn.three")
    await asyncio.sleep(2 * HOLD_SECONDS)
    assert events_of(stream) == [
        ["event=turn.one0", "event=turn.one1", "event=turn.one2", "event=turn.two"],
        ["event=turn.three"],
    ]


async def test_a_thread_s_line_goes_out_at_once_after_the_lines_held() -> None:
    logger, stream, _ = writer_logger("ivr.test.thread")
    event(logger, "loop.first")
    thread = threading.Thread(target=lambda: event(logger, "thread.line"))
    thread.start()
    thread.join(5)
    assert events_of(stream) == [["event=loop.first", "event=thread.line"]]
    await asyncio.sleep(2 * HOLD_SECONDS)
    assert len(stream.writes) == 1  # nothing was left to write


async def test_a_warning_goes_out_at_once_with_the_lines_held_before_it() -> None:
    logger, stream, _ = writer_logger("ivr.test.warning")
    event(logger, "turn.info")
    event(logger, "turn.trouble", logging.WARNING)
    assert events_of(stream) == [["event=turn.info", "event=turn.trouble"]]


def test_off_the_loop_each_line_goes_out_at_once() -> None:
    logger, stream, _ = writer_logger("ivr.test.plain")
    event(logger, "plain.one")
    event(logger, "plain.two")
    assert events_of(stream) == [["event=plain.one"], ["event=plain.two"]]


async def test_lines_held_when_the_loop_stops_are_written_by_flush() -> None:
    logger, stream, handler = writer_logger("ivr.test.flush")
    event(logger, "last.words")
    handler.flush()  # what logging.shutdown() does at exit
    assert events_of(stream) == [["event=last.words"]]
    handler.close()
