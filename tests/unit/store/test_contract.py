"""The journal port's contract, run against every adapter."""

from __future__ import annotations

from ivr.store.port import Entry, JournalStore

DAY = 86400.0
T0 = 1_795_000_000.0  # 2026-11-18, any fixed moment will do


def test_read_returns_appended_entries_in_time_order(journal: JournalStore) -> None:
    journal.append("c1", "arrived", {"plan": "shop", "caller_name": "Иван «ü»"}, T0)
    journal.append("c1", "tag", {"tag": "orders"}, T0 + 1.25)
    journal.append("", "agent_request", {"agent": "a1"}, T0 + 2)

    assert list(journal.read(T0, T0 + 10)) == [
        Entry(T0, "c1", "arrived", {"plan": "shop", "caller_name": "Иван «ü»"}),
        Entry(T0 + 1.25, "c1", "tag", {"tag": "orders"}),
        Entry(T0 + 2, "", "agent_request", {"agent": "a1"}),
    ]


def test_read_window_includes_start_and_excludes_end(journal: JournalStore) -> None:
    for second in range(5):
        journal.append(f"c{second}", "arrived", {}, T0 + second)

    assert [e.call_id for e in journal.read(T0 + 1, T0 + 3)] == ["c1", "c2"]
    assert list(journal.read(T0 + 10, T0 + 20)) == []


def test_an_entry_stamped_earlier_than_the_last_is_still_kept_and_found(
    journal: JournalStore,
) -> None:
    journal.append("late", "arrived", {}, T0 + 5)
    journal.append("early", "arrived", {}, T0 + 4)  # a clock step back

    assert {e.call_id for e in journal.read(T0 + 4, T0 + 4.5)} == {"early"}
    assert {e.call_id for e in journal.read(T0, T0 + 10)} == {"early", "late"}


def test_prune_forgets_older_entries(journal: JournalStore) -> None:
    journal.append("old", "arrived", {}, T0 - 100 * DAY)
    journal.append("new", "arrived", {}, T0)

    assert journal.prune(T0 - 90 * DAY) == 1
    assert [e.call_id for e in journal.read(0, T0 + 1)] == ["new"]
    assert journal.prune(T0 - 90 * DAY) == 0


def test_many_entries_page_through(journal: JournalStore) -> None:
    for n in range(2500):
        journal.append(f"c{n}", "ring", {"n": str(n)}, T0 + n / 100)

    entries = list(journal.read(T0, T0 + 100))

    assert len(entries) == 2500
    assert entries[-1] == Entry(T0 + 24.99, "c2499", "ring", {"n": "2499"})
