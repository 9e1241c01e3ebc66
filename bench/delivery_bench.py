"""Monday morning's reminders sent to the Telegram wire server: the send rate with and without
Telegram's limits.

Run `python -m bench.delivery_bench [--measures 100000] [--limits telegram,off] [--seed 1]`.
A generated municipality (bench/generate.py) is moved onto Telegram: every person's identity
and every room (the departments' and the coordination room) get a Telegram id, and everybody
last wrote on Telegram. The sweep records Monday 30 November 2026, 08:00 (untimed), then
`deliver_due` sends it through the send-only Telegram transport as `reminders run-due` builds
it, to tests/telegram_wire.py running in a process of its own (so the wire server's CPU is
not the deliverer's):

- `telegram`: PTB's AIORateLimiter at Telegram's published limits (30 messages a second
  overall, 20 a minute per group), as `regelkreis run` and `run-due` send in production;
- `off`: the limiter without limits, what the deliverer itself can do.

The table shows the messages, the wall time, messages per second, the most messages in any
one second counted from the first send (`max/s`) and in any second after the first
(`later`), the most to one group in any minute, the deliverer's CPU seconds, and that every
entry ended `sent`. PTB's limiter is a leaky bucket that starts full, so the first second
may carry a burst of up to 30 on top of the rate; `later` holds at 30 and the group minute
at 20 when the limits hold. The wire server does not
itself enforce flood limits (Telegram's are not published exactly enough to copy); the
columns show that the bot keeps to them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bench.run import machine
from bench.telegram_bench import limiter

TOKEN = "7000000002:BENCH-wire-token_deliverymonday0123"
FIRST_USER = 7_200_000_000
FIRST_GROUP = -1_009_000_000_000


@dataclass(frozen=True)
class Chats:
    users: list[int]
    groups: list[int]


def prepare(database: Path, measures: int, seed: int) -> Chats:
    """Generate the municipality on SQLite and move every identity and room onto Telegram."""
    from sqlalchemy import select, update

    from bench.generate import generate
    from storage import events
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.models import ChatIdentity, Person, RoomLink

    events.install()
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    generate(engine, measures, seed=seed)
    with engine.begin() as connection:
        people = connection.execute(select(ChatIdentity.id, ChatIdentity.person_id)).all()
        for identity_id, person_id in people:
            connection.execute(
                update(ChatIdentity)
                .where(ChatIdentity.id == identity_id)
                .values(platform="telegram", user_id=str(FIRST_USER + person_id))
            )
        connection.execute(update(Person).values(last_platform="telegram"))
        rooms = connection.execute(select(RoomLink.id)).scalars().all()
        for room_id in rooms:
            connection.execute(
                update(RoomLink)
                .where(RoomLink.id == room_id)
                .values(platform="telegram", room_id=str(FIRST_GROUP - room_id))
            )
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return Chats(
        users=sorted({FIRST_USER + person_id for _i, person_id in people}),
        groups=[FIRST_GROUP - room_id for room_id in rooms],
    )


# -- the wire server, in a process of its own --------------------------------------------------


def wire_process(conn: Connection, chats: Chats, clock: float) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    asyncio.run(_wire_main(conn, chats, clock))


async def _wire_main(conn: Connection, chats: Chats, clock: float) -> None:
    from tests.telegram_wire import WireServer

    server = WireServer(TOKEN, clock=lambda: clock)
    await server.start()
    for user_id in chats.users:
        server.private_chat(server.user(user_id, f"User {user_id}"))
    for group_id in chats.groups:
        server.group(group_id, f"Raum {group_id}")
    loop = asyncio.get_running_loop()
    conn.send(server.base_url)
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "stop":
            break
        # "report": every successful sendMessage, when and to which chat.
        sends = [
            (call.at, int(call.params["chat_id"]))
            for call in server.calls
            if call.method == "sendmessage" and call.ok
        ]
        server.calls.clear()
        conn.send(sends)
    await server.close()


# -- one run --------------------------------------------------------------------------------


@dataclass
class Result:
    limits: str
    messages: int
    seconds: float
    per_second: float
    busiest_second: int
    busiest_later_second: int
    busiest_group_minute: int
    cpu: float
    all_sent: bool


async def deliver_monday(database: Path, base_url: str, limits: str) -> tuple[float, float, bool]:
    """Sweep Monday 08:00, then time the delivery through the send-only Telegram notifier."""
    from sqlalchemy import func, select

    from bench.sweep_bench import MONDAY, local, reset
    from bot.bootstrap import bootstrap
    from bot.config import Config, TelegramConfig
    from bot.telegram import TelegramTransport
    from handlers.ports import ReminderRules
    from schedules.delivery import deliver_due
    from schedules.sweep import run_sweep
    from storage.models import OutboxEntry, OutboxState

    config = Config.model_validate({"database": {"url": f"sqlite:///{database}"}})
    app = bootstrap(config, clock=lambda: MONDAY)
    rules = ReminderRules()
    reset(app.uows, local(30, 7, 59))
    run_sweep(app.uows, rules, MONDAY)
    telegram = TelegramConfig.model_validate({"token": TOKEN, "base_url": base_url})
    transport = TelegramTransport(app, telegram, rate_limiter=limiter(limits), send_only=True)
    await transport.start()
    task = asyncio.create_task(transport.run())
    try:
        if not await transport.wait_ready(30):
            raise RuntimeError("the send-only Telegram transport did not connect")
        cpu, wall = time.process_time(), time.perf_counter()
        await deliver_due(app.uows, {"telegram": transport.notifier}, MONDAY, rules=rules)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await transport.stop()
    with app.uows() as uow:
        left = uow.session.execute(
            select(func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.state != OutboxState.SENT)
        ).scalar_one()
    app.engine.dispose()
    return wall, cpu, left == 0


def summarize(
    limits: str, sends: list[tuple[float, int]], wall: float, cpu: float, ok: bool
) -> Result:
    start = min((at for at, _chat in sends), default=0.0)
    per_second = Counter(int(at - start) for at, _chat in sends)
    per_group_minute = Counter((chat, int((at - start) // 60)) for at, chat in sends if chat < 0)
    return Result(
        limits=limits,
        messages=len(sends),
        seconds=wall,
        per_second=len(sends) / wall if wall else 0.0,
        busiest_second=max(per_second.values(), default=0),
        busiest_later_second=max((n for s, n in per_second.items() if s > 0), default=0),
        busiest_group_minute=max(per_group_minute.values(), default=0),
        cpu=cpu,
        all_sent=ok,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=100_000)
    parser.add_argument("--limits", default="telegram,off")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from bench.sweep_bench import MONDAY

    print("\n".join(machine(None)))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="regelkreis-delivery-") as folder:
        prepared = Path(folder) / "prepared.db"
        chats = prepare(prepared, args.measures, args.seed)
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=wire_process, args=(theirs, chats, MONDAY.timestamp()), daemon=True
        )
        process.start()
        base_url = ours.recv()
        try:
            for limits in args.limits.split(","):
                database = Path(folder) / f"{limits}.db"
                shutil.copyfile(prepared, database)
                wall, cpu, ok = asyncio.run(deliver_monday(database, base_url, limits))
                ours.send("report")
                results.append(summarize(limits, ours.recv(), wall, cpu, ok))
        finally:
            ours.send("stop")
            process.join(30)
    print(
        f"\nMonday 08:00 at {args.measures} measures, "
        f"{len(chats.users)} people and {len(chats.groups)} rooms on Telegram\n"
    )
    print(
        f"{'limits':<9} {'messages':>8} {'seconds':>8} {'msg/s':>7} {'max/s':>6} {'later':>6} "
        f"{'group max/min':>14} {'cpu s':>6}  all sent"
    )
    for r in results:
        print(
            f"{r.limits:<9} {r.messages:>8} {r.seconds:>8.1f} {r.per_second:>7.1f} "
            f"{r.busiest_second:>6} {r.busiest_later_second:>6} "
            f"{r.busiest_group_minute:>14} {r.cpu:>6.1f}  "
            f"{'yes' if r.all_sent else 'NO'}"
        )


if __name__ == "__main__":
    main()
