"""Exactly once with several sweepers: two bot processes on one database, the bot and cron."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text

from bot.bootstrap import App, bootstrap
from bot.reminders import run_due
from storage.db import make_engine
from storage.models import OutboxEntry, OutboxState
from tests.conftest import FixedClock
from tests.test_reminders_support import Recorder, berlin

ROOT = Path(__file__).resolve().parent.parent
# Minutes around the busiest reminder times of the example municipality: Monday 08:00 (S-2's
# 7-day requests, the digest, overdue reminders), the day before S-2 (agenda), a Wednesday.
MOMENTS = [
    berlin(2026, 11, 30, 7, 59),
    berlin(2026, 11, 30, 8, 0),
    berlin(2026, 11, 30, 8, 1),
    berlin(2026, 12, 2, 8, 0),
    berlin(2026, 12, 8, 8, 0),
    berlin(2026, 12, 8, 8, 1),
]


def second_process(app: App) -> App:
    """Another process on the same database: its own engine, pool and connections."""
    engine = make_engine(str(app.engine.url.render_as_string(hide_password=False)))
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect() as connection:
            search_path = connection.execute(text("SHOW search_path")).scalar()

        @event.listens_for(engine, "connect")
        def _search_path(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute(f"SET search_path TO {search_path}")
            cursor.close()
            dbapi_connection.commit()

    return bootstrap(app.config, clock=FixedClock(), engine=engine, migrate=False)


def delivered_once(app: App) -> list[OutboxEntry]:
    with app.uows() as uow:
        found = list(uow.session.execute(select(OutboxEntry)).scalars())
        uow.session.expunge_all()
    assert found, "the scenario decides reminders"
    assert {(e.state, e.attempts) for e in found} == {(OutboxState.SENT, 1)}, [
        (e.key, e.state, e.attempts)
        for e in found
        if (e.state, e.attempts) != (OutboxState.SENT, 1)
    ]
    return found


def test_two_processes_sweeping_one_database_send_every_reminder_exactly_once(
    app: App, engine: Engine
) -> None:
    other = second_process(app)
    recorders = (Recorder(), Recorder())
    per_moment: list[Counter[str]] = []
    try:
        for moment in MOMENTS:
            start = threading.Barrier(2)
            before = [len(r.sent) for r in recorders]
            errors: list[BaseException] = []

            def run(
                process: App,
                recorder: Recorder,
                moment: datetime = moment,
                start: threading.Barrier = start,
                errors: list[BaseException] = errors,
            ) -> None:
                try:
                    start.wait()
                    asyncio.run(run_due(process, {"console": recorder}, moment))
                except BaseException as error:  # surfaced below
                    errors.append(error)

            threads = [
                threading.Thread(target=run, args=(process, recorder))
                for process, recorder in zip((app, other), recorders, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            per_moment.append(
                Counter(
                    s.recipient.name
                    for r, n in zip(recorders, before, strict=True)
                    for s in r.sent[n:]
                )
            )
    finally:
        other.engine.dispose()
    entries = delivered_once(app)
    assert len(entries) > 20
    # Never two messages to one recipient for one moment, across both processes.
    assert all(count == 1 for counts in per_moment for count in counts.values()), per_moment
    assert sum(len(r.sent) for r in recorders) == sum(sum(c.values()) for c in per_moment)


def test_the_bot_and_a_cron_run_due_share_sqlite_and_send_every_reminder_once(
    sqlite_app: App, tmp_path: Path
) -> None:
    config = tmp_path / "cron.toml"
    config.write_text(
        f'[database]\nurl = "{sqlite_app.engine.url}"\n[bot]\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    moment = berlin(2026, 11, 30, 8)
    bot = Recorder()
    cron = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "reminders",
            "run-due",
            "--now",
            "2026-11-30T08:00",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The bot ticks (at the same minute) for as long as the cron run is busy.
    rounds = 0
    while cron.poll() is None or rounds < 2:
        asyncio.run(run_due(sqlite_app, {"console": bot}, moment))
        rounds += 1
    out, err = cron.communicate(timeout=60)
    assert cron.returncode == 0, err
    entries = delivered_once(sqlite_app)
    assert len(entries) == 18
    printed = [line[2:-1] for line in out.splitlines() if line.startswith("→ ")]
    # Between them, each recipient got its one message.
    assert Counter(printed + bot.names()) == Counter(set(printed + bot.names()))
    assert len(printed) + len(bot.sent) == 13  # 11 people and rooms, BB and GA
    # And later minutes send nothing again, from either side.
    asyncio.run(run_due(sqlite_app, {"console": bot}, moment + timedelta(minutes=1)))
    assert len(printed) + len(bot.sent) == 13  # 11 people and rooms, BB and GA


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_second_sweeper_on_postgresql_skips_while_the_advisory_lock_is_held(
    app: App, engine: Engine
) -> None:
    from schedules.sweep import ADVISORY_LOCK, run_sweep

    rules = app.rules
    holder = engine.connect()
    try:
        holder.execute(text("SELECT pg_advisory_lock(:id)"), {"id": ADVISORY_LOCK})
        assert run_sweep(app.uows, rules, berlin(2026, 11, 30, 8)).skipped
    finally:
        holder.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": ADVISORY_LOCK})
        holder.close()
    result = run_sweep(app.uows, rules, berlin(2026, 11, 30, 8))
    assert not result.skipped and len(result.recorded) == 18
