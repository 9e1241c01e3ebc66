"""Storage on SQLite and PostgreSQL: migrations, constraints, unit of work, lookup, outbox."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.bootstrap import bootstrap
from bot.config import Config
from handlers.core import Reply
from handlers.ports import Delivery, Recipient
from schedules.delivery import deliver_due
from storage import events
from storage.demo import ensure_demo
from storage.lookup import Kind, NameLookup
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import (
    ChatIdentity,
    Department,
    Measure,
    MeasureStatus,
    OutboxEntry,
    OutboxState,
    Person,
    Role,
)
from storage.uow import UnitOfWorkFactory
from tests.conftest import BERLIN, NOW, TODAY, Chat, FixedClock

EXPECTED_TABLES = {
    "departments",
    "department_aliases",
    "people",
    "chat_identities",
    "room_links",
    "fields_of_action",
    "trends",
    "goals",
    "goal_trends",
    "planning_areas",
    "measures",
    "measure_participants",
    "status_reports",
    "indicators",
    "indicator_values",
    "meetings",
    "meeting_departments",
    "decisions",
    "decision_measures",
    "decision_goals",
    "audit_entries",
    "outbox",
    "pending_choices",
    "pending_imports",
    "plan_import_items",
    "plan_imports",
    "received_files",
    "sent_messages",
    "name_revisions",
    "locks",
}


def _department(uows: UnitOfWorkFactory, key: str = "JA", name: str = "Jugendamt") -> int:
    with uows(write=True) as uow:
        department = Department(key=key, name=name)
        uow.session.add(department)
        uow.commit()
        return department.id


def _measure(uows: UnitOfWorkFactory, department_id: int, title: str) -> int:
    with uows(write=True) as uow:
        measure = Measure(title=title, lead_department_id=department_id, created_at=NOW)
        uow.session.add(measure)
        uow.commit()
        return measure.id


# -- migrations ---------------------------------------------------------------------------


def test_migrations_build_the_whole_schema_from_empty(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES


def test_upgrade_again_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_downgrade_and_upgrade_round_trip(engine: Engine) -> None:
    from alembic import command

    from storage.migrate import alembic_config

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert "measures" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES


# -- constraints and types ----------------------------------------------------------------


def test_sqlite_runs_with_foreign_keys_and_wal(sqlite_only_engine: Engine) -> None:
    upgrade(sqlite_only_engine)
    with sqlite_only_engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_measure_of_a_missing_department_is_refused(uows: UnitOfWorkFactory) -> None:
    with uows(write=True) as uow, pytest.raises(IntegrityError):
        uow.session.add(Measure(title="Ohne Ressort", lead_department_id=999, created_at=NOW))
        uow.session.flush()


def test_two_people_cannot_share_a_chat_identity(uows: UnitOfWorkFactory) -> None:
    with uows(write=True) as uow:
        uow.session.add(
            Person(
                name="Eins",
                role=Role.READ,
                identities=[ChatIdentity(platform="telegram", user_id="42")],
            )
        )
        uow.commit()
    with uows(write=True) as uow, pytest.raises(IntegrityError):
        uow.session.add(
            Person(
                name="Zwei",
                role=Role.READ,
                identities=[ChatIdentity(platform="telegram", user_id="42")],
            )
        )
        uow.session.flush()


def test_times_come_back_aware_in_utc_and_statuses_as_german_words(
    uows: UnitOfWorkFactory, engine: Engine
) -> None:
    department_id = _department(uows)
    local = datetime(2027, 3, 31, 23, 30, tzinfo=BERLIN)
    with uows(write=True) as uow:
        measure = Measure(
            title="Zeitstempel",
            lead_department_id=department_id,
            created_at=local,
            status=MeasureStatus.IN_PROGRESS,
        )
        uow.session.add(measure)
        uow.commit()
        measure_id = measure.id
    with uows() as uow:
        loaded = uow.session.get(Measure, measure_id)
        assert loaded is not None
        assert loaded.created_at == local and loaded.created_at.tzinfo is not None
        assert loaded.status is MeasureStatus.IN_PROGRESS
    with engine.connect() as connection:
        raw = connection.execute(
            text("SELECT status FROM measures WHERE id = :i"), {"i": measure_id}
        ).scalar()
    assert raw == "laufend"


def test_the_next_report_due_day_follows_the_interval(uows: UnitOfWorkFactory) -> None:
    department_id = _department(uows)
    with uows(write=True) as uow:
        measure = Measure(
            title="Monatlich berichten",
            lead_department_id=department_id,
            created_at=datetime(2026, 1, 31, 12, tzinfo=UTC),
            evaluation_interval="monatlich",
        )
        uow.session.add(measure)
        uow.commit()
        assert measure.evaluation_due_on == date(2026, 2, 28)
        measure.last_report_at = datetime(2026, 3, 10, 9, tzinfo=UTC)
        measure.evaluation_interval = "6 Wochen"
        uow.commit()
        assert measure.evaluation_due_on == date(2026, 4, 21)


def test_due_days_are_counted_in_the_configured_zone(engine: Engine) -> None:
    # 12:00 UTC on 31 January is already 1 February on Kiritimati (UTC+14): a municipality
    # configured there counts the month from 1 February, Berlin from 31 January.
    config = Config.model_validate({"municipality": {"timezone": "Pacific/Kiritimati"}})
    app = bootstrap(config, engine=engine)
    department_id = _department(app.uows)
    with app.uows(write=True) as uow:
        measure = Measure(
            title="Monatlich berichten",
            lead_department_id=department_id,
            created_at=datetime(2026, 1, 31, 12, tzinfo=UTC),
            evaluation_interval="monatlich",
        )
        uow.session.add(measure)
        uow.commit()
        assert measure.evaluation_due_on == date(2026, 3, 1)


def test_the_municipality_lives_in_the_configuration_not_in_a_table(engine: Engine) -> None:
    upgrade(engine)
    assert "municipality" not in inspect(engine).get_table_names()


@pytest.mark.postgres
def test_a_connection_the_server_dropped_while_idle_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No ping on every checkout (a round trip per message), but one after idling: here
    # every connection counts as idle, and the server has ended the pooled one.
    from storage import db
    from tests.conftest import PG_URL, make_app, postgres_engine

    events.install()
    factory = postgres_engine()
    engine = next(factory)
    try:
        upgrade(engine)
        backends: list[int] = []
        event.listen(engine, "connect", lambda dbapi, _r: backends.append(dbapi.info.backend_pid))
        engine.dispose()  # from here on, every pooled connection is one we know
        anna = Chat(make_app(engine, FixedClock()), "Anna Schmidt")
        assert "Anna Schmidt" in anna.say("wer bin ich")
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        admin = create_engine(PG_URL)
        with admin.begin() as connection:
            for pid in backends:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        reply = anna.say("wer bin ich")
        assert "Anna Schmidt" in reply, reply
    finally:
        factory.close()


# -- unit of work -------------------------------------------------------------------------


def test_a_reading_unit_of_work_cannot_write(uows: UnitOfWorkFactory) -> None:
    # On PostgreSQL reads run in autocommit: a flush there would land at once, so it fails.
    with uows() as uow:
        uow.session.add(Department(key="XX", name="Heimlich"))
        with pytest.raises(RuntimeError, match="reading unit of work"):
            uow.session.flush()
    with uows() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Department)) == 0


def test_nothing_is_kept_without_commit(uows: UnitOfWorkFactory) -> None:
    department_id = _department(uows)
    with uows(write=True) as uow:
        uow.session.add(
            Measure(title="Verworfen", lead_department_id=department_id, created_at=NOW)
        )
        uow.session.flush()
    with uows() as uow:
        assert uow.session.execute(select(func.count()).select_from(Measure)).scalar() == 0


def test_an_error_inside_rolls_everything_back(uows: UnitOfWorkFactory) -> None:
    department_id = _department(uows)
    with pytest.raises(RuntimeError), uows(write=True) as uow:
        uow.session.add(Measure(title="Halb", lead_department_id=department_id, created_at=NOW))
        uow.session.flush()
        raise RuntimeError("mitten im Befehl")
    with uows() as uow:
        assert uow.session.execute(select(func.count()).select_from(Measure)).scalar() == 0


def test_concurrent_writers_queue_instead_of_failing(uows: UnitOfWorkFactory) -> None:
    """Eight threads each add ten to one measure's progress: every increment is kept."""
    department_id = _department(uows)
    measure_id = _measure(uows, department_id, "Zähler")
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(10):
                with uows(write=True) as uow:
                    measure = uow.session.execute(
                        select(Measure).where(Measure.id == measure_id).with_for_update()
                    ).scalar_one()
                    measure.version += 1
                    uow.commit()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with uows() as uow:
        measure = uow.session.get(Measure, measure_id)
        assert measure is not None and measure.version == 1 + 80


# -- lookup -------------------------------------------------------------------------------


def test_references_resolve_by_id_exact_name_and_fragment(uows: UnitOfWorkFactory) -> None:
    with uows(write=True) as uow:
        ensure_demo(uow.session, TODAY)
        uow.commit()
    lookup = NameLookup()
    with uows() as uow:
        session = uow.session
        assert lookup.resolve(session, "M-3", [Kind.MEASURE]).match.id == 3  # type: ignore[union-attr]
        by_title = lookup.resolve(session, "Sprachförderung im Ganztag", [Kind.MEASURE]).match
        assert by_title is not None and by_title.id == 3
        alias = lookup.resolve(session, "Amt 51", [Kind.DEPARTMENT]).match
        assert alias is not None and alias.label == "Jugendamt (JA)"
        ambiguous = lookup.resolve(session, "sprachförd", [Kind.MEASURE])
        assert ambiguous.ambiguous
        assert [m.ref for m in ambiguous.candidates] == ["M-1", "M-2", "M-3"]
        folded = lookup.resolve(session, "sprachfoerderung ganztag", [Kind.MEASURE]).match
        assert folded is not None and folded.id == 3
        typo = lookup.resolve(session, "Notunterkumft", [Kind.MEASURE]).match
        assert typo is not None and typo.id == 43
        assert lookup.resolve(session, "M-999", [Kind.MEASURE]).match is None


def test_a_rename_elsewhere_reaches_every_lookup_cache(uows: UnitOfWorkFactory) -> None:
    """Two lookups stand for two bot processes sharing one database."""
    department_id = _department(uows)
    measure_id = _measure(uows, department_id, "Spielplatz Nordstadt")
    first, second = NameLookup(), NameLookup()
    with uows() as uow:
        assert first.resolve(uow.session, "spielplatz", [Kind.MEASURE]).match is not None
        assert second.resolve(uow.session, "spielplatz", [Kind.MEASURE]).match is not None
    with uows(write=True) as uow:
        measure = uow.session.get(Measure, measure_id)
        assert measure is not None
        measure.title = "Bolzplatz Nordstadt"
        uow.commit()
    new_id = _measure(uows, department_id, "Wasserspielplatz Hafen")
    with uows() as uow:
        renamed = first.resolve(uow.session, "bolzplatz", [Kind.MEASURE]).match
        assert renamed is not None and renamed.id == measure_id
        added = second.resolve(uow.session, "wasserspiel", [Kind.MEASURE]).match
        assert added is not None and added.id == new_id


# -- outbox -------------------------------------------------------------------------------


class RecordingNotifier:
    """A platform that answers with the deliveries it is given, and records what it got."""

    def __init__(self, platform: str, *answers: Delivery) -> None:
        self.platform = platform
        self.answers = list(answers)
        self.sent: list[tuple[Recipient, str, str]] = []

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        self.sent.append((recipient, message.plain(), idempotency_key))
        return self.answers.pop(0) if self.answers else Delivery.delivered("m1")


def _person_with_two_platforms(uows: UnitOfWorkFactory) -> int:
    with uows(write=True) as uow:
        person = Person(
            name="Max Müller",
            role=Role.DEPARTMENT,
            last_platform="telegram",
            identities=[
                ChatIdentity(platform="matrix", user_id="@max:stadt.de"),
                ChatIdentity(platform="telegram", user_id="4711"),
            ],
        )
        uow.session.add(person)
        uow.session.flush()
        uow.session.add(
            OutboxEntry(
                key="assign:M-1:v2:person:1",
                kind="assignment",
                person_id=person.id,
                text="📌 M-1 ist Ihnen zugewiesen",
                due_at=NOW,
                created_at=NOW,
            )
        )
        uow.commit()
        return person.id


def _entry(uows: UnitOfWorkFactory) -> OutboxEntry:
    with uows() as uow:
        entry = uow.session.execute(select(OutboxEntry)).scalar_one()
        uow.session.expunge(entry)
        return entry


def test_an_outbox_key_is_recorded_once(uows: UnitOfWorkFactory) -> None:
    _person_with_two_platforms(uows)
    with uows(write=True) as uow, pytest.raises(IntegrityError):
        uow.session.add(
            OutboxEntry(
                key="assign:M-1:v2:person:1",
                kind="assignment",
                text="doppelt",
                due_at=NOW,
                created_at=NOW,
            )
        )
        uow.session.flush()


def test_delivery_goes_first_where_the_person_last_wrote(uows: UnitOfWorkFactory) -> None:
    _person_with_two_platforms(uows)
    telegram, matrix = RecordingNotifier("telegram"), RecordingNotifier("matrix")
    sent = asyncio.run(deliver_due(uows, {"telegram": telegram, "matrix": matrix}, NOW))
    assert sent == 1
    assert [(r.address, key) for r, _text, key in telegram.sent] == [
        ("4711", "assign:M-1:v2:person:1")
    ]
    assert matrix.sent == []
    assert _entry(uows).state is OutboxState.SENT
    # A second run sends nothing again.
    assert asyncio.run(deliver_due(uows, {"telegram": telegram, "matrix": matrix}, NOW)) == 0
    assert len(telegram.sent) == 1


def test_a_permanent_failure_falls_through_to_the_next_platform(uows: UnitOfWorkFactory) -> None:
    _person_with_two_platforms(uows)
    telegram = RecordingNotifier("telegram", Delivery.permanent("user never started the bot"))
    matrix = RecordingNotifier("matrix")
    asyncio.run(deliver_due(uows, {"telegram": telegram, "matrix": matrix}, NOW))
    assert len(telegram.sent) == 1 and len(matrix.sent) == 1
    entry = _entry(uows)
    assert entry.state is OutboxState.SENT and entry.delivered_to is not None
    assert "matrix:@max:stadt.de" in entry.delivered_to


def test_a_temporary_failure_is_retried_on_the_next_run(uows: UnitOfWorkFactory) -> None:
    _person_with_two_platforms(uows)
    telegram = RecordingNotifier("telegram", Delivery.temporary("429 retry after 3"))
    matrix = RecordingNotifier("matrix")
    asyncio.run(deliver_due(uows, {"telegram": telegram, "matrix": matrix}, NOW))
    assert _entry(uows).state is OutboxState.PENDING and matrix.sent == []
    asyncio.run(
        deliver_due(uows, {"telegram": telegram, "matrix": matrix}, NOW + timedelta(minutes=1))
    )
    entry = _entry(uows)
    assert entry.state is OutboxState.SENT and entry.attempts == 2
    assert len(telegram.sent) == 2


def test_two_deliverers_send_an_entry_once(uows: UnitOfWorkFactory) -> None:
    _person_with_two_platforms(uows)
    first, second = RecordingNotifier("telegram"), RecordingNotifier("telegram")

    threads = [
        threading.Thread(target=asyncio.run, args=(deliver_due(uows, {"telegram": n}, NOW),))
        for n in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(first.sent) + len(second.sent) == 1


# -- schema and leases --------------------------------------------------------------------


def test_the_models_and_the_migrations_agree(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_lease_has_one_holder_until_it_expires_or_is_released(
    uows: UnitOfWorkFactory,
) -> None:
    from storage.locks import acquire, holder_of, release

    ttl = timedelta(seconds=30)
    assert acquire(uows, "telegram:poller", "bot-a", NOW, ttl)
    assert not acquire(uows, "telegram:poller", "bot-b", NOW + timedelta(seconds=5), ttl)
    assert acquire(uows, "telegram:poller", "bot-a", NOW + timedelta(seconds=20), ttl)  # renew
    assert holder_of(uows, "telegram:poller", NOW + timedelta(seconds=40)) == "bot-a"
    # bot-a died: after its lease ran out, bot-b takes over.
    assert acquire(uows, "telegram:poller", "bot-b", NOW + timedelta(seconds=51), ttl)
    release(uows, "telegram:poller", "bot-a")  # not the holder: nothing happens
    assert holder_of(uows, "telegram:poller", NOW + timedelta(seconds=52)) == "bot-b"
    release(uows, "telegram:poller", "bot-b")
    assert holder_of(uows, "telegram:poller", NOW + timedelta(seconds=52)) is None


def test_the_migrations_have_exactly_one_head_and_no_gaps() -> None:
    """Every revision sits on the one before it: a branch would leave two heads, and a
    database would upgrade to one of them only."""
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [script.get_current_head()]
    chain = [revision.revision for revision in script.walk_revisions()]
    assert chain == sorted(chain, reverse=True)
    assert chain[-1] == "0001" and len(chain) == int(chain[0])


def test_the_head_revision_written_in_storage_is_alembics() -> None:
    # A start on an up-to-date schema compares with HEAD_REVISION instead of loading Alembic:
    # a new migration must move it, or every start would try to upgrade.
    from storage.migrate import HEAD_REVISION

    assert head_revision() == HEAD_REVISION
