"""The calls a simulated month brings, in the shop's words: how many, on which weekdays and
hours, which keys callers press, how long they wait and talk (`config/traffic.yaml`).

```yaml
timezone: Europe/Moscow            # weekdays and hours below are the shop's local time
numbers:
  "100":                           # a number of a plan
    calls_per_month: 750           # spread by the weights below ...
    weekdays: {mon-fri: 1, sat: 0.6, sun: 0.4}
    hours: {"9-18": 1, "18-21": 0.5, "21-24": 0.2, "0-9": 0.05}
    # ... or calls per hour directly: per_hour: {mon-fri: {"9-18": 6}, sat: {"10-18": 3}}
days: {"2026-12-24..2026-12-31": 1.6, "2027-01-01": 0.3}    # peak days and quiet days
keys:                              # which keys callers press at each menu, as shares
  main_menu: {"1": 45, "2": 30, "0": 25}
typed: {order_number: "12345#"}    # what callers type at a collect
lookups:                           # what the shop's backend answers, as shares
  http://127.0.0.1:8099/orders: {answers: [{share: 70, data: {status: shipped}}], delay: 0.4}
callers: {patience: 120, callback: 0.5, voicemail: 0.6, withheld: 0.05}
agents: {ring: 4, talk: {default: 300, returns: 420}, absence: 0.1}
callbacks: {answered: 0.8, talk: 240}
prompts: {default: 2.5}
```
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ivr.plan.errors import printable
from ivr.plan.source import SourceError, decode, parse
from ivr.schedule.parse import known_zone, parse_date, parse_days

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_PER_MONTH = 365.25 / 12
Rates = tuple[tuple[float, ...], ...]  # 7 weekdays (Monday first) x 24 hours: calls per hour


class TrafficError(Exception):
    """A traffic file that cannot be used; the message names the file, line and fix."""


class _Model(BaseModel):
    # No inf or nan (YAML's .inf, .nan): an endless rate would never let a run end.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Share = Annotated[float, Field(ge=0)]


class NumberFile(_Model):
    calls_per_month: Share | None = None
    weekdays: dict[str, Share] = Field(default_factory=lambda: {"mon-sun": 1.0})
    hours: dict[str, Any] = Field(default_factory=lambda: {"0-24": 1.0})
    per_hour: dict[str, dict[str, Share]] | None = None


class LookupAnswerFile(_Model):
    share: Share = 1.0
    data: dict[str, Any] = Field(default_factory=dict)
    status: int = 200


class LookupFile(_Model):
    answers: list[LookupAnswerFile] = Field(min_length=1)
    delay: Annotated[float, Field(ge=0, le=60)] = 0.3


class CallersFile(_Model):
    patience: Annotated[float, Field(gt=0)] | None = 120.0
    callback: Annotated[float, Field(ge=0, le=1)] = 0.5
    voicemail: Annotated[float, Field(ge=0, le=1)] = 0.6
    withheld: Annotated[float, Field(ge=0, le=1)] = 0.0
    message_seconds: Annotated[float, Field(gt=0)] = 20.0


class AgentsFile(_Model):
    ring: Annotated[float, Field(ge=0)] = 4.0
    talk: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: {"default": 300.0}
    )
    absence: Annotated[float, Field(ge=0, lt=1)] = 0.0


class CallbacksFile(_Model):
    answered: Annotated[float, Field(ge=0, le=1)] = 0.8
    talk: Annotated[float, Field(gt=0)] = 240.0


class PromptsFile(_Model):
    default: Annotated[float, Field(ge=0)] = 2.5
    folders: list[str] = Field(default_factory=list)


class TrafficFile(_Model):
    timezone: str = "Europe/Moscow"
    numbers: dict[str, NumberFile] = Field(min_length=1)
    days: dict[str, Share] = Field(default_factory=dict)
    keys: dict[str, dict[str, Share]] = Field(default_factory=dict)
    typed: dict[str, str] = Field(default_factory=dict)
    lookups: dict[str, LookupFile] = Field(default_factory=dict)
    callers: CallersFile = Field(default_factory=CallersFile)
    agents: AgentsFile = Field(default_factory=AgentsFile)
    callbacks: CallbacksFile = Field(default_factory=CallbacksFile)
    prompts: PromptsFile = Field(default_factory=PromptsFile)


@dataclass(frozen=True)
class LookupAnswers:
    """The backend's answers to one URL with their shares, and how long it takes."""

    answers: tuple[tuple[float, int, Mapping[str, Any]], ...]  # (share, status, data)
    delay: float


@dataclass(frozen=True)
class Traffic:
    """Everything about callers and agents a simulation needs, whatever its source."""

    timezone: str
    rates: Mapping[str, Rates]  # number -> calls per hour by weekday and hour
    days: Mapping[date, float] = field(default_factory=dict)  # multipliers of whole days
    keys: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # node -> key -> share
    typed: Mapping[str, str] = field(default_factory=dict)  # collect node -> digits
    lookups: Mapping[str, LookupAnswers] = field(default_factory=dict)
    patience: float | None = 120.0  # mean seconds a caller waits in a queue; None: for ever
    callback: float = 0.5  # share who take a callback when offered (or instead of giving up)
    voicemail: float = 0.6  # share who leave a message when asked
    withheld: float = 0.0  # share of callers whose number is withheld
    message_seconds: float = 20.0
    ring: float = 4.0  # seconds an agent's phone rings before they answer
    talk: Mapping[str, float] = field(default_factory=lambda: {"default": 300.0})
    absence: float = 0.0  # share of agent-days planned away (holidays, sick days, training)
    callback_answered: float = 0.8  # share of customers who answer a callback
    callback_talk: float = 240.0
    prompt_seconds: float = 2.5  # a prompt whose audio file is not found
    prompt_folders: tuple[Path, ...] = ()

    def talk_mean(self, topic: str, queue: str) -> float:
        """Mean talk seconds for a call of `topic` in `queue` (topic first, then queue)."""
        talk = self.talk
        return talk.get(topic) or talk.get(queue) or talk.get("default") or 300.0

    def rate(self, number: str, weekday: int, hour: int, day: date) -> float:
        """Calls per hour to `number` in that hour of that day."""
        return self.rates[number][weekday][hour] * self.days.get(day, 1.0)

    def scaled(self, factor: float, hours: frozenset[int] | None = None) -> Traffic:
        """The same traffic with arrivals times `factor` (only in `hours`, when given)."""
        rates = {
            number: tuple(
                tuple(r * factor if hours is None or h in hours else r for h, r in enumerate(day))
                for day in table
            )
            for number, table in self.rates.items()
        }
        return _replace(self, rates=rates)


def _replace(traffic: Traffic, **changes: Any) -> Traffic:
    from dataclasses import replace

    return replace(traffic, **changes)


def load_traffic(path: Path) -> Traffic:
    """Read and check a traffic file; TrafficError names the file, line and the fix."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrafficError(f"{path}: cannot read the traffic file: {exc.strerror}") from None
    return traffic_from(data, str(path), path.parent)


def traffic_from(data: bytes, file: str, folder: Path = Path()) -> Traffic:
    """`load_traffic` for a file already read (`folder`: where relative prompt folders are)."""
    try:
        source = parse(decode(data, file), file)
    except SourceError as exc:
        raise TrafficError(str(exc.problem)) from None
    if not isinstance(source.data, dict):
        raise TrafficError(f"{file}:1: a traffic file is a mapping; start it with numbers:")
    try:
        spec = TrafficFile.model_validate(source.data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(p for p in error["loc"] if p != "[key]")
            line, _ = source.where(loc)
            where = ".".join(_key_text(p) for p in loc) or "the file"
            lines.append(printable(f"{file}:{line}: {where}: {error['msg']}; {_fix(loc)}"))
        raise TrafficError("\n".join(lines)) from None

    def at(path: tuple[str | int, ...], message: str, fix: str) -> TrafficError:
        # The file's own text reaches messages (keys, names): escaped for the terminal.
        return TrafficError(printable(f"{file}:{source.where(path)[0]}: {message}; {fix}"))

    if not known_zone(spec.timezone):
        raise at(("timezone",), f"'{spec.timezone[:60]}' is not a known time zone",
                 "write the shop's IANA zone, e.g. timezone: Europe/Moscow")  # fmt: skip
    rates = {num: _rates(n, (("numbers", num)), at) for num, n in spec.numbers.items()}
    days: dict[date, float] = {}
    for key, factor in spec.days.items():
        for day in _day_range(key, ("days", key), at):
            days[day] = factor
    lookups = {
        url: LookupAnswers(tuple((a.share, a.status, a.data) for a in answer.answers), answer.delay)
        for url, answer in spec.lookups.items()
    }
    keys = {node: {str(k): v for k, v in mix.items()} for node, mix in spec.keys.items()}
    return Traffic(
        timezone=spec.timezone,
        rates=rates,
        days=days,
        keys=keys,
        typed={node: str(digits) for node, digits in spec.typed.items()},
        lookups=lookups,
        patience=spec.callers.patience,
        callback=spec.callers.callback,
        voicemail=spec.callers.voicemail,
        withheld=spec.callers.withheld,
        message_seconds=spec.callers.message_seconds,
        ring=spec.agents.ring,
        talk=dict(spec.agents.talk),
        absence=spec.agents.absence,
        callback_answered=spec.callbacks.answered,
        callback_talk=spec.callbacks.talk,
        prompt_seconds=spec.prompts.default,
        prompt_folders=tuple(folder / f for f in spec.prompts.folders),
    )


def _fix(loc: tuple[Any, ...]) -> str:
    fixes = {
        "numbers": 'list the plan numbers, e.g. numbers: {"100": {calls_per_month: 750}}',
        "callers": "e.g. callers: {patience: 120, callback: 0.5, voicemail: 0.6}",
        "agents": "e.g. agents: {ring: 4, talk: {default: 300}, absence: 0.1}",
        "keys": 'shares per key of each menu, e.g. keys: {main_menu: {"1": 60, "2": 40}}',
    }
    return fixes.get(str(loc[0]) if loc else "", "see docs/simulate.md")


def _hours(text: str) -> range:
    """`9` or `9-18` (end not included; `0-24` is the whole day)."""
    start, _, end = str(text).partition("-")
    first = int(start)
    last = int(end) if end else first + 1
    if not 0 <= first < last <= 24:
        raise ValueError(text)
    return range(first, last)


def _weekdays(text: str) -> frozenset[int]:
    return parse_days(str(text))[1]


def _key_text(part: str | int) -> str:
    """A key of the file as a message shows it: quoted when blank or edged with spaces."""
    text = str(part)
    return repr(text) if not text.strip() or text != text.strip() else text


def _rates(spec: NumberFile, at_path: tuple[str, str], at: Any) -> Rates:
    table = [[0.0] * 24 for _ in range(7)]
    try:
        if spec.per_hour is not None:
            for days, hours in spec.per_hour.items():
                for weekday in _weekdays(days):
                    for span, calls in hours.items():
                        for hour in _hours(span):
                            table[weekday][hour] = float(calls)
            return tuple(tuple(day) for day in table)
        if spec.calls_per_month is None:
            raise at(at_path, "give calls_per_month (with weights) or per_hour",
                     "e.g. calls_per_month: 750")  # fmt: skip
        weekday_weight = [0.0] * 7
        for days, weight in spec.weekdays.items():
            for weekday in _weekdays(days):
                weekday_weight[weekday] = weight
        by_day = _hour_weights(spec.hours)
    except (ValueError, TypeError, OverflowError) as exc:
        fix = 'write weekdays as mon-fri and hours as "9-18" (end not included)'
        raise at(at_path, f"cannot read the weekdays or hours ({exc})", fix) from None
    total_week = spec.calls_per_month * 7 / DAYS_PER_MONTH
    weights = sum(weekday_weight)
    if weights <= 0:
        raise at(at_path, "every weekday weighs 0", "give some weekday a weight above 0")
    for weekday in range(7):
        day_hours = by_day[weekday]
        hour_total = sum(day_hours)
        if hour_total <= 0:
            continue
        day_calls = total_week * weekday_weight[weekday] / weights
        for hour in range(24):
            table[weekday][hour] = day_calls * day_hours[hour] / hour_total
    return tuple(tuple(day) for day in table)


def _hour_weights(hours: Mapping[str, Any]) -> list[list[float]]:
    """Hour weights per weekday: one mapping for every day, or one per group of weekdays."""
    by_day = [[0.0] * 24 for _ in range(7)]
    per_days = all(isinstance(v, dict) for v in hours.values())
    groups = hours.items() if per_days else [("mon-sun", hours)]
    for days, spans in groups:
        for weekday in _weekdays(days):
            for span, weight in spans.items():
                value = float(weight)
                if not math.isfinite(value) or value < 0:
                    raise ValueError(f"{span} weighs {weight!r}, not a number of 0 or more")
                for hour in _hours(span):
                    by_day[weekday][hour] = value
    return by_day


def _day_range(key: str, path: tuple[str, str], at: Any) -> list[date]:
    first, _, last = str(key).partition("..")
    try:
        start = parse_date(first.strip())
        end = parse_date(last.strip()) if last else start
    except Exception:
        raise at(path, f"'{key}' is not a day or a range of days",
                 "write 2026-12-31 or 2026-12-24..2026-12-31") from None  # fmt: skip
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
