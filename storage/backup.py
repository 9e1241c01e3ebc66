"""Backup and restore: SQLite's online copy, and a portable dump that either backend restores.

Two kinds of backup file (docs/operations.md, "Backup and restore"):

- a **SQLite file copy** (FILE ending .db, .sqlite or .sqlite3; SQLite only), taken with
  SQLite's online backup API from one read snapshot, so writers go on meanwhile (WAL);
- a **portable dump** (any other ending; both backends): gzip'd JSON lines, written by this
  module from one snapshot (one REPEATABLE READ transaction on PostgreSQL, one read transaction
  on SQLite). Line 1 is the header {format, version, revision, created_at, source}; then per
  table, in dependency order, {"table", "columns", "kinds"}, one JSON array per row and
  {"end": table, "rows": n}; the last line {"end": FORMAT, "tables", "rows"} shows the file
  is whole.

Both are read by reflection of the schema at the backup's revision, not by the models, so a
backup of an older revision still restores: `restore` builds the schema at that revision,
loads the rows, fixes PostgreSQL's id sequences and then upgrades to the newest revision.
A SQLite file copy restores into PostgreSQL by being read as a source database.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import table as table_clause
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    TypeEngine,
)

from storage.db import WRITE_OPTION
from storage.migrate import HEAD_REVISION, current_revision, upgrade

FORMAT = "regelkreis-dump"
FORMAT_VERSION = 1
SQLITE_ENDINGS = (".db", ".sqlite", ".sqlite3")
SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"
VERSION_TABLE = "alembic_version"
# Filled by the migrations themselves (0003: the seven fields of action, six trends): rows
# there do not make a database "not empty", and the backup's own catalog replaces them.
SCHEMA_FILLED = frozenset({"fields_of_action", "trends"})
# Rows per INSERT batch on restore, and per fetch on backup: bounded memory at any size.
BATCH = 1000


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is one line for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    kind: str  # "SQLite file copy" or "portable dump"
    revision: str
    tables: int
    rows: int
    size: int  # bytes
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    kind: str
    source: str  # the backend the backup was taken from
    revision: str  # the backup's schema revision
    upgraded_to: str  # the schema's revision afterwards
    tables: int
    rows: int
    seconds: float


@dataclass
class _TableRows:
    name: str
    columns: list[str]
    kinds: list[str]
    rows: Iterator[list[Any]]  # encoded as in the dump (see _encode)
    expected: Callable[[], int | None]  # the row count the source states, once read


@dataclass
class _Source:
    kind: str
    revision: str
    backend: str
    tables: Iterator[_TableRows]


# -- backup -------------------------------------------------------------------------------------


def backup(engine: Engine, path: Path | str) -> BackupResult:
    """Write a backup of the database to `path` while others go on writing.

    A SQLite file copy for the endings in SQLITE_ENDINGS (SQLite only), else a portable dump.
    The file appears whole or not at all (written beside it, then renamed).
    """
    started = time.monotonic()
    path = Path(path)
    revision = current_revision(engine)
    if revision is None:
        raise BackupError("the database has no schema yet: there is nothing to back up")
    copy = path.suffix.lower() in SQLITE_ENDINGS
    if copy and engine.dialect.name != "sqlite":
        raise BackupError(
            f"{path}: a {path.suffix} file is a SQLite copy, and this database is "
            f"{engine.dialect.name}: name the backup e.g. {path.with_suffix('.rkdump').name}"
        )
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        live = Path(database).resolve()
        if path.resolve() in (live, Path(f"{live}-wal"), Path(f"{live}-shm")):
            raise BackupError(f"{path} is the database itself: write the backup elsewhere")
    partial = path.with_name(f".{path.name}.partial")
    try:
        if copy:
            revision, tables, rows = _sqlite_copy(engine, partial)
        else:
            revision, tables, rows = _write_dump(engine, partial)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(
        path=path,
        kind="SQLite file copy" if copy else "portable dump",
        revision=revision,
        tables=tables,
        rows=rows,
        size=path.stat().st_size,
        seconds=time.monotonic() - started,
    )


def _sqlite_copy(engine: Engine, target: Path) -> tuple[str, int, int]:
    target.unlink(missing_ok=True)
    pooled = engine.raw_connection()
    try:
        live = pooled.driver_connection
        assert isinstance(live, sqlite3.Connection)
        copy = sqlite3.connect(target)
        try:
            # pages=-1: every page in one step, from one read snapshot; in WAL mode writers
            # go on meanwhile (stepwise, every write of another connection restarts it).
            live.backup(copy)
            # One self-contained file: no -wal beside the copy.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    finally:
        pooled.close()
    with _reader(target) as connection:
        revision = _revision(connection)
        names = _data_tables(connection)
        rows = sum(_count(connection, name) for name in names)
    return revision, len(names), rows


def _write_dump(engine: Engine, target: Path) -> tuple[str, int, int]:
    with _snapshot(engine) as connection:
        revision = _revision(connection)
        source = _Source("database", revision, engine.dialect.name, _read_tables(connection))
        with gzip.open(target, "wt", encoding="utf-8", compresslevel=6) as out:
            return revision, *_write(out, source)


def _write(out: IO[str], source: _Source) -> tuple[int, int]:
    def line(value: object) -> None:
        out.write(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")

    line(
        {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "revision": source.revision,
            "created_at": datetime.now(UTC).isoformat(),
            "source": source.backend,
        }
    )
    tables = total = 0
    for table in source.tables:
        line({"table": table.name, "columns": table.columns, "kinds": table.kinds})
        count = 0
        for row in table.rows:
            line(row)
            count += 1
        line({"end": table.name, "rows": count})
        tables += 1
        total += count
    line({"end": FORMAT, "tables": tables, "rows": total})
    return tables, total


@contextlib.contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One connection in one read transaction: every table as of one moment."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(text("SET TRANSACTION READ ONLY"))
                yield connection
            return
        # SQLite in WAL mode: a read transaction sees the database as of its first read.
        with connection.begin():
            yield connection


def _revision(connection: Connection) -> str:
    versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    if len(versions) != 1:
        raise BackupError("the database has no single schema revision")
    return str(versions[0][0])


def _data_tables(connection: Connection) -> list[str]:
    return [name for name in inspect(connection).get_table_names() if name != VERSION_TABLE]


def _count(connection: Connection, name: str) -> int:
    return int(
        connection.execute(select(func.count()).select_from(table_clause(name))).scalar_one()
    )


def _reflect(connection: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return [table for table in metadata.sorted_tables if table.name != VERSION_TABLE]


def _read_tables(connection: Connection) -> Iterator[_TableRows]:
    """Every table's rows, parents before children, each in primary-key order."""
    for table in _reflect(connection):
        kinds = [_kind(table, column) for column in table.columns]
        # JSON as the text stored, so that SQL NULL and a JSON null stay apart.
        selected = [
            cast(column, Text) if kind == "json" else column
            for column, kind in zip(table.columns, kinds, strict=True)
        ]
        query = select(*selected).order_by(*table.primary_key.columns)
        result = connection.execution_options(yield_per=BATCH).execute(query)
        rows = (
            [_encode(kind, value) for kind, value in zip(kinds, row, strict=True)] for row in result
        )
        yield _TableRows(table.name, [c.name for c in table.columns], kinds, rows, lambda: None)


def _kind(table: Table, column: Column[Any]) -> str:
    """How a column's values are written in the dump."""
    kinds: Sequence[tuple[type[TypeEngine[Any]], str]] = (
        (JSON, "json"),
        (Boolean, "boolean"),
        (DateTime, "datetime"),
        (Date, "date"),
        (Integer, "integer"),
        (Float, "float"),
        (Numeric, "decimal"),
        (LargeBinary, "bytes"),
        (String, "text"),
    )
    for type_, kind in kinds:
        if isinstance(column.type, type_):
            return kind
    raise BackupError(f"column {table.name}.{column.name}: type {column.type!r} has no dump form")


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        # SQLite keeps UTC without an offset (storage/models.py UTCDateTime).
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if kind == "date":
        return value.isoformat()
    if kind == "boolean":
        return bool(value)
    if kind == "float":
        return float(value)
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value  # integer, text, json (its text)


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value).astimezone(UTC)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "json":
        document = json.loads(value)
        return JSON.NULL if document is None else document
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


# -- reading a backup ---------------------------------------------------------------------------


@contextlib.contextmanager
def _reader(path: Path) -> Iterator[Connection]:
    """A SQLite file opened read-only: reading a backup must not change it."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@contextlib.contextmanager
def _open_backup(path: Path) -> Iterator[_Source]:
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BackupError(f"{path}: cannot read the backup: {error.strerror}") from None
    if magic == SQLITE_MAGIC:
        with _reader(path) as connection:
            try:
                revision = _revision(connection)
            except DBAPIError as error:
                reason = str(error.orig).splitlines()[0]
                raise BackupError(f"{path}: not a Regelkreis database ({reason})") from None
            yield _Source("SQLite file copy", revision, "sqlite", _read_tables(connection))
        return
    if not magic.startswith(GZIP_MAGIC):
        raise BackupError(f"{path}: neither a portable dump nor a SQLite file copy")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        try:
            header = json.loads(lines.readline())
        except (OSError, EOFError, ValueError):
            raise BackupError(f"{path}: not a Regelkreis portable dump") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise BackupError(f"{path}: not a Regelkreis portable dump")
        if header.get("version") != FORMAT_VERSION:
            raise BackupError(
                f"{path}: dump format version {header.get('version')}, this regelkreis reads "
                f"version {FORMAT_VERSION}: restore it with the version that wrote it"
            )
        yield _Source(
            "portable dump",
            str(header["revision"]),
            str(header["source"]),
            _dump_tables(path, lines),
        )


def _dump_tables(path: Path, lines: IO[str]) -> Iterator[_TableRows]:
    def records() -> Iterator[Any]:
        try:
            for line in lines:
                yield json.loads(line)
        except (OSError, EOFError, ValueError) as error:
            raise BackupError(f"{path}: the dump is damaged ({error})") from None
        raise BackupError(f"{path}: the dump ends early (cut off?)")

    stream = records()
    while True:
        record = next(stream)
        if isinstance(record, dict) and record.get("end") == FORMAT:
            return
        if not isinstance(record, dict) or "table" not in record:
            raise BackupError(f"{path}: the dump is damaged (a table was expected)")
        end: dict[str, Any] = {}

        def rows(name: str = record["table"], end: dict[str, Any] = end) -> Iterator[list[Any]]:
            for row in stream:
                if isinstance(row, list):
                    yield row
                    continue
                if isinstance(row, dict) and row.get("end") == name:
                    end.update(row)
                    return
                raise BackupError(f"{path}: the dump is damaged in table {name}")

        def stated(end: dict[str, Any] = end) -> int | None:
            count = end.get("rows")
            return count if isinstance(count, int) else None

        table = _TableRows(record["table"], record["columns"], record["kinds"], rows(), stated)
        yield table
        for _row in table.rows:  # the loader stopped early: skip to the table's end
            pass


# -- restore ------------------------------------------------------------------------------------


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


def restore(engine: Engine, path: Path | str) -> RestoreResult:
    """Load a backup into an empty database, then upgrade its schema to the newest revision.

    Refused (BackupError, nothing changed) for a database with rows, a backup of a schema
    revision this program does not know, or a file that is no backup. The rows load in one
    transaction: a damaged file leaves the schema at the backup's revision without rows.
    """
    started = time.monotonic()
    path = Path(path)
    with _open_backup(path) as source:
        if source.revision not in known_revisions():
            raise BackupError(
                f"{path}: a backup of schema revision {source.revision}, which this regelkreis "
                f"does not know (its newest is {HEAD_REVISION}): restore it with a newer "
                "regelkreis"
            )
        _refuse_unless_empty(engine)
        _schema_at(engine, source.revision)
        with (
            engine.connect().execution_options(**{WRITE_OPTION: True}) as connection,
            connection.begin(),
        ):
            tables, rows = _load(connection, source, path)
    upgrade(engine)
    return RestoreResult(
        path=path,
        kind=source.kind,
        source=source.backend,
        revision=source.revision,
        upgraded_to=current_revision(engine) or "?",
        tables=tables,
        rows=rows,
        seconds=time.monotonic() - started,
    )


def _refuse_unless_empty(engine: Engine) -> None:
    with engine.connect() as connection:
        filled = [
            f"{count} in {name}"
            for name in sorted(_data_tables(connection))
            if name not in SCHEMA_FILLED and (count := _count(connection, name))
        ]
    if filled:
        shown = ", ".join(filled[:4]) + (", …" if len(filled) > 4 else "")
        raise BackupError(
            f"the database is not empty (rows: {shown}): a backup is restored into an empty "
            "database only; nothing was changed"
        )


def _schema_at(engine: Engine, revision: str) -> None:
    """The schema at exactly `revision`: created, or an empty one of another revision rebuilt."""
    present = current_revision(engine)
    if present == revision:
        return
    if present is not None:
        with engine.begin() as connection:
            for table in reversed(_reflect(connection)):
                table.drop(connection)
            connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    upgrade(engine, revision)


def _load(connection: Connection, source: _Source, path: Path) -> tuple[int, int]:
    tables = {table.name: table for table in _reflect(connection)}
    # Whatever the schema filled in (the catalogs) gives way to the backup's own rows.
    for emptied in reversed(list(tables.values())):
        connection.execute(emptied.delete())
    count = total = 0
    for rows in source.tables:
        table = tables.get(rows.name)
        if table is None:
            raise BackupError(
                f"{path}: table {rows.name} is not in the schema at revision {source.revision}"
            )
        missing = [name for name in rows.columns if name not in table.c]
        if missing:
            raise BackupError(f"{path}: {rows.name} has columns the schema lacks: {missing}")
        loaded = _load_table(connection, table, rows)
        expected = rows.expected()
        if expected is not None and expected != loaded:
            raise BackupError(f"{path}: {rows.name}: {loaded} rows read, the dump says {expected}")
        count += 1
        total += loaded
    if connection.dialect.name == "postgresql":
        _fix_sequences(connection, list(tables.values()))
    return count, total


def _load_table(connection: Connection, table: Table, rows: _TableRows) -> int:
    for column in table.columns:
        if isinstance(column.type, JSON):
            # None is SQL NULL; a JSON null comes as JSON.NULL (_decode).
            column.type = type(column.type)(none_as_null=True)
    # A reference to a row of the same table (a deputy, a parent goal) may point forward:
    # inserted empty, filled in once the whole table is there.
    later = [
        c.name
        for c in table.columns
        if c.nullable and any(fk.column.table is table for fk in c.foreign_keys)
    ]
    keys = [c.name for c in table.primary_key.columns]
    updates: list[dict[str, Any]] = []
    loaded = 0
    copy = connection.dialect.name == "postgresql"
    for batch in _batches(rows.rows, BATCH):
        values = []
        for row in batch:
            record = {
                name: _decode(kind, value)
                for name, kind, value in zip(rows.columns, rows.kinds, row, strict=True)
            }
            pointers = {name: record[name] for name in later if record.get(name) is not None}
            if pointers:
                updates.append({**{f"k_{k}": record[k] for k in keys}, **pointers})
                record.update(dict.fromkeys(pointers))
            values.append(record)
        if copy:
            _copy(connection, table, rows.columns, values)
        else:
            connection.execute(table.insert(), values)
        loaded += len(values)
    for name in later:
        filled = [u for u in updates if name in u]
        if filled:
            statement = (
                table.update()
                .where(*[table.c[k] == bindparam(f"k_{k}") for k in keys])
                .values({name: bindparam(name)})
            )
            connection.execute(
                statement,
                [{**{f"k_{k}": u[f"k_{k}"] for k in keys}, name: u[name]} for u in filled],
            )
    return loaded


def _copy(
    connection: Connection, table: Table, columns: list[str], records: list[dict[str, Any]]
) -> None:
    """PostgreSQL's COPY, in the restore's transaction: a third of the time of an executemany
    of INSERTs (which psycopg sends row by row), and no statement to compile per batch."""
    from psycopg.types.json import Json

    quote = connection.dialect.identifier_preparer.quote
    documents = {c.name for c in table.columns if isinstance(c.type, JSON)}
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as rows:
        for record in records:
            rows.write_row(
                [
                    Json(None if value is JSON.NULL else value)
                    if name in documents and value is not None
                    else value
                    for name, value in ((c, record[c]) for c in columns)
                ]
            )


def _fix_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """Each id sequence goes on after the highest id loaded (PostgreSQL counts separately)."""
    quote = connection.dialect.identifier_preparer.quote
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer):
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": quote(table.name), "column": keys[0].name},
        ).scalar()
        if sequence is None:
            continue
        column, name = quote(keys[0].name), quote(table.name)
        connection.execute(
            text(
                f"SELECT setval(:sequence, COALESCE((SELECT MAX({column}) FROM {name}), 1), "
                f"(SELECT MAX({column}) FROM {name}) IS NOT NULL)"
            ),
            {"sequence": sequence},
        )


def _batches(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
