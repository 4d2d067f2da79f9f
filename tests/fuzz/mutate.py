"""Mutations of plan, roster and config files: YAML-aware ones (odd scalars, odd keys,
duplicate keys, deep nesting, long goto chains, aliases, a value swapped in the parsed tree)
and byte-level ones (Latin-1 bytes, control characters, truncation). Deterministic: the same
`random.Random` state gives the same mutation."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

import yaml

# Scalars as ops staff (or a bad paste) might write them, and as YAML reads them oddly.
ODD_VALUES = [
    # numbers past Python's 4,300-digit limit, and other odd numbers
    "9" * 4301,
    "-" + "1" * 5000,
    "0x" + "f" * 5000,
    "1" * 400,
    "1_000",
    "0o17",
    "017",
    "1:30:00",
    "1:" * 300 + "1",
    "1e999",
    "-1e999",
    "1e-999",
    ".nan",
    "NaN",
    ".inf",
    "-.inf",
    "-0",
    "-1",
    "0",
    "2147483648",
    "18446744073709551616",
    "0.1",
    "1e3",
    # dates and times: impossible, extreme, tagged
    "2026-02-30",
    "2026-02-29",
    "2024-02-29",
    "2026-13-01",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30 10:00:00",
    "2026-12-31T25:61:00Z",
    "2026-12-31 23:59:60",
    "!!timestamp 2026-02-30",
    "!!timestamp soon",
    "!!timestamp 2026-01-01",
    "!!timestamp ''",
    "[2026-02-30, 2026-01-01]",
    "{2026-02-30: '10:00-12:00'}",
    "'25:00-26:00'",
    "'24:00-24:00'",
    "'09:00-09:00'",
    "'99:99'",
    # other tags
    "!!int x",
    "!!int ''",
    "!!float x",
    "!!bool maybe",
    "!!str",
    "!!null x",
    "!!binary '==='",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [1, 2]",
    "!!omap [{a: 1}]",
    "!!pairs [{a: 1}, {a: 2}]",
    "!!python/object:os.system x",
    "!!python/name:os.system",
    "!custom x",
    "!<tag:example.com,2026:x> y",
    "!!map [1]",
    "!!seq {a: 1}",
    "!!merge x",
    # empties and shapes
    "",
    "~",
    "null",
    "[]",
    "{}",
    "[[]]",
    "[{}]",
    "{a: {b: {c: d}}}",
    "[1, [2, [3, [4]]]]",
    "''",
    '""',
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "True",
    # text: long, odd characters, escapes YAML turns into controls or lone surrogates
    "x" * 10_000,
    "say:" + "a" * 1000,
    "sound:" + "../" * 50 + "etc/passwd",
    "say:Hello\\u0007",
    '"a\\u0000b"',
    '"\\x1b[31mred"',
    '"\\ud800"',
    '"\\udfff x"',
    '"\\U0010ffff"',
    '"\\N\\_\\L\\P"',
    '"line\\nbreak"',
    "ключ",
    "²",
    "١٢٣",
    "𝟙𝟚",
    "１",
    "İstanbul",
    "ß",
    "\u202etxt",
    "é",
    "'it''s'",
    "a: b",
    "- x",
    "[",
    "{",
    "]",
    "}",
    "'",
    '"',
    "|",
    ">",
    "#",
    "&a x",
    "*a",
    "*undefined",
    "? x",
    "%YAML 1.1",
    "---",
    "...",
    "@x",
    "`x`",
    "Europe/Moscow/../../etc",
    "a/" * 2000 + "b",
    "PJSIP/agent1,PJSIP/agent2",
    "PJSIP/a&b",
    "http://user:pass@host/",
    "http://[::1",
    "http://h:99999/",
    "JAN",
    "UTILS",
    "HolidayBase",
    "(",
    "[0-9",
    "(a+)+$",
    "(?P<x>",
]

# Keys where a field's name should be.
ODD_KEYS = [
    "²",
    "١",
    "１",
    "ключ",
    "ñame",
    "İ",
    "<<",
    "? x",
    "1",
    "0",
    "-1",
    "true",
    "null",
    "~",
    "2026-02-30",
    "2026-01-01",
    "[a, b]",
    "{a: b}",
    "'a: b'",
    "1e999",
    ".nan",
    "x" * 500,
    "type",
    "name",
    "next",
    "options",
    "start",
    "nodes",
    "queues",
    "teams",
    "agents",
    "Type",
    "type ",
    '"\\x00"',
    '"\\ud800"',
    "&k key",
    "*k",
]

ODD_CHARACTERS = [
    "\x00",
    "\x01",
    "\x07",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\t",
    "\r",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\u200b",
    "\u202e",
    "\U0001f4de",
    "é",
    ":",
    " ",
    "\n",
    "-",
    "[",
    "{",
    "&a",
    "*a",
    '"',
    "'",
    "#",
    "!!",
    "%",
    "@",
    "|",
    ">",
    "?",
]

ODD_BYTES = [
    b"\xe9",  # Latin-1 é
    b"\xff",
    b"\xfe\xff",
    b"\xc3",  # a UTF-8 sequence cut short
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"\xf4\x90\x80\x80",  # past U+10FFFF
    b"\xc0\xaf",  # overlong
    b"\x00",
    b"\xef\xbb\xbf",  # a BOM in the middle
    b"\x85",
    b"\r",
]

ODD_PYTHON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    10**30,
    -(10**30),
    2**63,
    math.nan,
    math.inf,
    -math.inf,
    1e-300,
    "",
    " ",
    "x" * 300,
    "ключ",
    "\u0000",
    "\x1b[2J",
    "\ud800",
    [],
    {},
    [None],
    {"": None},
    {1: 2},
    [[[[[[]]]]]],
    dt.date(2026, 2, 28),
    dt.date(9999, 12, 31),
    dt.date(1, 1, 1),
    dt.datetime(2026, 12, 31, 23, 59),
    b"\x00bytes",
]

# libyaml when there is one: pure Python takes quadratic time on deep nesting.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_BLOCK_VALUE = re.compile(r"^(\s*(?:- )?[^\s#'\"][^:#]*?:[ \t]+)(\S.*)$")
_FLOW_VALUE = re.compile(r"([\w\"'-]+: )([^,{}\[\]\n]+)")
_BLOCK_KEY = re.compile(r"^(\s*(?:- )?)([^\s#'\"-][^:#]*?)(:(?:[ \t]|$))")
_NODES = re.compile(r"^nodes:\s*$", re.MULTILINE)


class Mutator:
    """Mutations drawn from `rng`; `others` are texts of the same kind to splice from."""

    def __init__(self, rng: random.Random, others: Sequence[str] = ()) -> None:
        self.rng = rng
        self.others = others
        self._text_steps: list[tuple[Callable[[str], str], int]] = [
            (self.odd_scalar, 10),
            (self.odd_flow_scalar, 6),
            (self.odd_key, 5),
            (self.duplicate_line, 3),
            (self.delete_line, 2),
            (self.swap_lines, 1),
            (self.indent, 2),
            (self.odd_character, 3),
            (self.nest, 1),
            (self.goto_chain, 1),
            (self.long_plan, 1),
            (self.aliases, 1),
            (self.tree_value, 5),
            (self.splice, 2),
        ]

    def mutate(self, text: str) -> bytes:
        """One to four mutations of `text`; now and then bytes that are not UTF-8, or a cut."""
        rng = self.rng
        steps, weights = zip(*self._text_steps, strict=True)
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
            step = rng.choices(steps, weights)[0]
            text = step(text)
        data = text.encode("utf-8", errors="surrogatepass")
        roll = rng.random()
        if roll < 0.04:
            data = self.odd_bytes(data)
        elif roll < 0.07:
            data = data[: rng.randrange(len(data) + 1)]
        return data

    # --- on lines and scalars ---------------------------------------------------------------

    def odd_scalar(self, text: str) -> str:
        lines = text.split("\n")
        found = [i for i, line in enumerate(lines) if _BLOCK_VALUE.match(line)]
        if not found:
            return self.odd_character(text)
        i = self.rng.choice(found)
        match = _BLOCK_VALUE.match(lines[i])
        assert match is not None
        lines[i] = match.group(1) + self.rng.choice(ODD_VALUES)
        return "\n".join(lines)

    def odd_flow_scalar(self, text: str) -> str:
        found = list(_FLOW_VALUE.finditer(text))
        if not found:
            return self.odd_scalar(text)
        match = self.rng.choice(found)
        value = self.rng.choice(ODD_VALUES)
        if "\n" in value or value.startswith(("|", ">", "- ", "---", "...", "%")):
            value = value.replace("\n", " ")
        return text[: match.start(2)] + value + text[match.end(2) :]

    def odd_key(self, text: str) -> str:
        lines = text.split("\n")
        found = [i for i, line in enumerate(lines) if _BLOCK_KEY.match(line)]
        if not found:
            return self.odd_character(text)
        i = self.rng.choice(found)
        match = _BLOCK_KEY.match(lines[i])
        assert match is not None
        key = self.rng.choice(ODD_KEYS)
        lines[i] = match.group(1) + key + lines[i][match.start(3) :]
        return "\n".join(lines)

    def duplicate_line(self, text: str) -> str:
        lines = text.split("\n")
        i = self.rng.randrange(len(lines))
        count = self.rng.choice((1, 1, 2, 5))
        lines[i:i] = lines[i : i + count]
        return "\n".join(lines)

    def delete_line(self, text: str) -> str:
        lines = text.split("\n")
        del lines[self.rng.randrange(len(lines))]
        return "\n".join(lines)

    def swap_lines(self, text: str) -> str:
        lines = text.split("\n")
        i, j = self.rng.randrange(len(lines)), self.rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)

    def indent(self, text: str) -> str:
        lines = text.split("\n")
        i = self.rng.randrange(len(lines))
        change = self.rng.choice((" ", "  ", "\t", "-"))
        if self.rng.random() < 0.5 and lines[i].startswith(" "):
            lines[i] = lines[i][1:]
        else:
            lines[i] = change + lines[i]
        return "\n".join(lines)

    def odd_character(self, text: str) -> str:
        at = self.rng.randrange(len(text) + 1)
        return text[:at] + self.rng.choice(ODD_CHARACTERS) + text[at:]

    def odd_bytes(self, data: bytes) -> bytes:
        at = self.rng.randrange(len(data) + 1)
        return data[:at] + self.rng.choice(ODD_BYTES) + data[at:]

    # --- structure -----------------------------------------------------------------------------

    def nest(self, text: str) -> str:
        depth = self.rng.choice((50, 500, 1100, 5000, 20000))
        if self.rng.random() < 0.5:
            deep = "[" * depth + "]" * depth
        else:
            deep = "{a: " * depth + "b" + "}" * depth
        return self._replace_a_value(text, deep)

    def goto_chain(self, text: str) -> str:
        """A chain (or a ring) of gotos under `nodes:`, from 100 to 3,000 long."""
        nodes = _NODES.search(text)
        if nodes is None:
            return self.odd_scalar(text)
        length = self.rng.choice((100, 1000, 1001, 3000))
        ring = self.rng.random() < 0.3
        last = "g0" if ring else "start"
        chain = "".join(
            f"  g{i}: {{type: goto, target: {f'g{i + 1}' if i + 1 < length else last}}}\n"
            for i in range(length)
        )
        text = text[: nodes.end()] + "\n" + chain + text[nodes.end() + 1 :]
        # Lead callers in from `start`, so the chain is reachable.
        return re.sub(r"^  start:", "  old_start:", text, count=1, flags=re.MULTILINE).replace(
            "  g0:", "  start: {type: goto, target: g0}\n  g0:", 1
        )

    def long_plan(self, text: str) -> str:
        """Up to 3,000 play nodes in a line, a big plan for checks that could be quadratic."""
        nodes = _NODES.search(text)
        if nodes is None:
            return self.duplicate_line(text)
        length = self.rng.choice((500, 3000))
        nexts = [f"p{i + 1}" for i in range(length - 1)] + ["p0"]  # a ring: no way out
        chain = "".join(
            f"  p{i}: {{type: play, prompt: sound:beep, next: {after}}}\n"
            for i, after in enumerate(nexts)
        )
        return text[: nodes.end()] + "\n" + chain + text[nodes.end() + 1 :]

    def aliases(self, text: str) -> str:
        """An anchor on one value and an alias (or a merge key) elsewhere."""
        lines = text.split("\n")
        found = [i for i, line in enumerate(lines) if _BLOCK_VALUE.match(line)]
        if len(found) < 2:
            return self.odd_scalar(text)
        first, second = sorted(self.rng.sample(found, 2))
        a = _BLOCK_VALUE.match(lines[first])
        b = _BLOCK_VALUE.match(lines[second])
        assert a is not None and b is not None
        lines[first] = a.group(1) + "&x " + a.group(2)
        if self.rng.random() < 0.5:
            lines[second] = b.group(1) + "*x"
        else:
            indent = re.match(r"\s*", lines[second])
            lines.insert(second, (indent.group(0) if indent else "") + "<<: *x")
        return "\n".join(lines)

    def tree_value(self, text: str) -> str:
        """Parse, swap one value (or key) deep in the tree for an odd Python value, dump."""
        try:
            data = yaml.load(text, Loader=_LOADER)
        except Exception:  # the file may well be broken already: mutate its text instead
            return self.odd_scalar(text)
        paths = _paths(data)
        if not paths:
            return self.odd_scalar(text)
        path = self.rng.choice(paths)
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        value = self.rng.choice(ODD_PYTHON_VALUES)
        if isinstance(parent, dict) and self.rng.random() < 0.3:
            key = value if isinstance(value, str | int | float | bool | dt.date) else "odd"
            parent[key] = parent.pop(path[-1])
        else:
            parent[path[-1]] = value
        try:
            return yaml.dump(
                data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=10_000
            )
        except Exception:
            return text

    def splice(self, text: str) -> str:
        """A line of another file of the same kind, somewhere in this one."""
        if not self.others:
            return self.duplicate_line(text)
        other = self.rng.choice(self.others).split("\n")
        lines = text.split("\n")
        lines.insert(self.rng.randrange(len(lines) + 1), self.rng.choice(other))
        return "\n".join(lines)

    def _replace_a_value(self, text: str, value: str) -> str:
        lines = text.split("\n")
        found = [i for i, line in enumerate(lines) if _BLOCK_VALUE.match(line)]
        if not found:
            return text + "\nx: " + value
        i = self.rng.choice(found)
        match = _BLOCK_VALUE.match(lines[i])
        assert match is not None
        lines[i] = match.group(1) + value
        return "\n".join(lines)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    # An earlier mutation may have made an alias that holds itself (&a [*a]) or nesting deep
    # enough to end the recursion: the paths near the top are plenty to mutate.
    if len(path) > 30:
        return found
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*path, index))
    return found
