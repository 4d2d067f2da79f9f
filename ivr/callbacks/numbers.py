"""The numbers the shop calls back: any spelling normalised to E.164, then checked against the
numbering plan (the `phonenumbers` library). One function for the website and the keypad,
and one spelling for matching a number wherever it is kept (`ivr erase`)."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

# Digits and the usual punctuation only: phonenumbers alone would read letters as digits
# ("1-800-FLOWERS"), take extensions and skip text around a number.
SPELLING = re.compile(r"\+?[0-9 ().-]{1,32}")
# Numbers a callback must never pay for: calling them makes money for whoever owns them.
COSTLY = (PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST)
DEFAULT_COUNTRY = "RU"  # how national spellings (8 900..., 900...) are read
_NOT_DIGITS = re.compile(r"[^0-9]")


class NumberRefused(ValueError):
    """Why a number will not be called; the message says it to a person (never echoes it)."""


def known_country(country: str) -> bool:
    """True for a region phonenumbers knows, e.g. "RU"."""
    return country in phonenumbers.SUPPORTED_REGIONS


def dialable(text: str, country: str, international: bool = False) -> str:
    """`text` as an E.164 number (+79001234567) the shop may call, or NumberRefused.

    National spellings are read as numbers of `country` (8 900..., 900...); a number of
    another country calling code is refused unless `international`.
    """
    if not SPELLING.fullmatch(text):
        raise NumberRefused("write the number with digits, spaces, ( ) - . and a leading + only")
    try:
        number = phonenumbers.parse(text, country)
    except NumberParseException:
        raise NumberRefused("this is not a phone number") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise NumberRefused("no such number in its country's numbering plan")
    home = phonenumbers.country_code_for_region(country)
    if not international and number.country_code != home:
        raise NumberRefused(f"only numbers starting +{home} are called back")
    if phonenumbers.number_type(number) in COSTLY:
        raise NumberRefused("premium-rate and shared-cost numbers are not called back")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def number_key(text: str, country: str = DEFAULT_COUNTRY) -> str:
    """`text` in E.164 (+79001234567) when it reads as a possible number, else its digits.

    The journal keeps caller numbers as the network sent them (digits, sometimes without the
    country code or with a trunk prefix), callbacks in E.164: both meet here."""
    digits = _NOT_DIGITS.sub("", text)
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


def spellings(text: str, country: str = DEFAULT_COUNTRY) -> tuple[str, ...]:
    """The ways networks send one number, `text` first: E.164 with and without its "+", and
    national with and without the trunk prefix (+79001234567, 79001234567, 89001234567,
    9001234567 in Russia); just `text` when it reads as no possible number."""
    digits = _NOT_DIGITS.sub("", text)
    if not digits:
        return (text,)
    try:
        number = phonenumbers.parse(text if text.startswith("+") else digits, country)
    except NumberParseException:
        return (text,)
    if not phonenumbers.is_possible_number(number):
        return (text,)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    national = phonenumbers.national_significant_number(number)
    region = phonenumbers.region_code_for_number(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region) if region else None
    prefix = (metadata.national_prefix or "") if metadata is not None else ""
    found = [text, e164, e164[1:], prefix + national, national]
    return tuple(dict.fromkeys(found))
