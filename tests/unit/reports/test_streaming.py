"""The streamed report and forecast give the numbers the old way gave (every note loaded, every
call's record kept, then grouped), on a generated journal read back from a SQLite file through
a window that cuts calls at both edges; and a call's record leaves memory once it is over."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.reports import erlang, staffing
from ivr.reports import report as reports
from ivr.reports.records import LINGER, CallRecord, finished
from ivr.store.port import Entry
from ivr.store.sqlite import SqliteJournal

TZ = "Europe/Moscow"
ZONE = ZoneInfo(TZ)
FIRST_DAY = datetime(2026, 11, 2, tzinfo=ZONE).timestamp()  # a Monday, Moscow time
DAYS = 9
H = 3600.0
Stored = tuple[SqliteJournal, list[Entry]]


# --- the old way, kept as the reference: fold every call, keep every record, then group ---
def _reference_calls(entries: list[Entry]) -> list[CallRecord]:
    records: dict[str, CallRecord] = {}
    for entry in entries:
        if not entry.call_id:
            continue
        record = records.get(entry.call_id)
        if record is None:
            record = records[entry.call_id] = CallRecord(entry.call_id, entry.at)
        fields = entry.fields
        match entry.kind:
            case "arrived":
                record.arrived, record.plan = entry.at, fields.get("plan", "")
            case "tag":
                record.topic = fields.get("tag", "")
            case "queue_join":
                record.queue, record.wait, record.sla = fields.get("queue", ""), None, None
                record.answered = record.abandoned = False
            case "answered" | "queue_abandoned" | "queue_exit" | "queue_callback":
                record.queue = fields.get("queue", record.queue)
                record.wait, record.sla = _number(fields.get("wait")), _number(fields.get("sla"))
                record.answered = entry.kind == "answered"
                record.abandoned = entry.kind == "queue_abandoned"
                if entry.kind == "answered" and fields.get("topic") and not record.topic:
                    record.topic = fields["topic"]
            case "agent_hung_up" | "caller_hung_up":
                record.talk = _number(fields.get("talk"))
            case "ended":
                record.outcome = fields.get("outcome", "")
                record.plan = record.plan or fields.get("plan", "")
    return sorted(records.values(), key=lambda r: (r.arrived, r.call_id))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _reference_rows(records: list[CallRecord], key: object) -> list[tuple[object, ...]]:
    groups: dict[str, list[CallRecord]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)  # type: ignore[operator]
    names = sorted(groups)
    return [_reference_row(name, groups[name]) for name in names] + [
        _reference_row("total", records)
    ]


def _reference_row(group: str, records: list[CallRecord]) -> tuple[object, ...]:
    answered = [r for r in records if r.answered]
    abandoned = sum(1 for r in records if r.abandoned)
    decided = len(answered) + abandoned
    waits = [r.wait for r in answered if r.wait is not None]
    within = sum(1 for r in answered if r.wait is not None and r.sla is not None
                 and r.wait <= r.sla)  # fmt: skip
    talks = [r.talk for r in answered if r.talk is not None]
    return (group, len(records), len(answered), abandoned,
            abandoned / decided if decided else None,
            sum(waits) / len(waits) if waits else None,
            within / decided if decided else None,
            sum(talks) / len(talks) if talks else None)  # fmt: skip


def _as_tuples(rows: list[reports.Row]) -> list[tuple[object, ...]]:
    return [(r.group, r.calls, r.answered, r.abandoned, r.abandon_rate, r.asa, r.service_level,
             r.aht) for r in rows]  # fmt: skip


def _same(new: list[tuple[object, ...]], old: list[tuple[object, ...]]) -> None:
    """Counts and groups exactly; rates and means to the last few bits (sums in another order)."""
    assert len(new) == len(old)
    for mine, theirs in zip(new, old, strict=True):
        assert mine[:4] == theirs[:4]
        for a, b in zip(mine[4:], theirs[4:], strict=True):
            assert (a is None) == (b is None), (mine, theirs)
            if a is not None:
                assert a == pytest.approx(b, rel=1e-12), (mine, theirs)


# --- a generated journal in the daemon's shape ---
def _journal(seed: int = 14) -> list[Entry]:
    """DAYS days of calls of every shape, several under way at once, in time order."""
    rng = random.Random(seed)
    entries: list[Entry] = []
    at = FIRST_DAY - 2 * H
    index = 0
    while at < FIRST_DAY + DAYS * 86400:
        at += rng.expovariate(1 / 240)
        index += 1
        entries += _call(rng, f"{int(at)}.{index}", at)
        if rng.random() < 0.05:
            entries.append(Entry(at + 1, "", "agent_request", {"agent": "a1", "action": "pause"}))
    # Entries of one time keep their order of writing: a stable sort, as the store's ids.
    return sorted(entries, key=lambda e: e.at)


def _call(rng: random.Random, call_id: str, at: float) -> list[Entry]:
    notes: list[tuple[float, str, dict[str, str]]] = [
        (0, "arrived", {"number": "100", "plan": "shop", "caller_number": "79001234567"}),
        (0, "node", {"node": "start"}),
        (0, "prompt", {"node": "start", "media": "sound:press-1"}),
    ]
    shape = rng.random()
    t = rng.uniform(2, 8)
    if shape < 0.15:  # self-service
        notes += [
            (t, "menu_choice", {"option": "3"}),
            (t + 20, "ended", {"outcome": "completed", "plan": "shop"}),
        ]
        return [Entry(at + dt, call_id, kind, fields) for dt, kind, fields in notes]
    if shape < 0.2:  # a callback dial: its own id, no `ended` note
        dial = f"cb-{call_id}"
        return [Entry(at + dt, dial, kind, {"task": "t1", "queue": "sales"}) for dt, kind in
                ((0, "callback_queued"), (5, "callback_dialling"), (20, "callback_connected"),
                 (200, "callback_ended"))]  # fmt: skip
    topic = rng.choice(["orders", "returns", ""])
    queue = rng.choice(["sales", "sales", "support"])
    if topic:
        notes.append((t, "tag", {"tag": topic}))
    notes.append((t, "queue_join", {"queue": queue, "priority": "0"}))
    wait = round(rng.expovariate(1 / 25), 1)
    sla = "20" if queue == "sales" else "30"
    if shape < 0.3:  # overflow to the other queue first
        notes += [(t + wait, "queue_exit", {"queue": queue, "wait": str(wait), "sla": sla}),
                  (t + wait, "queue_join", {"queue": "overflow", "priority": "0"})]  # fmt: skip
        queue, t, wait = "overflow", t + wait, round(rng.uniform(1, 10), 1)
    left = {"queue": queue, "wait": str(wait), "sla": sla}
    if shape < 0.4:
        kind = rng.choice(["queue_abandoned", "queue_callback"])
        notes += [(t + wait, kind, left), (t + wait + 1, "ended", {"outcome": "missed"})]
    else:
        talk = round(rng.expovariate(1 / 200), 1)
        if shape > 0.98:
            talk = 3 * H + 17.5  # a long talk: hours without a note, still one call
        answered = left | {"agent": "a1", "topic": rng.choice(["", "orders"])}
        hung_up = rng.choice(["agent_hung_up", "caller_hung_up"])
        done = t + wait + talk
        notes += [(t, "ring", {"queue": queue, "agent": "a1"}), (t + wait, "answered", answered),
                  (done, hung_up, {"queue": queue, "talk": str(talk)}),
                  (done, "ended", {"outcome": "answered", "plan": "shop"})]  # fmt: skip
        if rng.random() < 0.3:  # the recording keeper's note lands after the call ended
            notes.append((done + rng.uniform(2, 300), "recording_finished", {"file": "x.wav"}))
    if rng.random() < 0.01:
        notes.append((t + 1, "queue_exit", {"queue": queue, "wait": "n/a", "sla": "?"}))
        notes.sort(key=lambda n: n[0])
    return [Entry(at + dt, call_id, kind, fields) for dt, kind, fields in notes]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stored]:
    """The generated journal in a SQLite file (as the daemon's store holds it), and as a list."""
    entries = _journal()
    journal = SqliteJournal(tmp_path_factory.mktemp("reports") / "ivr.sqlite3", batch=10_000)
    for entry in entries:
        journal.append(entry.call_id, entry.kind, entry.fields, entry.at)
    journal.flush()
    yield journal, entries
    journal.close()


def _arrival_after(entries: list[Entry], moment: float) -> float:
    return next(e.at for e in entries if e.kind == "arrived" and e.at > moment)


def _window(entries: list[Entry], start: float, end: float) -> list[Entry]:
    return [e for e in entries if start <= e.at < end]


@pytest.mark.parametrize("by", ["hour", "day", "weekday"])
def test_the_streamed_report_matches_the_old_way_on_a_window_cutting_calls(
    stored: Stored, by: reports.By
) -> None:
    journal, entries = stored
    # Mid-morning, a few seconds into a call: calls straddle both edges (the long talks too).
    start = _arrival_after(entries, FIRST_DAY + 86400 + 10.5 * H) + 5
    end = _arrival_after(entries, FIRST_DAY + 5 * 86400 + 11.25 * H) + 5
    window = _window(entries, start, end)
    arrived = {e.call_id for e in entries if e.kind == "arrived"}
    inside = {e.call_id for e in window if e.kind == "arrived"}
    straddling = {e.call_id for e in window} & arrived - inside
    cut = inside - {e.call_id for e in window if e.kind == "ended"}
    assert len(straddling) >= 1 and len(cut) >= 1

    report = reports.build(journal.read(start, end), by, ZONE)

    records = _reference_calls(window)
    assert len(records) > 1000
    _same(_as_tuples(report.periods), _reference_rows(records, reports.period_key(by, ZONE)))
    queued = [r for r in records if r.queue]
    _same(_as_tuples(report.queues), _reference_rows(queued, lambda r: r.queue))
    _same(_as_tuples(report.topics), _reference_rows(records, lambda r: r.topic or "-"))
    missed = {f"{h:02d}": 0 for h in range(24)}
    for record in records:
        if record.missed:
            missed[f"{datetime.fromtimestamp(record.arrived, ZONE).hour:02d}"] += 1
    assert report.missed_by_hour == missed


def test_the_streamed_forecast_matches_the_old_way_patience_included(
    stored: Stored,
) -> None:
    journal, entries = stored
    start, end = date(2026, 11, 3), date(2026, 11, 10)
    first, last = staffing.window(start, end, TZ)

    result = staffing.build(journal.read(first, last), start, end, TZ, 0.8, 20, min_calls=10)

    queued = [r for r in _reference_calls(_window(entries, first, last)) if r.queue]
    talks = [r.talk for r in queued if r.answered and r.talk is not None]
    aht = sum(talks) / len(talks)
    abandoned = sum(r.abandoned for r in queued)
    patience = sum(r.wait for r in queued if r.wait is not None) / abandoned
    assert (result.calls, result.abandoned, result.model) == (len(queued), abandoned, "erlang_a")
    assert result.aht == pytest.approx(aht, rel=1e-12)
    assert result.mean_patience == pytest.approx(patience, rel=1e-12)
    by_cell: dict[tuple[int, int], list[CallRecord]] = {}
    for record in queued:
        moment = datetime.fromtimestamp(record.arrived, ZONE)
        by_cell.setdefault((moment.weekday(), moment.hour), []).append(record)
    assert sum(1 for c in result.cells if c.calls) == len(by_cell) > 100
    for (weekday, hour), records in by_cell.items():
        cell = result.cell(weekday, hour)
        own = [r.talk for r in records if r.answered and r.talk is not None]
        cell_aht = sum(own) / len(own) if len(own) >= 10 else aht
        assert (cell.calls, cell.aht_from) == (len(records), "cell" if len(own) >= 10
                                               else "overall")  # fmt: skip
        assert cell.aht == pytest.approx(cell_aht, rel=1e-12)
        rate = len(records) / result.days[weekday]
        assert cell.agents == erlang.agents_needed_with_abandonment(rate, cell_aht, 20, 0.8,
                                                                    patience)  # fmt: skip


# --- memory: a call leaves once it is over ---
def test_a_record_is_handed_on_soon_after_its_call_ends_not_at_the_end_of_the_stream() -> None:
    entries = [e for minute in range(2000) for e in _minute_call(minute)]
    pulled: list[Entry] = []

    def stream() -> Iterator[Entry]:
        for entry in entries:
            pulled.append(entry)
            yield entry

    lags = []
    seen = 0
    for record in finished(stream()):
        seen += 1
        if len(pulled) < len(entries):  # handed on while the stream still flows
            lags.append(pulled[-1].at - (record.arrived + 300))
    assert seen == 2000
    # Each call lasts 5 minutes; its record goes within twice LINGER (and a minute's sweep)
    # of its end: memory holds about that long's worth of calls, however long the journal.
    assert len(lags) > 1900 and max(lags) <= 2 * LINGER + 61


def _minute_call(minute: float) -> list[Entry]:
    at = FIRST_DAY + minute * 60
    call_id = f"c{minute}"
    return [Entry(at, call_id, "arrived", {"plan": "shop"}),
            Entry(at + 300, call_id, "ended", {"outcome": "completed"})]  # fmt: skip


def test_a_long_silent_talk_and_a_note_after_the_end_stay_one_call() -> None:
    at = FIRST_DAY
    entries = [
        Entry(at, "long", "arrived", {"plan": "shop"}),
        Entry(at + 5, "long", "queue_join", {"queue": "sales"}),
        Entry(at + 10, "long", "answered", {"queue": "sales", "wait": "5", "sla": "20"}),
        # Other calls come and go during the three hours of talk, and after.
        *(e for third in range(1, 800) for e in _minute_call(third / 3)),
        Entry(at + 3 * H, "long", "caller_hung_up", {"queue": "sales", "talk": "10790"}),
        Entry(at + 3 * H, "long", "ended", {"outcome": "answered"}),
        Entry(at + 3 * H + 200, "long", "recording_finished", {"file": "long.wav"}),
        Entry(at + 4 * H, "later", "arrived", {"plan": "shop"}),
    ]
    records = [r for r in finished(sorted(entries, key=lambda e: e.at)) if r.call_id == "long"]

    assert records == [
        CallRecord("long", at, plan="shop", queue="sales", answered=True, wait=5.0, sla=20.0,
                   talk=10790.0, outcome="answered")
    ]  # fmt: skip
