"""Caller-controlled text never reaches AMI or a log line with its CR/LF intact."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.calls.caller_id import safe_name, safe_number
from ivr.logs import KeyValueFormatter, _Redactor
from ivr.pbx.ami.link import action, header_value

HOSTILE = "Evil\r\nVariable: GLOBAL(PWNED)=1\r\n" + "A" * 4096


def test_names_lose_control_characters_and_are_capped() -> None:
    assert safe_name(HOSTILE).startswith("Evil Variable: GLOBAL(PWNED)=1 AAA")
    assert len(safe_name(HOSTILE)) == 64
    assert safe_name(None) == ""


def test_numbers_keep_only_dialable_characters() -> None:
    assert safe_number("+7 (900) 123-45-67;tag=x\r\n") == "+79001234567"
    assert safe_number("1" * 100) == "1" * 32


@given(st.text())
def test_no_ami_value_can_carry_a_line_break(text: str) -> None:
    value = header_value(text)
    assert "\r" not in value and "\n" not in value and len(value) <= 256


def test_ami_actions_refuse_bad_header_names() -> None:
    assert action("UserEvent", {"CallerIDName": HOSTILE})["CallerIDName"].count("\n") == 0
    with pytest.raises(ValueError):
        action("Setvar", {"Value\r\nVariable": "x"})


@given(st.text())
def test_a_log_line_stays_one_line_whatever_the_caller_sends(text: str) -> None:
    record = logging.LogRecord("ivr", logging.INFO, "", 0, "call.arrived", None, None)
    record.fields = {"call": "1.1", "caller_name": text}
    line = KeyValueFormatter(_Redactor(["s3cret-pass"])).format(record)
    assert "\n" not in line and "\r" not in line
    assert line.startswith("ts=")


def test_secrets_are_masked_in_log_lines() -> None:
    record = logging.LogRecord("ivr", logging.INFO, "", 0, "ari.failed", None, None)
    record.fields = {"error": "GET /ari?api_key=ivr:s3cret-pass failed"}
    line = KeyValueFormatter(_Redactor(["s3cret-pass"])).format(record)
    assert "s3cret-pass" not in line and "***" in line


def test_a_header_name_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValueError):
        action("Setvar", {"Value\n": "x"})
