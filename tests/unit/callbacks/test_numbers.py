"""The numbers the shop calls back: every spelling of one number is one E.164 number, and only
real numbers of the shop's country that cost nothing extra are taken."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ivr.callbacks.numbers import NumberRefused, dialable, spellings
from ivr.config import CallbackSettings


@pytest.mark.parametrize(
    "spelling",
    [
        "+79001234567",
        "79001234567",
        "89001234567",
        "9001234567",
        "8 (900) 123-45-67",
        "+7 900 123 45 67",
        "+7.900.123.45.67",
    ],
)
def test_every_russian_spelling_of_a_mobile_number_is_the_same_e164_number(spelling: str) -> None:
    assert dialable(spelling, "RU") == "+79001234567"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("+0000000", "not a phone number"),
        ("+7000000", "numbering plan"),
        ("12;DROP TABLE", "digits"),
        ("+7999\r\nInjected: 1", "digits"),
        ("8-800-FLOWERS", "digits"),  # letters would be read as digits by phonenumbers
        ("+79001234567 ext. 12", "digits"),
        ("", "digits"),
        ("1" * 40, "digits"),
        ("+7 809 123-45-67", "premium-rate"),  # the caller's money, made on the shop's bill
        ("+44 20 7183 8750", r"only numbers starting \+7"),
    ],
)
def test_what_is_not_a_number_the_shop_may_call_is_refused_with_a_reason(
    text: str, why: str
) -> None:
    with pytest.raises(NumberRefused, match=why):
        dialable(text, "RU")


def test_numbers_abroad_are_taken_only_when_the_shop_calls_abroad() -> None:
    assert dialable("+44 20 7183 8750", "RU", international=True) == "+442071838750"
    # Another shop's country: its own national spelling.
    assert dialable("030 123456789", "DE") == "+4930123456789"


def test_the_shops_country_is_russia_unless_set_and_must_be_one_phonenumbers_knows() -> None:
    assert CallbackSettings().country == "RU" and not CallbackSettings().international
    assert CallbackSettings(country="DE").country == "DE"
    with pytest.raises(ValidationError, match="unknown country 'XX'"):
        CallbackSettings(country="XX")


@pytest.mark.parametrize(
    ("given", "country", "expected"),
    [
        ("+79001234567", "RU", ("+79001234567", "79001234567", "89001234567", "9001234567")),
        ("89001234567", "RU", ("89001234567", "+79001234567", "79001234567", "9001234567")),
        ("030123456", "DE", ("030123456", "+4930123456", "4930123456", "30123456")),
        ("anonymous", "RU", ("anonymous",)),
        ("", "RU", ("",)),
        ("12", "RU", ("12",)),
    ],
)
def test_a_number_s_spellings_as_networks_send_it(
    given: str, country: str, expected: tuple[str, ...]
) -> None:
    assert spellings(given, country) == expected
