"""Log lines: secrets masked whatever characters they hold, one event per line."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.logs import JsonFormatter, KeyValueFormatter, _Redactor


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
