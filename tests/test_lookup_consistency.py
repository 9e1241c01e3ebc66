"""The name lookup stays right while other transactions write (issue 10).

What a user notices: a measure is found, or not found, by its id and by a fragment of its
title. The lookup keeps an in-memory index per kind; these tests change the database behind
its back the ways a second process or a second thread of the same bot would: commits in
another order than the ids, renames, deletes, and a role changed between two messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

import storage.lookup as lookup_module
from bot.bootstrap import App
from storage import events
from storage.lookup import Kind, NameLookup, bump_name_revisions
from storage.migrate import upgrade
from storage.models import Department, Measure, Person, Role
from storage.uow import UnitOfWorkFactory
from tests.conftest import NOW, Chat, postgres_engine


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database (skipped where PostgreSQL is not running)."""
    events.install()
    for engine in postgres_engine():  # one engine; the loop's end drops its schema
        upgrade(engine)
        yield engine


def _department(uows: UnitOfWorkFactory) -> int:
    with uows(write=True) as uow:
        department = Department(key="JA", name="Jugendamt")
        uow.session.add(department)
        uow.commit()
        return department.id


def _measure(uows: UnitOfWorkFactory, department_id: int, title: str, **values: Any) -> int:
    with uows(write=True) as uow:
        measure = Measure(title=title, lead_department_id=department_id, created_at=NOW, **values)
        uow.session.add(measure)
        uow.commit()
        return measure.id


def _by_id(lookup: NameLookup, uows: UnitOfWorkFactory, measure_id: int) -> int | None:
    """The measure `M-<id>` names, as the lookup answers it (None: not found)."""
    with uows() as uow:
        found = lookup.resolve(uow.session, f"M-{measure_id}", [Kind.MEASURE]).match
        return found.id if found else None


def _by_fragment(lookup: NameLookup, uows: UnitOfWorkFactory, fragment: str) -> int | None:
    with uows() as uow:
        found = lookup.resolve(uow.session, fragment, [Kind.MEASURE]).match
        return found.id if found else None


# -- ids that commit out of order ---------------------------------------------------------


@pytest.mark.postgres
def test_a_measure_committed_after_one_with_a_higher_id_is_found(pg_engine: Engine) -> None:
    """Transaction A takes id N, transaction B takes N+1 and commits first, the lookup
    looks, then A commits: M-N and a fragment of A's title must find A (issue 10)."""
    uows = UnitOfWorkFactory(pg_engine)
    department_id = _department(uows)
    lookup = NameLookup()
    _measure(uows, department_id, "Spielplatz Nordstadt")
    assert _by_fragment(lookup, uows, "spielplatz") is not None  # the index is warm

    first = uows(write=True)
    with first:
        slow = Measure(
            title="Quellwasserbrunnen Ostpark", lead_department_id=department_id, created_at=NOW
        )
        first.session.add(slow)
        first.session.flush()
        slow_id = slow.id

        fast_ids: list[int] = []
        pid: list[int] = []
        errors: list[BaseException] = []

        def second_transaction() -> None:
            try:
                with uows(write=True) as uow:
                    pid.append(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
                    fast = Measure(
                        title="Lindenallee Westpark",
                        lead_department_id=department_id,
                        created_at=NOW,
                    )
                    uow.session.add(fast)
                    uow.session.flush()
                    fast_ids.append(fast.id)
                    uow.commit()
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        other = threading.Thread(target=second_transaction)
        other.start()
        # B either commits at once, or waits for a lock A holds (then it commits after A):
        # either way the lookup looks now, before A commits. Asked of the database, not timed.
        _wait_until(lambda: not other.is_alive() or _waits_for_a_lock(pg_engine, pid))
        assert _by_fragment(lookup, uows, "lindenallee") in (*fast_ids, None)
        first.commit()
    other.join(timeout=60)
    assert not other.is_alive() and errors == []
    assert fast_ids and fast_ids[0] > slow_id

    assert _by_id(lookup, uows, slow_id) == slow_id, f"M-{slow_id} is not found by its id"
    assert _by_fragment(lookup, uows, "quellwasser") == slow_id, (
        f"M-{slow_id} is not found by a fragment of its title"
    )
    assert _by_fragment(lookup, uows, "lindenallee") == fast_ids[0]
    # Another process's lookup, started afresh, agrees.
    assert _by_fragment(NameLookup(), uows, "quellwasser") == slow_id


def test_a_measure_inserted_below_the_highest_id_is_found(uows: UnitOfWorkFactory) -> None:
    """An id lower than one the index has seen (an import with its ids, or a transaction
    that committed late) is found by id and by fragment."""
    department_id = _department(uows)
    lookup = NameLookup()
    high = _measure(uows, department_id, "Spielplatz Nordstadt", id=50)
    assert _by_fragment(lookup, uows, "spielplatz") == high
    low = _measure(uows, department_id, "Quellwasserbrunnen Ostpark", id=7)
    assert _by_id(lookup, uows, low) == low, "M-7 is not found by its id"
    assert _by_fragment(lookup, uows, "quellwasser") == low, "M-7 is not found by fragment"
    assert _by_fragment(lookup, uows, "spielplatz") == high


# -- renames and deletes -------------------------------------------------------------------
# A rename seen by a second lookup (another process's cache) is
# tests/test_storage.py::test_a_rename_elsewhere_reaches_every_lookup_cache.


def test_a_deleted_measure_is_no_longer_found(uows: UnitOfWorkFactory) -> None:
    department_id = _department(uows)
    gone = _measure(uows, department_id, "Quellwasserbrunnen Ostpark")
    kept = _measure(uows, department_id, "Quellwasserbecken Nordstadt")
    here, elsewhere = NameLookup(), NameLookup()
    for lookup in (here, elsewhere):
        with uows() as uow:
            assert lookup.resolve(uow.session, "quellwasser", [Kind.MEASURE]).ambiguous
    with uows(write=True) as uow:
        measure = uow.session.get(Measure, gone)
        assert measure is not None
        uow.session.delete(measure)
        uow.commit()
    for lookup in (here, elsewhere):
        assert _by_fragment(lookup, uows, "quellwasser") == kept
        assert _by_fragment(lookup, uows, "ostpark") is None
        assert _by_id(lookup, uows, gone) is None


def test_a_rename_takes_the_old_name_away(uows: UnitOfWorkFactory) -> None:
    department_id = _department(uows)
    measure_id = _measure(uows, department_id, "Quellwasserbrunnen Ostpark")
    lookup = NameLookup()
    assert _by_fragment(lookup, uows, "quellwasser") == measure_id
    with uows(write=True) as uow:
        measure = uow.session.get(Measure, measure_id)
        assert measure is not None
        measure.title = "Trinkbrunnen Ostpark"
        uow.commit()
    assert _by_fragment(lookup, uows, "quellwasser") is None
    assert _by_fragment(lookup, uows, "trinkbrunnen") == measure_id
    with uows() as uow:
        found = lookup.resolve(uow.session, f"M-{measure_id}", [Kind.MEASURE]).match
        assert found is not None and found.label == f"M-{measure_id} Trinkbrunnen Ostpark"


def test_a_name_changed_in_an_open_transaction_stays_out_of_the_shared_index(
    uows: UnitOfWorkFactory,
) -> None:
    """A command that renames, resolves, then fails (rolled back) must not leave its
    uncommitted name in the index every other message uses."""
    department_id = _department(uows)
    measure_id = _measure(uows, department_id, "Quellwasserbrunnen Ostpark")
    lookup = NameLookup()
    assert _by_fragment(lookup, uows, "quellwasser") == measure_id
    with uows(write=True) as uow:
        measure = uow.session.get(Measure, measure_id)
        assert measure is not None
        measure.title = "Trinkbrunnen Ostpark"
        uow.session.flush()
        # The transaction sees its own rename ...
        found = lookup.resolve(uow.session, "trinkbrunnen", [Kind.MEASURE]).match
        assert found is not None and found.id == measure_id
        uow.rollback()
    # ... and nobody else ever does.
    assert _by_fragment(lookup, uows, "trinkbrunnen") is None
    assert _by_fragment(lookup, uows, "quellwasser") == measure_id
    # The next committed change of measures is not mistaken for the rolled-back one.
    added = _measure(uows, department_id, "Lindenallee Westpark")
    assert _by_fragment(lookup, uows, "lindenallee") == added
    assert _by_fragment(lookup, uows, "trinkbrunnen") is None


# -- the lock ------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["rename", "rebuild"])
def test_the_index_is_built_outside_the_lock(
    uows: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """While one thread brings the measure index up to date (after a rename, or a rebuild
    of the whole kind), the lookup's lock is free, and another thread resolves a department
    and a measure by id in the meantime. Checked inside the build, not by timing."""
    department_id = _department(uows)
    measure_id = _measure(uows, department_id, "Quellwasserbrunnen Ostpark")
    lookup = NameLookup()
    assert _by_fragment(lookup, uows, "quellwasser") == measure_id
    with uows() as uow:  # the department index is warm too
        assert lookup.resolve(uow.session, "Jugendamt", [Kind.DEPARTMENT]).match is not None

    with uows(write=True) as uow:
        if change == "rename":
            measure = uow.session.get(Measure, measure_id)
            assert measure is not None
            measure.title = "Trinkbrunnen Ostpark"
        else:
            bump_name_revisions(uow.session, [Kind.MEASURE])
        uow.commit()

    real_load = lookup_module._load
    held: list[bool] = []
    meanwhile: list[object] = []

    def observed_load(*args: Any, **kwargs: Any) -> Any:
        if args and args[1] is Kind.MEASURE:
            held.append(lookup._lock.locked())
            if not held[-1]:
                reader = threading.Thread(target=resolve_elsewhere)
                reader.start()
                reader.join(timeout=60)
                if reader.is_alive():  # pragma: no cover - only if the lock were taken
                    meanwhile.append("blocked")
        return real_load(*args, **kwargs)

    def resolve_elsewhere() -> None:
        with uows() as uow:
            department = lookup.resolve(uow.session, "jugendamt", [Kind.DEPARTMENT]).match
            by_id = lookup.resolve(uow.session, f"M-{measure_id}", [Kind.MEASURE]).match
            meanwhile.append((department and department.id, by_id and by_id.id))

    monkeypatch.setattr(lookup_module, "_load", observed_load)
    found = _by_fragment(lookup, uows, "trinkbrunnen" if change == "rename" else "quellwasser")
    assert found == measure_id
    assert held, "the measure index was not brought up to date"
    assert not any(held), "the measure index was built while holding the lookup's lock"
    assert meanwhile == [(department_id, measure_id)]


# -- roles between two messages ------------------------------------------------------------


def test_a_role_lowered_from_the_command_line_counts_on_the_next_message(app: App) -> None:
    """The operator lowers a coordinator to `lesen` (there is no role command on the
    command line: the change goes through a unit of work, as the command line writes);
    the very next `neu` is refused with the role it needs, and raising it again works."""
    jonas = Chat(app, "Jonas Weber")
    assert jonas.reply('neu "Sprachcafé Ost" ressort:JA').outcome == "ok"
    assert jonas.reply("wer bin ich").outcome == "ok"

    def set_role(role: Role) -> None:
        with app.uows(write=True) as uow:
            person = uow.session.execute(
                select(Person).where(Person.name == "Jonas Weber")
            ).scalar_one()
            person.role = role
            uow.commit()

    set_role(Role.READ)
    refused = jonas.reply('neu "Sprachcafé West" ressort:JA')
    assert refused.outcome == "refused", refused.plain()
    assert "koordination" in refused.plain() and "lesen" in refused.plain()
    with app.uows() as uow:
        titles = uow.session.execute(select(Measure.title)).scalars().all()
        assert "Sprachcafé West" not in titles

    set_role(Role.COORDINATION)
    assert jonas.reply('neu "Sprachcafé West" ressort:JA').outcome == "ok"


# -- helpers -------------------------------------------------------------------------------


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:  # pragma: no cover - a hung database
            raise AssertionError("the second transaction neither committed nor waited")
        time.sleep(0.01)


def _waits_for_a_lock(engine: Engine, pid: list[int]) -> bool:
    if not pid:
        return False
    with engine.connect() as connection:
        wait = connection.execute(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": pid[0]},
        ).scalar()
    return wait == "Lock"
