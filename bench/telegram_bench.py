"""Telegram throughput and latency through the wire server: Regelkreis next to a PTB echo floor.

Run `python -m bench.telegram_bench [--users 200] [--seconds 60] [--measures 10000]
[--limits telegram,off] [--think 5]`. A generated municipality of `--measures` measures
(bench/generate.py) gets a Telegram identity for each of its people; `--users` of them type
commands in their private chats, closed loop (send, wait for the reply, think for an
exponentially distributed time, send the next), for `--seconds` after a warm-up.

The Bot API is tests/telegram_wire.py, run in its own process together with the simulated
users, so the bot's CPU and the wire server's CPU are measured apart. The same run is done
with a minimal python-telegram-bot bot that echoes every message (the floor) and with
Regelkreis, each with the same rate limiter settings and the same number of concurrently
processed updates:

- `telegram`: PTB's AIORateLimiter at Telegram's published limits (30 messages per second
  overall, 20 per minute per group), as the bot runs in production;
- `off`: the limiter without limits, to show what the bot itself can do.

For each run the table shows commands per second, median and p95 reply latency (from the
update being available on the server to the reply arriving there) and how the median splits
into the wire server's handling (getUpdates share + sendMessage), the dispatcher (handlers
and database, measured around `App.answer`) and the rest of the bot (PTB, the adapter, HTTP),
plus the CPU seconds each process used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

TOKEN = "7000000001:BENCH-wire-token_abcdefghijklmnop"
FIRST_USER = 7_100_000_000
FRAGMENT = "sprachförd"


# -- the municipality ------------------------------------------------------------------------


@dataclass
class Person:
    telegram_id: int
    role: str
    own: list[int] = field(default_factory=list)  # open measures of their department


def prepare(database: Path, measures: int, users: int, seed: int) -> tuple[list[Person], list[int]]:
    """Generate the municipality; each person gets a Telegram identity (7100000000 + id)."""
    from sqlalchemy import insert, select

    from bench.generate import generate
    from storage import events
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import ChatIdentity, Measure, MeasureStatus
    from storage.models import Person as PersonRow

    events.install()
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    generate(engine, measures, seed=seed)
    with engine.begin() as connection:
        people = connection.execute(
            select(PersonRow.id, PersonRow.role, PersonRow.department_id).order_by(PersonRow.id)
        ).all()
        first_identity = (
            connection.execute(select(ChatIdentity.id).order_by(ChatIdentity.id.desc())).scalar()
            or 0
        )
        connection.execute(
            insert(ChatIdentity),
            [
                {
                    "id": first_identity + n,
                    "person_id": p.id,
                    "platform": "telegram",
                    "user_id": str(FIRST_USER + p.id),
                }
                for n, p in enumerate(people, 1)
            ],
        )
        open_measures = connection.execute(
            select(Measure.id, Measure.lead_department_id).where(
                Measure.status.in_(
                    [
                        MeasureStatus.PLANNED,
                        MeasureStatus.IN_PROGRESS,
                        MeasureStatus.DELAYED,
                        MeasureStatus.AT_RISK,
                    ]
                )
            )
        ).all()
        all_ids = [row[0] for row in connection.execute(select(Measure.id)).all()]
    with engine.connect() as connection:  # everything in the main file, so a copy is whole
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    by_department: dict[int, list[int]] = {}
    for measure_id, department_id in open_measures:
        by_department.setdefault(department_id, []).append(measure_id)
    rng = random.Random(seed)
    chosen = people[:users] if len(people) >= users else people
    return [
        Person(
            FIRST_USER + p.id,
            str(p.role.value if hasattr(p.role, "value") else p.role),
            rng.sample(
                by_department.get(p.department_id, []),
                min(20, len(by_department.get(p.department_id, []))),
            ),
        )
        for p in chosen
    ], all_ids


def command_for(person: Person, measure_ids: list[int], rng: random.Random) -> str:
    """What a person types, weighted like a working day: mostly reading, some reporting."""
    roll = rng.random()
    if roll < 0.30:
        return f"/status M-{rng.choice(measure_ids)}"
    if roll < 0.45:
        return "/meine"
    if roll < 0.60:
        return "/fällig 14"
    if roll < 0.70:
        return "/status"
    if roll < 0.80:
        return f"/status {FRAGMENT}"
    if roll < 0.85:
        return "/überfällig"
    if roll < 0.90:
        return "/hilfe"
    if person.role != "lesen" and person.own:
        return f"/melden M-{rng.choice(person.own)} {rng.randrange(5, 100, 5)}% Zwischenstand"
    return f"/status M-{rng.choice(measure_ids)}"


# -- the wire server process with the simulated users ----------------------------------------


@dataclass
class Load:
    users: list[Person]
    measure_ids: list[int]
    seconds: float
    warmup: float
    think: float
    seed: int
    clock: float  # the fixed "now" of the municipality, as a timestamp


def wire_process(conn: Connection, load: Load) -> None:
    """Entry point of the server process: serve, drive the users on 'go', report, stop."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    asyncio.run(_wire_main(conn, load))


async def _wire_main(conn: Connection, load: Load) -> None:
    from tests.telegram_wire import Call, WireServer

    server = WireServer(TOKEN, clock=lambda: load.clock)
    await server.start()
    for person in load.users:
        server.private_chat(server.user(person.telegram_id, f"User {person.telegram_id}"))
    loop = asyncio.get_running_loop()
    conn.send(server.base_url)
    await loop.run_in_executor(None, conn.recv)  # "go"

    rng = random.Random(load.seed)
    sent_at: dict[int, float] = {}
    latencies: list[float] = []
    errors = 0
    measuring = False

    finished = False

    def send(person: Person) -> None:
        if finished:
            return  # the run is over: let the bot drain before it stops
        sent_at[person.telegram_id] = time.perf_counter()
        server.send_text(
            server.users[person.telegram_id],
            server.chats[person.telegram_id],
            command_for(person, load.measure_ids, rng),
        )

    def schedule(person: Person) -> None:
        delay = rng.expovariate(1 / load.think) if load.think > 0 else 0.0
        loop.call_later(delay, send, person)

    people = {p.telegram_id: p for p in load.users}

    def on_call(call: Call) -> None:
        """The first message to a user's chat after their command is the reply."""
        nonlocal errors
        if call.method != "sendmessage" or not call.ok:
            return
        chat_id = int(call.params["chat_id"])
        person = people.get(chat_id)
        started = sent_at.pop(chat_id, None)
        if person is None or started is None:
            return  # a further part of a split reply
        if measuring:
            latencies.append(time.perf_counter() - started)
            if str(call.params.get("text", "")).startswith("Entschuldigung"):
                errors += 1
        schedule(person)

    server.on_call = on_call
    for person in load.users:
        loop.call_later(rng.random() * max(load.think, 0.5), send, person)
    await asyncio.sleep(load.warmup)
    measuring = True
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    calls_before = len(server.calls)
    handling_before = server.handling_seconds
    await asyncio.sleep(load.seconds)
    measuring = False
    finished = True
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    calls = len(server.calls) - calls_before
    handling = server.handling_seconds - handling_before
    conn.send(
        {
            "latencies": latencies,
            "wall": wall,
            "cpu": cpu,
            "calls": calls,
            "handling": handling,
            "errors": errors,
            "sent_messages": len(
                [c for c in server.calls[calls_before:] if c.method == "sendmessage"]
            ),
            "updates": sum(1 for c in server.calls[calls_before:] if c.method == "getupdates"),
        }
    )
    await loop.run_in_executor(None, conn.recv)  # "stop"
    server.on_call = None
    await server.close()


# -- the bots ------------------------------------------------------------------------------


def limiter(kind: str) -> Any:
    from telegram.ext import AIORateLimiter

    if kind == "telegram":
        return AIORateLimiter(
            overall_max_rate=30,
            overall_time_period=1,
            group_max_rate=20,
            group_time_period=60,
            max_retries=3,
        )
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)


class Floor:
    """The least a PTB bot does per message: receive it and send the text back."""

    def __init__(self, base_url: str, limits: str, concurrency: int) -> None:
        from telegram import Update
        from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

        self.application = (
            ApplicationBuilder()
            .token(TOKEN)
            .base_url(base_url)
            .rate_limiter(limiter(limits))
            .concurrent_updates(concurrency)
            .job_queue(None)
            .build()
        )

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None and update.message.text is not None
            await update.message.reply_text(update.message.text)

        self.application.add_handler(MessageHandler(filters.TEXT, echo))
        self.dispatch_seconds: list[float] = []

    async def start(self) -> None:
        await self.application.initialize()
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(timeout=10)

    async def stop(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()


class Regelkreis:
    """The bot as `regelkreis run` starts it, on the generated municipality."""

    def __init__(
        self, base_url: str, limits: str, concurrency: int, database: Path, now: datetime
    ) -> None:
        from bot.bootstrap import bootstrap
        from bot.config import Config, TelegramConfig
        from bot.telegram import TelegramTransport

        config = Config.model_validate({"database": {"url": f"sqlite:///{database}"}})
        self.app = bootstrap(config, clock=lambda: now)
        self.dispatch_seconds: list[float] = []
        answer = self.app.answer

        async def timed_answer(incoming: Any, claim: Any = None) -> Any:
            started = time.perf_counter()
            try:
                return await answer(incoming, claim)
            finally:
                self.dispatch_seconds.append(time.perf_counter() - started)

        self.app.answer = timed_answer  # type: ignore[method-assign]
        telegram = TelegramConfig.model_validate({"token": TOKEN, "base_url": base_url})
        self.transport = TelegramTransport(
            self.app, telegram, rate_limiter=limiter(limits), concurrent_updates=concurrency
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.transport.start()
        self._task = asyncio.create_task(self.transport.run())
        if not await self.transport.wait_ready(30):
            raise RuntimeError("Regelkreis did not start polling")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.transport.stop()
        self.app.engine.dispose()


# -- one run -------------------------------------------------------------------------------


@dataclass
class Result:
    bot: str
    limits: str
    commands: int
    per_second: float
    median_ms: float
    p95_ms: float
    wire_ms: float
    dispatch_ms: float
    bot_cpu: float
    wire_cpu: float
    errors: int


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


async def run_one(name: str, make_bot: Callable[[str], Any], load: Load, limits: str) -> Result:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=wire_process, args=(child, load), daemon=True)
    process.start()
    loop = asyncio.get_running_loop()
    try:
        base_url = await loop.run_in_executor(None, parent.recv)
        bot = make_bot(base_url)
        await bot.start()
        parent.send("go")
        await asyncio.sleep(load.warmup)
        bot.dispatch_seconds.clear()
        cpu_before = time.process_time()
        report = await loop.run_in_executor(None, parent.recv)
        bot_cpu = time.process_time() - cpu_before
        dispatch = list(bot.dispatch_seconds)
        await bot.stop()
        parent.send("stop")
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    latencies = report["latencies"] or [float("nan")]
    commands = len(report["latencies"])
    # The wire server's share of one command: its handling time per call, times the calls a
    # command costs (the reply and its share of a getUpdates).
    per_call = report["handling"] / max(1, report["calls"])
    calls_per_command = report["calls"] / max(1, commands)
    return Result(
        bot=name,
        limits=limits,
        commands=commands,
        per_second=commands / report["wall"],
        median_ms=statistics.median(latencies) * 1000,
        p95_ms=p95(latencies) * 1000,
        wire_ms=per_call * calls_per_command * 1000,
        dispatch_ms=statistics.median(dispatch) * 1000 if dispatch else 0.0,
        bot_cpu=bot_cpu,
        wire_cpu=report["cpu"],
        errors=report["errors"],
    )


def table(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"Telegram through the wire server: {args.users} users, {args.seconds:.0f} s after "
        f"{args.warmup:.0f} s warm-up, think time {args.think:g} s (exponential mean), "
        f"{args.measures} measures, SQLite, {args.concurrency} concurrent updates",
        f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}",
        "",
        f"{'limits':<9} {'bot':<11} {'cmds':>6} {'cmd/s':>7} {'median':>8} {'p95':>8}  "
        f"{'wire':>6} {'dispatch':>8} {'rest':>6}  {'bot CPU':>8} {'wire CPU':>8}",
    ]
    for r in results:
        rest = max(0.0, r.median_ms - r.wire_ms - r.dispatch_ms)
        lines.append(
            f"{r.limits:<9} {r.bot:<11} {r.commands:>6} {r.per_second:>7.1f} "
            f"{r.median_ms:>6.1f}ms {r.p95_ms:>6.1f}ms  {r.wire_ms:>4.1f}ms "
            f"{r.dispatch_ms:>6.1f}ms {rest:>4.1f}ms  {r.bot_cpu:>7.1f}s {r.wire_cpu:>7.1f}s"
            + (f"  {r.errors} errors" if r.errors else "")
        )
    lines.append("")
    for limits in dict.fromkeys(r.limits for r in results):
        pair = {r.bot: r for r in results if r.limits == limits}
        floor, ours = pair.get("echo floor"), pair.get("regelkreis")
        if floor is None or ours is None:
            continue
        throughput = ours.per_second / floor.per_second
        tail = ours.p95_ms / floor.p95_ms
        lines.append(
            f"{limits}: throughput {throughput:.2f}× the floor (target ≥ 0.5: "
            f"{'met' if throughput >= 0.5 else 'missed'}), p95 {tail:.2f}× the floor "
            f"(target ≤ 2: {'met' if tail <= 2 else 'missed'})"
        )
    lines.append(
        "wire = the server's handling per command (its getUpdates share and the sendMessage); "
        "dispatch = median of App.answer (handlers, database, in a worker thread); rest = median "
        "latency minus both (PTB, adapter, HTTP, queueing, rate limiter)."
    )
    return "\n".join(lines)


async def bench(args: argparse.Namespace) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="regelkreis-telegram-bench-") as folder:
        return await _bench(args, Path(folder))


async def _bench(args: argparse.Namespace, workdir: Path) -> list[Result]:
    from bench.generate import NOW

    database = workdir / "bench.db"
    print(f"generating {args.measures} measures in {database} …", file=sys.stderr, flush=True)
    users, measure_ids = prepare(database, args.measures, args.users, args.seed)
    load = Load(
        users, measure_ids, args.seconds, args.warmup, args.think, args.seed, NOW.timestamp()
    )
    results: list[Result] = []
    for limits in args.limits.split(","):
        for name in ("echo floor", "regelkreis"):
            print(f"running {name} with {limits} limits …", file=sys.stderr, flush=True)
            # Every run on its own copy: the wire server starts update ids at 1 again, and
            # the reports of one run must not change the next.
            copy = workdir / f"run-{len(results)}.db"
            shutil.copyfile(database, copy)

            def make(
                base_url: str, name: str = name, limits: str = limits, copy: Path = copy
            ) -> Any:
                if name == "echo floor":
                    return Floor(base_url, limits, args.concurrency)
                return Regelkreis(base_url, limits, args.concurrency, copy, NOW)

            results.append(await run_one(name, make, load, limits))
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.telegram_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument(
        "--think",
        type=float,
        default=5.0,
        help="mean seconds a user waits after a reply (0: at once)",
    )
    parser.add_argument(
        "--limits",
        default="telegram,off",
        help="rate limiter settings to run: telegram, off (comma separated)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="updates processed at the same time, both bots"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--output", type=Path, default=None, help="also write the table to this file"
    )
    args = parser.parse_args(argv)
    results = asyncio.run(bench(args))
    output = table(results, args)
    print(output)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(output + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
