"""One spelling of a caller's number for matching: +7 900..., 8 900... and 7900... are one."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_COUNTRY = "RU"  # how national spellings (8 900..., 900...) are read
_DIGITS = re.compile(r"[^0-9]")


def number_key(text: str, country: str = DEFAULT_COUNTRY) -> str:
    """`text` in E.164 (+79001234567) when it reads as a possible number, else its digits.

    The journal keeps caller numbers as the network sent them (digits, sometimes without the
    country code or with a trunk prefix), callbacks in E.164: both meet here."""
    digits = _DIGITS.sub("", text)
    if not digits:
        return ""
    for spelling, region in ((text, country), ("+" + digits, None)):
        try:
            number = phonenumbers.parse(spelling, region)
        except NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return digits
