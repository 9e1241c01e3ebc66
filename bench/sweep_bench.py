"""The reminder sweep over synthetic municipalities: time, peak memory and SQL statements.

Run `python -m bench.sweep_bench [--sizes 10000,100000] [--backends sqlite,postgresql]
[--repeat 5]`. Each municipality comes from bench/generate.py (dates relative to Friday
27 November 2026) plus one steering-group meeting on Wednesday 9 December for every
department. Scenarios, each from the same database state:

- idle tick: a minute in which nothing falls due (10:37) — what the bot pays every minute;
- monday 08:00: the busiest minute of the week — 14- and 3-day deadline reminders for the
  weekend and Monday, weekly overdue reminders, report check-ins, the meeting's 7-day
  requests to every department, the weekly digest;
- catch-up 3 days: the bot was down from Friday 08:00 to Monday 08:00.

Targets (issue 5): under 1 s at 100k on SQLite and PostgreSQL; the statement count does not
grow with the number of measures; memory grows with the due reminders, not the measures.
Delivery of the Monday reminders through a notifier that only counts is shown as well
(not a target: it grows with the messages it sends).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, event, insert

from bench.generate import BERLIN, generate
from bench.run import postgres_database
from handlers.core import Reply
from handlers.ports import Delivery, Recipient, ReminderRules
from schedules.delivery import deliver_due
from schedules.sweep import SWEPT_UNTIL, SweepResult, run_sweep
from storage import events
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Meeting, OutboxEntry, PlatformState
from storage.uow import UnitOfWorkFactory

PG_URL = os.environ.get(
    "REGELKREIS_BENCH_PG",
    os.environ.get("REGELKREIS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)
TARGET_MS = 1000.0


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


MONDAY = local(30, 8)
SCENARIOS: list[tuple[str, datetime, datetime]] = [
    # name, swept until, now
    ("idle tick", local(30, 10, 36), local(30, 10, 37)),
    ("monday 08:00", local(30, 7, 59), MONDAY),
    ("catch-up 3 days", local(27, 8), MONDAY),
]


@contextlib.contextmanager
def database(backend: str) -> Iterator[Engine]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="regelkreis-sweep-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    with postgres_database(PG_URL) as pg:
        yield pg.engine


class Statements:
    """Counts the SQL statements an engine sends (an executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


class Counting:
    """A platform that accepts everything and keeps only a count."""

    platform = "console"

    def __init__(self) -> None:
        self.messages = 0

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        self.messages += 1
        return Delivery.delivered()


@dataclass
class Row:
    backend: str
    size: int
    scenario: str
    reminders: int
    median_ms: float
    statements: int
    peak_mib: float
    note: str = ""


def reset(uows: UnitOfWorkFactory, swept_until: datetime) -> None:
    with uows(write=True) as uow:
        uow.session.execute(delete(OutboxEntry))
        uow.session.execute(delete(PlatformState).where(PlatformState.key == SWEPT_UNTIL))
        uow.session.add(
            PlatformState(key=SWEPT_UNTIL, value=swept_until.isoformat(), updated_at=swept_until)
        )
        uow.commit()


def measure(
    uows: UnitOfWorkFactory,
    statements: Statements,
    repeat: int,
    prepare: Callable[[], None],
    action: Callable[[], Any],
) -> tuple[list[float], int, float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        prepare()
        start = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - start) * 1000)
    prepare()
    before = statements.count
    tracemalloc.start()
    tracemalloc.reset_peak()
    action()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return times, statements.count - before, peak, result


def bench(backend: str, size: int, repeat: int) -> list[Row]:
    rows: list[Row] = []
    events.install()
    with database(backend) as engine:
        upgrade(engine)
        generate(engine, size)
        with engine.begin() as connection:
            connection.execute(
                insert(Meeting),
                [{"title": "Steuergruppe", "starts_at": local(9, 10, month=12), "body": "SG"}],
            )
        uows = UnitOfWorkFactory(engine)
        rules = ReminderRules()
        statements = Statements(engine)
        for name, swept_until, now in SCENARIOS:
            times, count, peak, result = measure(
                uows,
                statements,
                repeat,
                lambda swept_until=swept_until: reset(uows, swept_until),  # type: ignore[misc]
                lambda now=now: run_sweep(uows, rules, now),  # type: ignore[misc]
            )
            assert isinstance(result, SweepResult)
            rows.append(
                Row(
                    backend,
                    size,
                    name,
                    len(result.recorded),
                    statistics.median(times),
                    count,
                    peak,
                    "" if statistics.median(times) < TARGET_MS else "over target",
                )
            )
        # Delivering Monday's reminders (one message per recipient).
        counting = Counting()

        def deliver() -> int:
            return asyncio.run(deliver_due(uows, {"console": counting}, MONDAY, rules=rules))

        def fresh_monday() -> None:
            reset(uows, local(30, 7, 59))
            run_sweep(uows, rules, MONDAY)
            counting.messages = 0

        times, count, peak, delivered = measure(uows, statements, 1, fresh_monday, deliver)
        rows.append(
            Row(
                backend,
                size,
                "deliver monday",
                int(delivered),
                statistics.median(times),
                count,
                peak,
                f"{counting.messages} messages",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{'backend':<11}{'measures':>9}  {'scenario':<17}{'reminders':>10}{'median ms':>11}"
        f"{'statements':>12}{'peak MiB':>10}  note"
    )
    for backend in args.backends.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            for row in bench(backend, size, args.repeat):
                print(
                    f"{row.backend:<11}{row.size:>9}  {row.scenario:<17}{row.reminders:>10}"
                    f"{row.median_ms:>11.1f}{row.statements:>12}{row.peak_mib:>10.1f}  {row.note}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
