"""Round trip through a local Synapse: a user's `!status` to the bot's reply, next to a floor.

Run `python -m bench.matrix_bench [--measures 10000] [--rounds 60]`. It starts a Synapse
homeserver on loopback (the test harness, tests/synapse.py), grows a municipality with
bench/generate.py, and runs two bots as separate processes: Regelkreis itself
(`regelkreis run`) and the floor, a minimal matrix-nio bot that answers every message at once.
One user sends `!status` to each in turn, interleaved, and times send → reply seen in its own
sync. The difference of the medians is what Regelkreis adds; the target is that it adds at
most its in-process `status` median (the dispatcher alone, timed here too) plus 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import nio
from sqlalchemy import select

from bench.generate import generate
from bot.bootstrap import bootstrap
from bot.config import load_config
from bot.matrix import message_content
from handlers.core import Incoming
from storage import events
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import ChatIdentity
from tests.synapse import Synapse

USER = "bench.user"
# What the bot may add to the floor's round trip, beyond its own in-process work.
ALLOWANCE_MS = 5.0
WAIT = 60.0


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 60 samples is the 57th smallest)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# -- the floor: a bot that does nothing but answer -------------------------------------------


async def floor_bot(homeserver: str, user_id: str, password: str, content_file: str) -> None:
    """Joins every invite and answers every text message at once with a reply.

    The reply is the very message Regelkreis would send (rendered once, before): so the
    homeserver's work on it is the same, and the difference is the bot's own.
    """
    content = json.loads(Path(content_file).read_text(encoding="utf-8"))
    client = nio.AsyncClient(homeserver, user_id)
    answer = await client.login(password)
    assert isinstance(answer, nio.LoginResponse), answer

    async def on_invite(room: Any, event: Any) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_text(room: Any, event: Any) -> None:
        if event.sender == client.user_id:
            return
        await client.room_send(
            room.room_id,
            "m.room.message",
            {
                **content,
                "m.mentions": {"user_ids": [event.sender]},
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            },
        )

    client.add_event_callback(on_invite, nio.InviteMemberEvent)
    client.add_event_callback(on_text, nio.RoomMessageText)
    await client.sync_forever(timeout=30_000)


# -- the measuring user ---------------------------------------------------------------------


class Asker:
    """One user who types `!status` and waits for the answer in their own sync."""

    def __init__(self, homeserver: str, user_id: str, password: str) -> None:
        self.client = nio.AsyncClient(homeserver, user_id)
        self.password = password

    async def open(self) -> None:
        answer = await self.client.login(self.password)
        assert isinstance(answer, nio.LoginResponse), answer
        await self.client.sync(timeout=0)

    async def room_with(self, bot: str) -> str:
        created = await self.client.room_create(invite=[bot])
        assert isinstance(created, nio.RoomCreateResponse), created
        deadline = time.monotonic() + WAIT
        while True:
            members = await self.client.joined_members(created.room_id)
            if isinstance(members, nio.JoinedMembersResponse) and bot in {
                m.user_id for m in members.members
            }:
                await self.client.sync(timeout=0)
                return str(created.room_id)
            if time.monotonic() > deadline:
                raise RuntimeError(f"{bot} did not join")
            await asyncio.sleep(0.2)

    async def round_trip(self, room_id: str, text: str) -> float:
        """Milliseconds from sending `text` to seeing the reply to it."""
        started = time.perf_counter()
        sent = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        assert isinstance(sent, nio.RoomSendResponse), sent
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            answer = await self.client.sync(timeout=30_000)
            if not isinstance(answer, nio.SyncResponse):
                continue
            info = answer.rooms.join.get(room_id)
            for event in info.timeline.events if info else []:
                relates = (event.source.get("content") or {}).get("m.relates_to") or {}
                if (relates.get("m.in_reply_to") or {}).get("event_id") == sent.event_id:
                    return (time.perf_counter() - started) * 1000
        raise RuntimeError(f"no reply to {text!r} in {room_id}")

    async def server_delays(self, room_id: str) -> list[float]:
        """Per command, the homeserver's timestamps: command received → reply received (ms).

        Free of the user's own sync: what the bot (or the floor) took, plus delivery to it.
        """
        answer = await self.client.room_messages(room_id, start="", limit=1000)
        assert isinstance(answer, nio.RoomMessagesResponse), answer
        by_id = {event.event_id: event for event in answer.chunk}
        delays = []
        for event in answer.chunk:
            relates = (event.source.get("content") or {}).get("m.relates_to") or {}
            asked = by_id.get((relates.get("m.in_reply_to") or {}).get("event_id"))
            if asked is not None:
                delays.append(float(event.server_timestamp - asked.server_timestamp))
        return delays

    async def close(self) -> None:
        await self.client.close()


# -- set-up ---------------------------------------------------------------------------------


def municipality(folder: Path, n_measures: int, homeserver: str, bot: Any, user_id: str) -> Path:
    """A generated municipality and the configuration `regelkreis run` serves it with."""
    database = folder / "regelkreis.db"
    config_file = folder / "regelkreis.toml"
    config_file.write_text(
        "[bot]\n"
        f'data_dir = "{folder / "data"}"\n'
        "[database]\n"
        f'url = "sqlite:///{database}"\n'
        "[reminders]\n"
        "enabled = false\n"
        "[matrix]\n"
        f'homeserver = "{homeserver}"\n'
        f'user_id = "{bot.user_id}"\n'
        f'password = "{bot.password}"\n'
        f'allowed_inviters = ["{user_id}"]\n',
        encoding="utf-8",
    )
    events.install()
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    generated = generate(engine, n_measures)
    with engine.begin() as connection:
        person_id = connection.execute(
            select(ChatIdentity.person_id).where(ChatIdentity.user_id == generated.coordinator)
        ).scalar_one()
        connection.execute(
            ChatIdentity.__table__.insert().values(
                person_id=person_id, platform="matrix", user_id=user_id
            )
        )
    engine.dispose()
    return config_file


def in_process_status(
    config_file: Path, user_id: str, repeat: int
) -> tuple[list[float], dict[str, Any]]:
    """The dispatcher alone answering `status` in an unlinked Matrix room, in milliseconds;
    and that answer as the Matrix message the bot sends."""
    app = bootstrap(load_config(config_file))
    incoming = Incoming(platform="matrix", room_id="!bench:local", sender_id=user_id, text="status")
    for _ in range(5):
        app.dispatcher.handle(incoming)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        reply = app.dispatcher.handle(incoming)
        samples.append((time.perf_counter() - started) * 1000)
        assert reply.outcome == "ok", reply.plain()
    app.engine.dispose()
    return samples, message_content(reply, "m.notice")


@contextlib.contextmanager
def process(*command: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


async def interleaved(
    asker: Asker, rooms: dict[str, str], rounds: int, warmup: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in rooms}
    names = list(rooms)
    for index in range(warmup + rounds):
        # Alternate who goes first, so neither profits from the other's warm caches.
        for name in names if index % 2 == 0 else reversed(names):
            took = await asker.round_trip(rooms[name], "!status")
            if index >= warmup:
                samples[name].append(took)
    return samples


def table(
    n_measures: int,
    rounds: int,
    samples: dict[str, list[float]],
    local: list[float],
    server: dict[str, list[float]],
) -> str:
    floor, bot = samples["floor"], samples["regelkreis"]
    added = statistics.median(bot) - statistics.median(floor)
    budget = statistics.median(local) + ALLOWANCE_MS
    rows = [
        ("floor: matrix-nio bot answering at once", floor),
        ("Regelkreis: `!status` through `regelkreis run`", bot),
        ("in process: dispatcher `status` alone", local),
        ("homeserver timestamps, command → reply: floor", server["floor"]),
        ("homeserver timestamps, command → reply: Regelkreis", server["regelkreis"]),
    ]
    lines = [
        f"Matrix round trip `!status` → reply, {n_measures} measures, SQLite, local Synapse, "
        f"{rounds} interleaved rounds (the floor sends the same reply)",
        f"machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores",
        "",
        "| what | median ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for label, values in rows:
        lines.append(
            f"| {label} | {statistics.median(values):.1f} | {percentile(values, 95):.1f} |"
        )
    verdict = "met" if added <= budget else "MISSED"
    lines += [
        f"| Regelkreis adds over the floor (median) | {added:.1f} | |",
        "",
        f"target: added ≤ in-process median + {ALLOWANCE_MS:.0f} ms = {budget:.1f} ms → {verdict}",
    ]
    return "\n".join(lines)


async def measure(args: argparse.Namespace, folder: Path) -> str:
    server = Synapse(folder / "synapse")
    server.start()
    try:
        floor, bot, user = (
            server.register("floorbot"),
            server.register("regelkreis"),
            server.register(USER),
        )
        print(f"growing the municipality to {args.measures} measures …", flush=True)
        config_file = municipality(folder, args.measures, server.url, bot, user.user_id)
        local, content = in_process_status(config_file, user.user_id, args.rounds)
        content_file = folder / "reply.json"
        content_file.write_text(json.dumps(content), encoding="utf-8")
        executable = Path(sys.executable)
        regelkreis = executable.parent / "regelkreis"
        with (
            process(str(regelkreis), "run", "--config", str(config_file), log=folder / "bot.log"),
            process(
                str(executable),
                "-m",
                "bench.matrix_bench",
                "--floor",
                server.url,
                floor.user_id,
                floor.password,
                str(content_file),
                log=folder / "floor.log",
            ),
        ):
            asker = Asker(server.url, user.user_id, user.password)
            await asker.open()
            try:
                rooms = {
                    "floor": await asker.room_with(floor.user_id),
                    "regelkreis": await asker.room_with(bot.user_id),
                }
                print(f"measuring {args.rounds} interleaved rounds …", flush=True)
                samples = await interleaved(asker, rooms, args.rounds, args.warmup)
                stamps = {name: await asker.server_delays(room) for name, room in rooms.items()}
            finally:
                await asker.close()
        return table(args.measures, args.rounds, samples, local, stamps)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--floor", nargs=4, metavar=("HOMESERVER", "USER_ID", "PASSWORD", "CONTENT_FILE")
    )
    args = parser.parse_args(argv)
    if args.floor:
        asyncio.run(floor_bot(*args.floor))
        return 0
    with tempfile.TemporaryDirectory(prefix="regelkreis-matrix-bench-") as folder:
        print(asyncio.run(measure(args, Path(folder))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
