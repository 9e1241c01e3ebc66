"""The benchmark table: commands through the dispatcher next to a hand-written SQL floor.

Run `python -m bench.run [--sizes 1000,10000,100000] [--backends sqlite,postgresql]
[--repeat 30]`. Prints the machine, then median and p95 per command, backend and size, and
the ratio to the floor (one SQL statement answering the same question through the raw
driver); the same table goes to bench/results/latest.txt. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import rapidfuzz
import sqlalchemy
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from bench.generate import BERLIN, NOW, PLATFORM, TODAY, Generated, generate
from bot.bootstrap import App, bootstrap
from bot.config import Config
from handlers.core import Incoming
from handlers.status import ALL_KINDS
from storage import events
from storage.db import make_engine
from storage.intervals import add_interval
from storage.lookup import NameLookup
from storage.migrate import upgrade
from storage.models import Base

DEFAULT_PG_URL = os.environ.get(
    "REGELKREIS_BENCH_PG",
    os.environ.get("REGELKREIS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
RESULTS = Path(__file__).parent / "results" / "latest.txt"
FRAGMENT = "sprachförd"
# Hits seven of the forty-one topics ("…förderung"): about one measure in six.
BROAD_FRAGMENT = "förder"
OPEN_SQL = "('geplant', 'laufend', 'verzögert', 'gefährdet')"
STATUSES = ("geplant", "laufend", "verzögert", "gefährdet", "erledigt", "abgebrochen")

# Targets of the issue: read commands under 20 ms median at 10k on SQLite, within 3x of the
# floor from 10k up, warm fuzzy resolution under 30 ms at 100k.
READ_LIMIT_MS = 20.0
FLOOR_RATIO = 3.0
FUZZY_LIMIT_MS = 30.0


class FixedClock:
    """Always 27 November 2026, 10:00 in Berlin."""

    def __call__(self) -> datetime:
        return NOW


# -- raw driver access for the floor ----------------------------------------------------


class Raw:
    """One raw DB-API connection (sqlite3 or psycopg) and the SQL differences between them."""

    def __init__(self, connection: Any, dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect

    def sql(self, statement: str) -> str:
        statement = statement.replace("{agg}", "group_concat" if self.is_sqlite else "string_agg")
        return statement if self.is_sqlite else statement.replace("?", "%s")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def value(self, value: Any) -> Any:
        """Dates and times as the application stores them (SQLite: ISO text, naive UTC)."""
        if not self.is_sqlite:
            return value
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def fetch(self, statement: str, *params: Any) -> list[Any]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(self.sql(statement), [self.value(p) for p in params])
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def write(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Several statements in one transaction."""
        cursor = self.connection.cursor()
        try:
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
                for statement, params in statements:
                    cursor.execute(self.sql(statement), [self.value(p) for p in params])
                cursor.execute("COMMIT")
            else:
                with self.connection.transaction():
                    for statement, params in statements:
                        cursor.execute(self.sql(statement), [self.value(p) for p in params])
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


# -- databases ----------------------------------------------------------------------------


@dataclass
class Database:
    engine: Engine
    raw: Callable[[], Raw]
    describe: str


@contextlib.contextmanager
def sqlite_database() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="regelkreis-bench-") as folder:
        path = Path(folder) / "bench.db"
        engine = make_engine(f"sqlite:///{path}")

        def raw() -> Raw:
            connection = sqlite3.connect(path, isolation_level=None)
            # The same settings storage.db gives the application's connections.
            for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
                connection.execute(f"PRAGMA {pragma}")
            return Raw(connection, "sqlite")

        try:
            yield Database(engine, raw, f"file {path.name} in a temporary folder")
        finally:
            engine.dispose()


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[Database]:
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.commit()

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

    def raw() -> Raw:
        connection = psycopg.connect(conninfo, autocommit=True)
        connection.execute(f'SET search_path TO "{schema}"')
        return Raw(connection, "postgresql")

    try:
        yield Database(engine, raw, f"schema {schema}")
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- measuring ----------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    size: int
    name: str
    samples: list[float]
    floor: list[float] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor) if self.floor else None

    @property
    def ratio(self) -> float | None:
        floor = self.floor_median
        return self.median / floor if floor else None

    def verdicts(self) -> list[str]:
        """`<20ms ok`, `3x MISS` … for the targets that apply to this row."""
        out = []
        for target in self.targets:
            if target == "read20":
                out.append(f"<20ms {'ok' if self.median < READ_LIMIT_MS else 'MISS'}")
            elif target == "ratio3" and self.ratio is not None:
                out.append(f"≤3× {'ok' if self.ratio <= FLOOR_RATIO else 'MISS'}")
            elif target == "fuzzy30":
                out.append(f"<30ms {'ok' if self.median < FUZZY_LIMIT_MS else 'MISS'}")
        return out


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 30 samples is the 29th smallest)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


Timed = Callable[[int], float]  # iteration -> milliseconds


def timed(action: Callable[[int], object]) -> Timed:
    def run(i: int) -> float:
        start = time.perf_counter()
        action(i)
        return (time.perf_counter() - start) * 1000

    return run


def measure(
    command: Timed, floor: Timed | None, repeat: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Command and floor alternate, so both see the same machine noise."""
    for i in range(warmup):
        command(i)
        if floor is not None:
            floor(i)
    gc.collect()
    samples: list[float] = []
    floors: list[float] = []
    for i in range(warmup, warmup + repeat):
        samples.append(command(i))
        if floor is not None:
            floors.append(floor(i))
    return samples, floors


# -- the floor statements -----------------------------------------------------------------


# The floors are the fastest single statements we could write: counts from scalar
# subqueries (each one an index range), lists as the first ids from an index, then joined.

LIST = "m.id, m.title, m.status, m.progress, m.deadline, d.key"


def first_ids(where: str, order: str, limit: int) -> str:
    """The rows of the first `limit` ids: the ids come from an index, only those rows are read."""
    return (
        f"SELECT {LIST} FROM measures m JOIN departments d ON d.id = m.lead_department_id\n"
        f"  WHERE m.id IN (SELECT id FROM measures WHERE {where} ORDER BY {order} LIMIT {limit})"
    )


def overview_sql() -> str:
    """The municipality: every count from its own index range, the first three overdue."""
    counts = [
        f"(SELECT count(*) FROM measures WHERE status = '{s}') AS n_{i}"
        for i, s in enumerate(STATUSES)
    ]
    counts += [
        f"(SELECT count(*) FROM measures WHERE status IN {OPEN_SQL} AND deadline < ?) AS overdue",
        f"(SELECT count(*) FROM measures WHERE status IN {OPEN_SQL} AND deadline >= ?"
        " AND deadline <= ?) AS due",
        f"(SELECT count(*) FROM measures WHERE status IN {OPEN_SQL} AND evaluation_due_on < ?)"
        " AS stale",
    ]
    newline = ",\n    "
    return f"""
SELECT c.*, o.* FROM (
  SELECT {newline.join(counts)}
) c LEFT JOIN (
  {first_ids(f"status IN {OPEN_SQL} AND deadline < ?", "deadline, id", 3)}
) o ON 1 = 1
ORDER BY o.deadline, o.id
"""


def overview_params() -> list[Any]:
    return [TODAY, TODAY, TODAY + timedelta(days=14), TODAY, TODAY]


# A department's measures are those it leads or takes part in (handlers.status
# `_of_department`); the header also counts the ones it leads.
IN_DEPARTMENT = (
    "(lead_department_id = ? OR id IN "
    "(SELECT measure_id FROM measure_participants WHERE department_id = ?))"
)


def department_overview_sql() -> str:
    """A department: one pass over its measures with conditional sums (faster than a count
    per question once the scope is `lead OR participates`), the first three overdue."""
    sums = ",\n    ".join(
        f"sum(CASE WHEN m.status = '{s}' THEN 1 ELSE 0 END) AS n_{i}"
        for i, s in enumerate(STATUSES)
    )
    return f"""
WITH s AS (
  SELECT id FROM measures WHERE lead_department_id = ?
  UNION SELECT measure_id FROM measure_participants WHERE department_id = ?
)
SELECT c.*, o.* FROM (
  SELECT count(*) AS total,
    {sums},
    sum(CASE WHEN m.status IN {OPEN_SQL} AND m.deadline < ? THEN 1 ELSE 0 END) AS overdue,
    sum(CASE WHEN m.status IN {OPEN_SQL} AND m.deadline >= ? AND m.deadline <= ?
        THEN 1 ELSE 0 END) AS due,
    sum(CASE WHEN m.status IN {OPEN_SQL} AND m.evaluation_due_on < ? THEN 1 ELSE 0 END)
        AS stale,
    sum(CASE WHEN m.lead_department_id = ? THEN 1 ELSE 0 END) AS led
  FROM measures m JOIN s ON s.id = m.id
) c LEFT JOIN (
  {first_ids(f"status IN {OPEN_SQL} AND deadline < ? AND {IN_DEPARTMENT}", "deadline, id", 3)}
) o ON 1 = 1
ORDER BY o.deadline, o.id
"""


def department_overview_params(department_id: int) -> list[Any]:
    d = department_id
    return [d, d, TODAY, TODAY, TODAY + timedelta(days=14), TODAY, d, TODAY, d, d]


def due_sql(scoped: bool) -> str:
    scope = f" AND {IN_DEPARTMENT}" if scoped else ""
    where = f"status IN {OPEN_SQL} AND deadline >= ? AND deadline <= ?{scope}"
    return f"""
SELECT l.*, (SELECT count(*) FROM measures WHERE {where}) AS total
FROM ({first_ids(where, "deadline, id", 10)}) l
ORDER BY l.deadline, l.id
"""


def due_params(department_id: int | None) -> list[Any]:
    scope = [] if department_id is None else [department_id, department_id]
    where = [TODAY, TODAY + timedelta(days=14), *scope]
    return [*where, *where]


MINE_WHERE = f"""responsible_id = (SELECT person_id FROM chat_identities
                          WHERE platform = ? AND user_id = ?) AND status IN {OPEN_SQL}"""
MINE_SQL = f"""
SELECT l.*, (SELECT count(*) FROM measures WHERE {MINE_WHERE}) AS total
FROM ({first_ids(MINE_WHERE, "deadline IS NULL, deadline, id", 10)}) l
ORDER BY l.deadline IS NULL, l.deadline, l.id
"""

DETAIL_SQL = """
SELECT m.id, m.title, m.description, m.status, m.progress, m.deadline, m.version,
       m.evaluation_interval, m.evaluation_due_on, d.key, d.name, p.name, g.id, g.title, a.name,
       (SELECT {agg}(pd.key, ', ') FROM measure_participants mp
        JOIN departments pd ON pd.id = mp.department_id WHERE mp.measure_id = m.id),
       r.at, r.note, rp.name
FROM measures m
JOIN departments d ON d.id = m.lead_department_id
LEFT JOIN people p ON p.id = m.responsible_id
LEFT JOIN goals g ON g.id = m.goal_id
LEFT JOIN planning_areas a ON a.id = m.planning_area_id
LEFT JOIN status_reports r ON r.id = (SELECT id FROM status_reports WHERE measure_id = m.id
                                      ORDER BY at DESC, id DESC LIMIT 1)
LEFT JOIN people rp ON rp.id = r.person_id
WHERE m.id = ?
"""

FUZZY_SQL = "SELECT id, title FROM measures WHERE lower(title) LIKE ? LIMIT 5"
ALL_TITLES_SQL = "SELECT id, title FROM measures"

WHOAMI_SQL = """
SELECT p.id, p.name, p.role, d.key, d.name, r.id, r.department_id
FROM chat_identities ci JOIN people p ON p.id = ci.person_id
LEFT JOIN departments d ON d.id = p.department_id
LEFT JOIN room_links r ON r.platform = ? AND r.room_id = ?
WHERE ci.platform = ? AND ci.user_id = ?
"""

REPORT_UPDATE_SQL = """
UPDATE measures SET progress = ?, last_report_at = ?, evaluation_due_on = ?,
  status = CASE WHEN status = 'geplant' THEN 'laufend' ELSE status END, version = version + 1
WHERE id = ?
"""
REPORT_INSERT_SQL = """
INSERT INTO status_reports (measure_id, person_id, at, old_status, new_status, old_progress,
  new_progress, note, origin_platform, origin_room, origin_message_id)
VALUES (?, ?, ?, 'laufend', 'laufend', 40, 50, 'Notiz', 'console', ?, ?)
"""
AUDIT_INSERT_SQL = """
INSERT INTO audit_entries (at, person_id, actor, action, entity_kind, entity_id, entity_version,
  before, after, origin_platform, origin_room, origin_message_id)
VALUES (?, ?, ?, 'report', 'measure', ?, NULL, ?, ?, 'console', ?, ?)
"""


# -- one backend at one size --------------------------------------------------------------


@dataclass
class Context:
    app: App
    raw: Raw
    data: Generated
    backend: str
    size: int
    repeat: int
    warmup: int
    cold_repeat: int
    results: list[Result]
    message: int = 0

    def say(self, sender: str, room: str, text_: str, expect: Sequence[str] = ("ok",)) -> None:
        self.message += 1
        reply = self.app.dispatcher.handle(
            Incoming(PLATFORM, room, sender, text_, message_id=f"bench-{self.message}")
        )
        if reply.outcome not in expect:
            raise RuntimeError(f"{text_!r} answered {reply.outcome}: {reply.plain()[:300]}")

    def record(
        self,
        name: str,
        command: Timed,
        floor: Timed | None,
        targets: Sequence[str] = (),
        *,
        repeat: int | None = None,
    ) -> None:
        samples, floors = measure(command, floor, repeat or self.repeat, self.warmup)
        applicable = [
            t
            for t in targets
            if (t == "read20" and self.backend == "sqlite" and self.size == 10_000)
            or (t == "ratio3" and self.size >= 10_000)
            or (t == "fuzzy30" and self.size >= 100_000)
        ]
        result = Result(self.backend, self.size, name, samples, floors, applicable)
        self.results.append(result)
        floor_text = f"{result.floor_median:8.2f}" if result.floor_median else "       –"
        print(
            f"  {name:<38} {result.median:8.2f} ms  p95 {result.p95:8.2f}  floor {floor_text}",
            file=sys.stderr,
            flush=True,
        )


def department_id(ctx: Context, key: str) -> int:
    rows = ctx.raw.fetch("SELECT id FROM departments WHERE key = ?", key)
    return int(rows[0][0])


def run_cases(ctx: Context) -> None:
    data, raw = ctx.data, ctx.raw
    coordinator, member, room = data.coordinator, data.member, data.member_room
    unlinked = "bench-konsole"
    member_department = department_id(ctx, data.member_department)
    like = "%sprachf%"

    def cold(_i: int) -> float:
        lookup = NameLookup()
        with ctx.app.uows() as uow:
            start = time.perf_counter()
            lookup.resolve(uow.session, FRAGMENT, ALL_KINDS)
            return (time.perf_counter() - start) * 1000

    ctx.record(
        "index build (cold resolve)",
        cold,
        timed(lambda _i: raw.fetch(ALL_TITLES_SQL)),
        repeat=ctx.cold_repeat,
    )
    ctx.record(
        "wer bin ich (dispatch baseline)",
        timed(lambda _i: ctx.say(coordinator, unlinked, "wer bin ich")),
        timed(lambda _i: raw.fetch(WHOAMI_SQL, PLATFORM, unlinked, PLATFORM, coordinator)),
    )
    reads = ("read20", "ratio3")
    ctx.record(
        "status (overview, coordinator)",
        timed(lambda _i: ctx.say(coordinator, unlinked, "status")),
        timed(lambda _i: raw.fetch(overview_sql(), *overview_params())),
        reads,
    )
    ctx.record(
        f"status (room of {data.member_department}, member)",
        timed(lambda _i: ctx.say(member, room, "status")),
        timed(
            lambda _i: raw.fetch(
                department_overview_sql(), *department_overview_params(member_department)
            )
        ),
        reads,
    )
    details = data.detail_ids
    ctx.record(
        "status M-<id> (detail)",
        timed(lambda i: ctx.say(coordinator, unlinked, f"status M-{details[i % len(details)]}")),
        timed(lambda i: raw.fetch(DETAIL_SQL, details[i % len(details)])),
        reads,
    )
    ctx.record(
        "fällig 14 (coordinator)",
        timed(lambda _i: ctx.say(coordinator, unlinked, "fällig 14")),
        timed(lambda _i: raw.fetch(due_sql(False), *due_params(None))),
        reads,
    )
    ctx.record(
        f"fällig 14 (room of {data.member_department}, member)",
        timed(lambda _i: ctx.say(member, room, "fällig 14")),
        timed(lambda _i: raw.fetch(due_sql(True), *due_params(member_department))),
        reads,
    )
    ctx.record(
        f"meine ({data.member_open_measures} open)",
        timed(lambda _i: ctx.say(member, room, "meine")),
        timed(lambda _i: raw.fetch(MINE_SQL, PLATFORM, member, PLATFORM, member)),
        reads,
    )
    lookup = ctx.app.dispatcher.lookup

    def warm(_i: int) -> float:
        with ctx.app.uows() as uow:
            start = time.perf_counter()
            lookup.resolve(uow.session, FRAGMENT, ALL_KINDS)
            return (time.perf_counter() - start) * 1000

    ctx.record(
        f"resolve '{FRAGMENT}' (warm index)",
        warm,
        timed(lambda _i: raw.fetch(FUZZY_SQL, like)),
        ("ratio3", "fuzzy30"),
    )

    def warm_broad(_i: int) -> float:
        with ctx.app.uows() as uow:
            start = time.perf_counter()
            lookup.resolve(uow.session, BROAD_FRAGMENT, ALL_KINDS)
            return (time.perf_counter() - start) * 1000

    ctx.record(
        f"resolve '{BROAD_FRAGMENT}' (broad, warm)",
        warm_broad,
        timed(lambda _i: raw.fetch(FUZZY_SQL, "%förder%")),
    )
    ctx.record(
        f"status {FRAGMENT} (dispatcher)",
        timed(lambda _i: ctx.say(coordinator, unlinked, f"status {FRAGMENT}", ("ok", "ambiguous"))),
        timed(lambda _i: raw.fetch(FUZZY_SQL, like)),
        reads,
    )
    reports = data.report_ids
    half = len(reports) // 2 or 1
    member_id = int(
        raw.fetch("SELECT person_id FROM chat_identities WHERE user_id = ?", member)[0][0]
    )
    due_on = add_interval(NOW.astimezone(BERLIN).date(), "quartalsweise")

    def floor_report(i: int) -> None:
        # The second half of the list, so that the floor's writes do not touch the
        # measures the command reports on.
        measure_id = reports[(half + i) % len(reports)]
        message = f"floor-{i}"
        raw.write(
            [
                (REPORT_UPDATE_SQL, (50, NOW, due_on, measure_id)),
                (REPORT_INSERT_SQL, (measure_id, member_id, NOW, room, message)),
                (
                    AUDIT_INSERT_SQL,
                    (
                        NOW,
                        member_id,
                        f"{PLATFORM}:{member}",
                        measure_id,
                        json.dumps({"progress": 40}),
                        json.dumps({"progress": 50, "note": "Notiz"}),
                        room,
                        message,
                    ),
                ),
            ]
        )

    ctx.record(
        "melden M-<id> 50% Notiz (write)",
        timed(lambda i: ctx.say(member, room, f"melden M-{reports[i % half]} 50% Notiz")),
        timed(floor_report),
    )


def run_one(
    backend: str, size: int, args: argparse.Namespace, results: list[Result], setup: list[str]
) -> None:
    factory = sqlite_database() if backend == "sqlite" else postgres_database(args.pg_url)
    with factory as database:
        engine = database.engine
        upgrade(engine)
        start = time.perf_counter()
        data = generate(engine, size, args.seed)
        generated = time.perf_counter() - start
        if backend == "postgresql":
            # What autovacuum does shortly after a bulk load (statistics, visibility map for
            # index-only scans); SQLite is left as the application leaves it (no ANALYZE).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                for table in Base.metadata.sorted_tables:
                    connection.execute(text(f"VACUUM ANALYZE {table.name}"))
        setup.append(
            f"{backend:<10} {size:>7} measures: generated in {generated:5.1f} s "
            f"({data.n_people} people, {data.n_goals} goals, {data.n_reports} reports, "
            f"{data.n_participants} participations)"
        )
        print(setup[-1], file=sys.stderr, flush=True)
        config = Config.model_validate(
            {"municipality": {"name": "Benchstadt"}, "bot": {"language": "de"}}
        )
        app = bootstrap(config, clock=FixedClock(), engine=engine)
        raw = database.raw()
        try:
            run_cases(
                Context(
                    app,
                    raw,
                    data,
                    backend,
                    size,
                    args.repeat,
                    args.warmup,
                    args.cold_repeat,
                    results,
                )
            )
        finally:
            raw.close()


# -- the report -----------------------------------------------------------------------------


def machine(pg_url: str | None) -> list[str]:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    postgres = "not used"
    if pg_url:
        try:
            admin = create_engine(pg_url)
            with admin.connect() as connection:
                postgres = str(connection.execute(text("SHOW server_version")).scalar())
            admin.dispose()
        except Exception as error:  # the header must not fail the run
            postgres = f"unreachable ({str(error).splitlines()[0]})"
    cores = os.cpu_count()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"Date:       {datetime.now(UTC).astimezone():%Y-%m-%d %H:%M %Z}",
        f"Machine:    {cpu}, {cores} cores ({affinity} usable), {memory} RAM, "
        f"{platform.system()} {platform.release()}",
        f"Python:     {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLAlchemy {sqlalchemy.__version__}, rapidfuzz {rapidfuzz.__version__}, "
        f"psycopg {psycopg.__version__}",
        f"SQLite:     {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)",
        f"PostgreSQL: {postgres} (local, TCP)",
    ]


def table(results: list[Result]) -> list[str]:
    header = (
        f"{'backend':<10} {'measures':>8}  {'command':<38} {'median':>8} {'p95':>8}"
        f" {'floor':>8} {'floor95':>8} {'ratio':>7}  targets"
    )
    lines = [header, "-" * len(header)]
    previous: tuple[str, int] | None = None
    for r in results:
        if previous is not None and previous != (r.backend, r.size):
            lines.append("")
        previous = (r.backend, r.size)
        floor = f"{r.floor_median:8.2f}" if r.floor_median is not None else f"{'–':>8}"
        floor95 = f"{percentile(r.floor, 95):8.2f}" if r.floor else f"{'–':>8}"
        ratio = f"{r.ratio:6.1f}×" if r.ratio is not None else f"{'–':>7}"
        lines.append(
            f"{r.backend:<10} {r.size:>8}  {r.name:<38} {r.median:8.2f} {r.p95:8.2f}"
            f" {floor} {floor95} {ratio}  {', '.join(r.verdicts())}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per row")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before a row")
    parser.add_argument("--cold-repeat", type=int, default=3, help="timed cold index builds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "").replace("k", "000")) for s in args.sizes.split(",") if s]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for backend in backends:
        if backend not in ("sqlite", "postgresql"):
            parser.error(f"unknown backend {backend!r} (sqlite, postgresql)")

    events.install()
    results: list[Result] = []
    setup: list[str] = []
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    for backend in backends:
        for size in sizes:
            run_one(backend, size, args, results, setup)
    lines = [
        "Regelkreis benchmark (bench/README.md): milliseconds per command, median and p95 of "
        f"{args.repeat} runs after {args.warmup} warm-up runs ({args.cold_repeat} for the cold "
        "index build);",
        "floor = one hand-written SQL statement answering the same question through the raw "
        "driver, timed alternately with the command; ratio = median / floor median.",
        "",
        *machine(args.pg_url if "postgresql" in backends else None),
        f"Run:        sizes {','.join(map(str, sizes))}, seed {args.seed}, "
        f"total {time.perf_counter() - started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (other work on the "
        "machine shows here)",
        "",
        *setup,
        "",
        *table(results),
        "",
        "Targets: reads < 20 ms median at 10k on SQLite; ≤ 3× floor from 10k up; warm fuzzy "
        "resolution < 30 ms at 100k. Melden is a write, the baseline and the cold build are "
        "shown for reference.",
    ]
    output = "\n".join(lines)
    print(output)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(output + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
