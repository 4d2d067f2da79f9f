"""The fuzz run CI keeps: a few thousand mutated plans, rosters, configs, traffic files and lists
of calls, none of which may crash `ivr check`, `ivr run`, a reload or `ivr simulate`; and
every crasher found so far, as a file, refused with a message that names file, line (and
column).

A longer run: `.venv/bin/python -m tests.fuzz --cases 20000` (see tests/fuzz/__init__.py).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr.cli.main import main
from ivr.simulate.arrivals import ArrivalsError, arrivals_from, replay
from ivr.simulate.traffic import TrafficError, traffic_from
from ivr.site_load import SiteError, check_site
from tests.fuzz.run import CORPUS, Seeds, fuzz

CASES = 3000
# Generous: the slowest case takes about a second on a loaded 2-core machine; a check that
# went quadratic again would take minutes on the 3,000-node cases the mutator makes.
SECONDS_PER_CASE = 20.0


def test_a_few_thousand_mutated_files_crash_nothing() -> None:
    summary = fuzz(CASES, seed=0)
    assert summary.cases == CASES
    assert set(summary.by_kind) == {"plan", "roster", "config", "traffic", "calls"}
    crashes = [f"case {o.index} ({o.kind}): {o.crash}" for o in summary.crashes]
    assert not crashes, "\n\n".join(crashes[:5])
    assert not summary.unlocated, [o.unlocated[0] for o in summary.unlocated[:5]]
    assert summary.slowest is not None and summary.slowest.seconds < SECONDS_PER_CASE
    # The mutations reach past the parser: some files stay good, most are refused.
    assert 0 < summary.accepted < CASES


# Each known crash class, as a file of the corpus: (file, where the first error points, words).
KNOWN = [
    ("impossible-date.yaml", 8, "'2026-02-30' is not a date or time: day is out of range"),
    ("timestamp-tag.yaml", 5, "'tomorrow' is not a date or time"),
    ("huge-int.yaml", 5, "is not a whole number: Exceeds the limit (4300 digits)"),
    ("control-character.yaml", 5, "holds the character U+0007, which YAML does not allow"),
    ("non-ascii-key.yaml", 7, "nodes.start.²: unknown field"),
    ("holiday-constant.yaml", 5, "country 'JAN' is not in the holidays calendar"),
    ("latin1-bytes.yaml", 1, "the file is not UTF-8 text: byte 0xe9"),
    ("surrogate-escape.yaml", 2, "invalid Unicode character escape code"),
    ("terminal-escape.yaml", 2, "\\x1b[2Jshop"),
    ("deep-nesting.yaml", 4, "YAML syntax"),
    ("language-unspoken.yaml", 7, "option '3' switches to language 'de'"),
]


@pytest.mark.parametrize(("name", "line", "words"), KNOWN, ids=[k[0] for k in KNOWN])
def test_every_known_crasher_is_refused_where_it_is(name: str, line: int, words: str) -> None:
    path = CORPUS / "plans" / name
    with pytest.raises(SiteError) as refused:
        check_site([(str(path), path.read_bytes())], None)
    first = refused.value.errors[0]
    assert (first.file, first.line) == (str(path), line)
    assert words in str(first)


def test_a_chain_of_a_thousand_gotos_is_a_good_plan() -> None:
    path = CORPUS / "plans" / "goto-chain.yaml"
    site = check_site([(str(path), path.read_bytes())], None)
    assert len(site.plans.plans[0].spec.nodes) == 1002


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "rosters").glob("*.yaml")))
def test_known_roster_crashers_are_refused_with_a_line(name: str) -> None:
    plan = Path(__file__).resolve().parents[2] / "dialplans" / "shop.yaml"
    path = CORPUS / "rosters" / name
    with pytest.raises(SiteError) as refused:
        check_site([(str(plan), plan.read_bytes())], [(str(path), path.read_bytes())])
    assert all(p.file == str(path) and p.line > 1 for p in refused.value.errors)


# The files of `ivr simulate`: how each kind is read, and what refuses it.
SIMULATE_READERS: dict[str, tuple[Callable[[bytes, str], object], type[Exception]]] = {
    "traffic": (traffic_from, TrafficError),
    "calls": (arrivals_from, ArrivalsError),
}


@pytest.mark.parametrize(
    ("kind", "name", "line", "words"),
    [
        ("traffic", "endless-rate.yaml", 5, "calls_per_month: Input should be a finite number"),
        ("traffic", "negative-hour.yaml", 4, "9-13 weighs -1.6, not a number of 0 or more"),
        ("traffic", "unknown-zone.yaml", 3, "'Europe/Moskva' is not a known time zone"),
        ("calls", "endless-moment.yaml", 3, "1.at: Input should be a finite number"),
        ("calls", "endless-talk.yaml", 2, "0.talk: Input should be less than or equal to 86400"),
    ],
)
def test_known_crashers_of_simulate_files_are_refused_with_a_line(
    kind: str, name: str, line: int, words: str
) -> None:
    read, refusal = SIMULATE_READERS[kind]
    path = CORPUS / kind / name
    with pytest.raises(refusal) as refused:
        read(path.read_bytes(), str(path))
    assert str(refused.value).startswith(f"{path}:{line}: ") and words in str(refused.value)


def test_a_listed_callers_number_and_name_are_made_safe_as_the_networks_are() -> None:
    seeds = Seeds.load()
    shop = seeds.example_shop()
    path = CORPUS / "calls" / "control-characters.yaml"
    calls = arrivals_from(path.read_bytes(), str(path))
    assert calls[0].caller == "+7 900\x07123"  # as typed: the floor cleans it where it enters
    entries = replay(shop.site, calls, 1_798_675_200.0, shop.traffic)
    [arrived] = [e for e in entries if e.kind == "arrived"]
    fields = arrived.fields
    assert (fields["caller_number"], fields["caller_name"]) == ("+7900123", "A [2JB")


@pytest.mark.parametrize("name", sorted(p.name for p in (CORPUS / "plans").glob("*.yaml")))
def test_ivr_check_says_errors_for_every_crasher(name: str, tmp_path: Path) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(["check", str(CORPUS / "plans" / name), "--roster", str(tmp_path)])
    expected = 0 if name == "goto-chain.yaml" else 1
    assert status == expected, out.getvalue()
    assert "Traceback" not in out.getvalue()
    if expected:
        assert re.search(rf"{re.escape(name)}:\d+:\d+: error: ", out.getvalue())
