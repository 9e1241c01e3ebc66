"""Backup and restore (storage/backup.py): taken while two people report, restored across backends.

The operator's story: the pilot runs on SQLite; `regelkreis backup` runs from cron while staff
report in chat; one day the municipality moves to PostgreSQL and restores the pilot's backup
there. Every report whose reply had come before the backup began is in the restored database,
the restored database is one consistent moment (no report without its measure's change), and
the bot goes on on it. A restore into a database with data, or of a schema this version does
not know, is refused and changes nothing.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_URL, Chat, FixedClock, make_app, postgres_engine, sqlite_engine
from sqlalchemy import Engine, Text, cast, select, text
from sqlalchemy.types import JSON

from bot.bootstrap import App, bootstrap
from handlers.core import Reply
from storage import events
from storage.backup import BackupError, backup, restore
from storage.migrate import HEAD_REVISION, current_revision, upgrade
from storage.models import Base, Measure, StatusReport

ROOT = Path(__file__).resolve().parent.parent
WRITERS = [("Markus Becker", "jugendamt", 1), ("Julia Richter", "jugendamt", 1)]
REPORTS_EACH = 12


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as the program reads them, in primary-key order; JSON as stored text
    (so SQL NULL and a JSON null differ)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [cast(c, Text) if isinstance(c.type, JSON) else c for c in table.columns]
            query = select(*columns).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in connection.execute(query)]
    return found


@contextlib.contextmanager
def database(into: str, folder: Path) -> Iterator[Engine]:
    """A database on `into`'s backend: SQLite's file in `folder` (a new one: empty, without a
    schema), or a fresh PostgreSQL schema (empty), dropped afterwards."""
    events.install()
    factory = sqlite_engine(folder) if into == "sqlite" else postgres_engine()
    try:
        yield next(factory)
    finally:
        for _rest in factory:  # runs the factory on past its yield: its clean-up
            pass


@pytest.fixture
def pilot(tmp_path: Path, clock: FixedClock) -> Iterator[Engine]:
    """A SQLite pilot with the example municipality (the source of most backups here)."""
    with database("sqlite", tmp_path / "pilot") as engine:
        upgrade(engine)
        make_app(engine, clock)
        yield engine


def writers_report(app: App, started: threading.Event) -> tuple[list[threading.Thread], list[Any]]:
    """Two people report on M-1 over and over, each from their own thread.

    Each finished report is logged as (note, monotonic time its reply came); `started` is set
    once each has had a few replies.
    """
    log: list[Any] = []
    lock = threading.Lock()
    warm = threading.Barrier(len(WRITERS) + 1)

    def report(name: str, room: str, ref: int, index: int) -> None:
        chat = Chat(app, name, room)
        for n in range(REPORTS_EACH):
            note = f"Bericht {index}-{n}"
            reply: Reply = chat.reply(f"melden M-{ref} {10 + n * 5 + index}% {note}")
            with lock:
                log.append((note, reply.outcome, time.monotonic()))
            if n == 2:
                warm.wait(timeout=60)

    threads = [
        threading.Thread(target=report, args=(*writer, index))
        for index, writer in enumerate(WRITERS)
    ]
    for thread in threads:
        thread.start()
    warm.wait(timeout=60)
    started.set()
    return threads, log


def restored_app(engine: Engine, source: App) -> App:
    return bootstrap(source.config, clock=source.clock, engine=engine, migrate=False)


CASES = [
    pytest.param(".db", "sqlite", id="sqlite-copy-into-sqlite"),
    pytest.param(".rkdump", "sqlite", id="dump-into-sqlite"),
    pytest.param(".db", "postgresql", id="sqlite-copy-into-postgresql", marks=pytest.mark.postgres),
    pytest.param(".rkdump", "postgresql", id="dump-into-postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize(("ending", "into"), CASES)
def test_a_backup_taken_while_two_people_report_restores_every_committed_report(
    engine: Engine, clock: FixedClock, tmp_path: Path, ending: str, into: str
) -> None:
    if ending == ".db" and engine.dialect.name != "sqlite":
        pytest.skip("a SQLite file copy is taken of SQLite only (refused: see below)")
    app = make_app(engine, clock)
    before_reports = len(_reports(engine))
    version_before = _version(engine)
    started = threading.Event()
    threads, log = writers_report(app, started)
    started.wait(timeout=60)
    begun = time.monotonic()
    made = backup(engine, tmp_path / f"backup{ending}")
    for thread in threads:
        thread.join(timeout=120)
    assert [outcome for _note, outcome, _at in log] == ["ok"] * len(WRITERS) * REPORTS_EACH
    committed_before = {note for note, _outcome, at in log if at < begun}
    assert len(committed_before) >= len(WRITERS) * 3

    with database(into, tmp_path / "other") as other:
        done = restore(other, made.path)
        assert (done.revision, done.upgraded_to) == (HEAD_REVISION, HEAD_REVISION)
        assert current_revision(other) == HEAD_REVISION

        # Every report answered before the backup began is there...
        restored = _reports(other)
        assert committed_before <= {note for _id, note, _old, _new in restored}
        # ...and the backup is one moment: the source's first reports, in the same order, and
        # M-1 as the last of them left it, at the version they made.
        assert before_reports < len(restored) <= before_reports + len(log)
        assert restored == _reports(engine)[: len(restored)]
        with other.connect() as connection:
            progress = connection.execute(select(Measure.progress).where(Measure.id == 1))
            assert progress.scalar_one() == restored[-1][3]
        assert _version(other) == version_before + len(restored) - before_reports

        # The bot goes on on the restored database: new ids follow the restored ones.
        again = Chat(restored_app(other, app), "Markus Becker", "jugendamt")
        assert again.say("melden M-1 99% nach der Wiederherstellung").startswith(
            "Bericht zu M-1 gespeichert"
        )
        assert _reports(other)[-1][0] == restored[-1][0] + 1


def _version(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(Measure.version).where(Measure.id == 1)).scalar_one())


def test_a_quiet_backup_restores_every_row_exactly_into_either_backend(
    engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    """Row by row, every table: dates, times with time zone, JSON (and its nulls), booleans."""
    app = make_app(engine, clock)
    anna = Chat(app, "Anna Schmidt", "koordination")
    anna.say("melden M-1 85% Träger gefunden")
    with engine.begin() as connection:
        # A stored JSON null is not SQL NULL: both must come back as they were.
        connection.execute(text("UPDATE measures SET extra_fields = 'null' WHERE id = 2"))
        connection.execute(text("UPDATE measures SET extra_fields = NULL WHERE id = 3"))
    expected = contents(engine)
    dump = backup(engine, tmp_path / "quiet.rkdump")
    copy = backup(engine, tmp_path / "quiet.db") if engine.dialect.name == "sqlite" else None
    for into in ("sqlite", "postgresql"):
        for made in (dump, copy):
            if made is None:
                continue
            with database(into, tmp_path / made.path.suffix[1:]) as target:
                restore(target, made.path)
                assert contents(target) == expected, (into, made.kind)


def test_a_restore_into_a_database_with_data_is_refused_and_changes_nothing(
    engine: Engine, pilot: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    dump = backup(pilot, tmp_path / "pilot.rkdump")

    make_app(engine, clock)  # the example municipality: a database with data
    before = contents(engine)
    with pytest.raises(BackupError) as refused:
        restore(engine, dump.path)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("the database is not empty (rows: ")
    assert message.endswith("a backup is restored into an empty database only; nothing was changed")
    assert contents(engine) == before


def test_a_freshly_migrated_database_counts_as_empty(
    engine: Engine, pilot: Engine, tmp_path: Path
) -> None:
    """The schema's own catalog rows do not make a database "not empty"; the backup's
    catalog (here with a renamed entry) replaces them."""
    with pilot.begin() as connection:
        connection.execute(text("UPDATE trends SET name = 'Klimakrise' WHERE name = 'Klimawandel'"))
    expected = contents(pilot)
    dump = backup(pilot, tmp_path / "pilot.rkdump")
    restore(engine, dump.path)  # `engine` is migrated: its catalogs are filled
    assert contents(engine) == expected


def _rewrite_header(dump: Path, target: Path, **changes: Any) -> None:
    with gzip.open(dump, "rt", encoding="utf-8") as lines:
        header, *rest = lines.readlines()
    with gzip.open(target, "wt", encoding="utf-8") as out:
        out.write(json.dumps({**json.loads(header), **changes}) + "\n")
        out.writelines(rest)


def test_a_backup_of_a_revision_this_version_does_not_know_is_refused(
    engine: Engine, pilot: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    dump = backup(pilot, tmp_path / "pilot.rkdump")
    copy = backup(pilot, tmp_path / "pilot.db")
    newer = tmp_path / "newer.rkdump"
    _rewrite_header(dump.path, newer, revision="0999")
    with contextlib.closing(sqlite3.connect(copy.path)) as file, file:
        file.execute("UPDATE alembic_version SET version_num = '0999'")

    with engine.begin() as connection:  # an empty database without a schema
        connection.execute(text("DROP TABLE alembic_version"))
    with engine.connect() as connection:
        tables_before = sorted(engine.dialect.get_table_names(connection))
    for path in (newer, copy.path):
        with pytest.raises(BackupError) as refused:
            restore(engine, path)
        assert str(refused.value) == (
            f"{path}: a backup of schema revision 0999, which this regelkreis does not know "
            f"(its newest is {HEAD_REVISION}): restore it with a newer regelkreis"
        )
    with engine.connect() as connection:
        assert sorted(engine.dialect.get_table_names(connection)) == tables_before


def test_a_backup_of_an_older_schema_is_restored_and_upgraded(
    engine: Engine, tmp_path: Path
) -> None:
    with database("sqlite", tmp_path / "old") as old:
        upgrade(old, "0003")
        with old.begin() as connection:
            connection.execute(
                text("INSERT INTO departments (key, name) VALUES ('JA', 'Jugendamt')")
            )
        dump = backup(old, tmp_path / "old.rkdump")
    assert dump.revision == "0003"
    done = restore(engine, dump.path)  # `engine` is at the newest revision: rebuilt at 0003
    assert (done.revision, done.upgraded_to) == ("0003", HEAD_REVISION)
    with engine.connect() as connection:
        assert [
            tuple(row) for row in connection.execute(text("SELECT key, name FROM departments"))
        ] == [("JA", "Jugendamt")]


def test_a_damaged_dump_loads_nothing(engine: Engine, pilot: Engine, tmp_path: Path) -> None:
    dump = backup(pilot, tmp_path / "pilot.rkdump")
    with gzip.open(dump.path, "rt", encoding="utf-8") as lines:
        whole = lines.readlines()
    cut = tmp_path / "cut.rkdump"
    with gzip.open(cut, "wt", encoding="utf-8") as out:
        out.writelines(whole[: len(whole) * 2 // 3])
    with pytest.raises(BackupError, match=r"cut\.rkdump: the dump ends early \(cut off\?\)"):
        restore(engine, cut)
    assert contents(engine)["measures"] == []
    restore(engine, dump.path)  # still empty: the whole dump loads afterwards
    assert len(contents(engine)["measures"]) > 0


def test_backup_refusals(engine: Engine, tmp_path: Path) -> None:
    if engine.dialect.name == "postgresql":
        with pytest.raises(BackupError, match=r"a \.db file is a SQLite copy, and this database "):
            backup(engine, tmp_path / "x.db")
    else:
        live = Path(str(engine.url.database))
        with pytest.raises(BackupError, match="is the database itself"):
            backup(engine, live)
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(BackupError, match="neither a portable dump nor a SQLite file copy"):
        (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
        restore(engine, tmp_path / "notes.txt")
    other = tmp_path / "other program.db"
    with contextlib.closing(sqlite3.connect(other)) as file, file:
        file.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(BackupError) as refused:
        restore(engine, other)
    assert str(refused.value) == (
        f"{other}: not a Regelkreis database (no such table: alembic_version)"
    )
    assert current_revision(engine) == HEAD_REVISION


def regelkreis(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, as a child process."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args, "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=180,
        check=False,
    )


def _config(path: Path, url: str) -> Path:
    path.write_text(
        f'[database]\nurl = "{url}"\n[bot]\ndata_dir = "{path.parent / "data"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.postgres
def test_the_operator_moves_the_pilot_from_sqlite_to_postgresql_on_the_command_line(
    tmp_path: Path,
) -> None:
    pilot_db = tmp_path / "pilot" / "regelkreis.db"
    pilot = _config(tmp_path / "pilot.toml", f"sqlite:///{pilot_db}")
    assert regelkreis(pilot, "demo").returncode == 0
    made = regelkreis(pilot, "backup", str(tmp_path / "pilot.rkdump"))
    assert (made.returncode, made.stderr) == (0, "")
    assert made.stdout.startswith(
        f"Backup written: {tmp_path / 'pilot.rkdump'} (portable dump of sqlite:///{pilot_db}, "
        f"schema revision {HEAD_REVISION}, "
    )

    with database("postgresql", tmp_path) as production:
        with production.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        config = _config(tmp_path / "production.toml", url)
        done = regelkreis(config, "restore", str(tmp_path / "pilot.rkdump"))
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout.startswith(
            f"Restored {tmp_path / 'pilot.rkdump'} (portable dump from sqlite, schema revision "
            f"{HEAD_REVISION}, the newest) into "
        )
        with database("sqlite", pilot_db.parent) as pilot_engine:
            assert contents(production) == contents(pilot_engine)
        again = regelkreis(config, "restore", str(tmp_path / "pilot.rkdump"))
        assert again.returncode == 2
        assert again.stderr.startswith("regelkreis: the database is not empty (rows: ")
        assert again.stderr.count("\n") == 1


def _reports(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    StatusReport.id,
                    StatusReport.note,
                    StatusReport.old_progress,
                    StatusReport.new_progress,
                ).order_by(StatusReport.id)
            )
        ]
