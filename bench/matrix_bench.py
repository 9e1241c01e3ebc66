"""Round trip through a local Synapse: `!status` to Regelkreis, next to a floor and a peer bot.

Run `python -m bench.matrix_bench [--measures 10000] [--rounds 200] [--runs 3]
[--peer /path/to/matrix-reminder-bot]` (or the peer's command in REGELKREIS_BENCH_PEER).
It starts a Synapse homeserver on loopback (the test harness, tests/synapse.py), grows a
municipality with bench/generate.py, and runs up to three bots as separate processes:

- Regelkreis itself (`regelkreis run`), asked `!status`;
- the floor, a do-nothing matrix-nio bot that answers every message at once with the very
  reply Regelkreis sends (rendered once, before), so the homeserver's work is the same;
- the peer, matrix-reminder-bot (anoadragon453), installed by whoever runs this, outside the
  project, and asked `!list`, its nearest read command. Its config file is written here, into
  the temporary folder; without `--peer` it is skipped, and the table says so.

One user sends the commands to the bots in turn, command by command (who goes first rotates
every round), and times send → reply seen in its own sync; the homeserver's timestamps
(command received → reply received) are kept too. A run is `--warmup` unmeasured rounds and
`--rounds` measured ones; `--runs` runs, each with its medians. The verdicts use the median
of the runs' medians: Regelkreis within 1.05× of the floor, and its ratio to the floor not
above the peer's.

Afterwards every bot is left alone for `--idle` seconds: each one's CPU seconds in that window
(its process tree, from /proc), and the /sync long-polls the homeserver saw it make then
(its access log: the requested `timeout` and how long each took) are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio
from sqlalchemy import insert, select

from bench.generate import generate
from bot.bootstrap import bootstrap
from bot.config import load_config
from bot.matrix import message_content
from bot.matrix.sync import SYNC_TIMEOUT_MS
from handlers.core import Incoming
from storage import events
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import ChatIdentity
from tests.synapse import Synapse

USER = "bench.user"
PEER_ENV = "REGELKREIS_BENCH_PEER"
# Regelkreis within this factor of the floor's median round trip.
TARGET_RATIO = 1.05
# The sync long-poll must stay at least this long (issue 10).
LONG_POLL_MIN_S = 30.0
WAIT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


# -- the peer: matrix-reminder-bot, installed outside the project ---------------------------


def peer_config(folder: Path, homeserver: str, bot: Any, user_id: str) -> Path:
    """Its config file (the format of its sample.config.yaml; JSON is YAML too): our user
    the only one allowed, like Regelkreis's `allowed_inviters`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "command_prefix": "!",
        "matrix": {
            "user_id": bot.user_id,
            "user_password": bot.password,
            "homeserver_url": homeserver,
            "device_id": "REMINDER",
            "device_name": "Reminder Bot",
        },
        "storage": {"database": f"sqlite://{folder / 'bot.db'}", "store_path": str(folder)},
        "reminders": {"timezone": "Europe/Berlin"},
        "allowlist": {"enabled": True, "regexes": [re.escape(user_id)]},
        "blocklist": {"enabled": False, "regexes": []},
        "logging": {
            "level": "INFO",
            "file_logging": {"enabled": False, "filepath": str(folder / "bot.log")},
            "console_logging": {"enabled": True},
        },
    }
    config_file = folder / "config.yaml"
    config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return config_file


# -- the measuring user ---------------------------------------------------------------------


def answers(event: Any, asked: str, bot: str) -> bool:
    """The bot's reply to `asked`: a message from it that replies to it, or (the peer's
    replies are plain messages) one that replies to nothing, the first after it."""
    if event.sender != bot or event.source.get("type") != "m.room.message":
        return False
    relates = (event.source.get("content") or {}).get("m.relates_to") or {}
    reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
    return reply_to in (asked, None)


class Asker:
    """One user who types a command and waits for the answer in their own sync."""

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

    async def round_trip(self, room_id: str, text: str, bot: str) -> tuple[float, float | None]:
        """Milliseconds from sending `text` to seeing the reply to it; and the homeserver's
        timestamps' difference, command → reply (free of the user's own sync)."""
        started = time.perf_counter()
        sent = await self.client.room_send(
            room_id, "m.room.message", {"msgtype": "m.text", "body": text}
        )
        assert isinstance(sent, nio.RoomSendResponse), sent
        asked_at: int | None = None
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            answer = await self.client.sync(timeout=30_000)
            if not isinstance(answer, nio.SyncResponse):
                continue
            info = answer.rooms.join.get(room_id)
            for event in info.timeline.events if info else []:
                if event.event_id == sent.event_id:
                    asked_at = event.server_timestamp
                elif answers(event, sent.event_id, bot):
                    took = (time.perf_counter() - started) * 1000
                    server = None if asked_at is None else event.server_timestamp - asked_at
                    return took, None if server is None else float(server)
        raise RuntimeError(f"no reply to {text!r} in {room_id}")

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
            insert(ChatIdentity).values(person_id=person_id, platform="matrix", user_id=user_id)
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
def process(*command: str, log: Path, cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        try:
            yield child
        finally:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


# -- idle: CPU and the long-poll ------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its live descendants (/proc)."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        children: list[int] = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, IndexError, ValueError):
        return total
    return total + sum(cpu_seconds(child) for child in children)


# synapse.access.http.PORT … {@user:server} Processed request: 30.002sec/… "GET /…/sync?… HTTP
_ACCESS = re.compile(
    r"\{(?P<user>@[^}]+)\} Processed request: (?P<took>[\d.]+)sec.*?"
    r'"GET (?P<path>/_matrix/client/[^ ]*/sync(?:\?[^ ]*)?) HTTP'
)


@dataclass
class Polls:
    """The /sync requests one user made in a window, as the homeserver logged them."""

    timeouts_ms: set[int] = field(default_factory=set)
    took_s: list[float] = field(default_factory=list)

    def describe(self) -> str:
        if not self.took_s:
            return "no /sync finished in the window"
        asked = ", ".join(str(t) for t in sorted(self.timeouts_ms)) or "none"
        return f"{len(self.took_s)} /sync, timeout={asked} ms, longest {max(self.took_s):.1f} s"


def long_polls(log_text: str) -> dict[str, Polls]:
    found: dict[str, Polls] = {}
    for match in _ACCESS.finditer(log_text):
        polls = found.setdefault(match["user"], Polls())
        polls.took_s.append(float(match["took"]))
        timeout = re.search(r"[?&]timeout=(\d+)", match["path"])
        if timeout:
            polls.timeouts_ms.add(int(timeout[1]))
    return found


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contestant:
    name: str
    label: str
    user_id: str
    room_id: str
    command: str


@dataclass
class Run:
    """One run's round trips and homeserver delays per contestant, in milliseconds."""

    trips: dict[str, list[float]]
    server: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.trips[name])


async def interleaved(
    asker: Asker, contestants: Sequence[Contestant], rounds: int, warmup: int
) -> Run:
    run = Run({c.name: [] for c in contestants}, {c.name: [] for c in contestants})
    for index in range(warmup + rounds):
        # Who goes first rotates, so no one profits from another's warm caches.
        shift = index % len(contestants)
        for contestant in [*contestants[shift:], *contestants[:shift]]:
            took, server = await asker.round_trip(
                contestant.room_id, contestant.command, contestant.user_id
            )
            if index >= warmup:
                run.trips[contestant.name].append(took)
                if server is not None:
                    run.server[contestant.name].append(server)
    return run


@dataclass
class Idle:
    seconds: float
    cpu: dict[str, float]
    polls: dict[str, Polls]


@dataclass
class Result:
    measures: int
    rounds: int
    warmup: int
    contestants: list[Contestant]
    runs: list[Run]
    local: list[float]
    busy_cpu: dict[str, float]
    idle: Idle
    peer_note: str | None


def table(result: Result) -> str:
    names = [c.name for c in result.contestants]
    labels = {c.name: c.label for c in result.contestants}
    runs = result.runs
    medians = {n: statistics.median(run.median(n) for run in runs) for n in names}
    ratio = {n: medians[n] / medians["floor"] for n in names}
    commands = len(runs) * (result.rounds + result.warmup)
    lines = [
        f"Matrix round trip command → reply, {result.measures} measures, SQLite, local Synapse, "
        f"{len(runs)} runs × {result.rounds} rounds, interleaved command by command",
        f"machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| contestant | command | "
        + " | ".join(f"run {i} median ms" for i in range(1, len(runs) + 1))
        + " | median of medians ms | p95 ms (all runs) | homeserver command → reply ms "
        "| ÷ floor |",
        "|---|---|" + "---:|" * (len(runs) + 4),
    ]
    for name in names:
        every = [t for run in runs for t in run.trips[name]]
        server = [s for run in runs for s in run.server[name]]
        lines.append(
            f"| {labels[name]} | `{next(c.command for c in result.contestants if c.name == name)}`"
            " | "
            + " | ".join(f"{run.median(name):.1f}" for run in runs)
            + f" | {medians[name]:.1f} | {percentile(every, 95):.1f}"
            f" | {statistics.median(server) if server else float('nan'):.1f}"
            f" | {ratio[name]:.3f}× |"
        )
    lines += [
        "",
        f"in process, the dispatcher's `status` alone: median "
        f"{statistics.median(result.local):.2f} ms, p95 {percentile(result.local, 95):.2f} ms",
    ]
    lines += [
        "",
        "per run, ÷ floor: "
        + "; ".join(
            f"run {i}: "
            + ", ".join(f"{n} {run.median(n) / run.median('floor'):.3f}×" for n in names[1:])
            for i, run in enumerate(runs, 1)
        ),
    ]
    met = ratio["regelkreis"] <= TARGET_RATIO
    lines += [
        "",
        f"target: Regelkreis ÷ floor = {ratio['regelkreis']:.3f}× ≤ {TARGET_RATIO:.2f}× → "
        f"{'met' if met else 'MISSED'}",
    ]
    if "peer" in ratio:
        fair = ratio["regelkreis"] <= ratio["peer"]
        lines.append(
            f"target: Regelkreis ÷ floor {ratio['regelkreis']:.3f}× ≤ peer ÷ floor "
            f"{ratio['peer']:.3f}× → {'met' if fair else 'MISSED'}"
        )
    else:
        lines.append(f"target: Regelkreis ≤ peer → not judged ({result.peer_note})")
    idle = result.idle
    lines += [
        "",
        f"CPU while measuring ({commands} commands each, warm-up included), ms per command: "
        + ", ".join(
            f"{labels[n]} {result.busy_cpu[n] * 1000 / commands:.2f}" for n in result.busy_cpu
        ),
        f"idle CPU, {idle.seconds:.0f} s with no message, CPU seconds in that window: "
        + ", ".join(f"{labels.get(n, n)} {s:.3f}" for n, s in idle.cpu.items()),
        f"sync long-poll: Regelkreis configures {SYNC_TIMEOUT_MS} ms (bot/matrix/sync.py); "
        "the homeserver saw, in the idle window:",
    ]
    for contestant in result.contestants:
        lines.append(
            f"  {contestant.label}: {idle.polls.get(contestant.user_id, Polls()).describe()}"
        )
    ours = idle.polls.get(next(c.user_id for c in result.contestants if c.name == "regelkreis"))
    if ours is None or not ours.took_s:
        lines.append(f"long-poll ≥ {LONG_POLL_MIN_S:.0f} s: not observed (no /sync of ours ended)")
    else:
        asked, held = min(ours.timeouts_ms, default=0), max(ours.took_s)
        # Held: the homeserver answers an idle long-poll when its timeout runs out.
        ok = asked >= LONG_POLL_MIN_S * 1000 and held >= LONG_POLL_MIN_S - 0.5
        lines.append(
            f"long-poll ≥ {LONG_POLL_MIN_S:.0f} s: requested {asked} ms, held {held:.1f} s"
            f" → {'met' if ok else 'MISSED'}"
        )
    if result.peer_note:
        lines += ["", f"peer: {result.peer_note}"]
    return "\n".join(lines)


def peer_command(option: str | None) -> tuple[list[str] | None, str | None]:
    """The peer's command (its config file goes last), or None and why it is skipped."""
    given = option or os.environ.get(PEER_ENV)
    if not given:
        return None, (
            "skipped: no matrix-reminder-bot given (--peer COMMAND or "
            f"{PEER_ENV}=COMMAND, e.g. /tmp/peer-venv/bin/matrix-reminder-bot)"
        )
    command = shlex.split(given)
    return command, None


async def measure(args: argparse.Namespace, folder: Path) -> Result:
    peer, peer_note = peer_command(args.peer)
    if peer_note:
        print(f"peer: {peer_note}", flush=True)
    server = Synapse(folder / "synapse")
    server.start()
    try:
        floor, bot, user = (
            server.register("floorbot"),
            server.register("regelkreis"),
            server.register(USER),
        )
        peer_bot = server.register("reminderbot") if peer else None
        print(f"growing the municipality to {args.measures} measures …", flush=True)
        started = time.perf_counter()
        config_file = municipality(folder, args.measures, server.url, bot, user.user_id)
        print(f"  … took {time.perf_counter() - started:.1f} s", flush=True)
        local, content = in_process_status(config_file, user.user_id, args.rounds)
        content_file = folder / "reply.json"
        content_file.write_text(json.dumps(content), encoding="utf-8")
        executable = Path(sys.executable)
        regelkreis = executable.parent / "regelkreis"
        with contextlib.ExitStack() as stack:
            children = {
                "regelkreis": stack.enter_context(
                    process(
                        str(regelkreis),
                        "run",
                        "--config",
                        str(config_file),
                        log=folder / "bot.log",
                    )
                ),
                "floor": stack.enter_context(
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
                    )
                ),
            }
            if peer and peer_bot:
                peer_folder = folder / "peer"
                peer_file = peer_config(peer_folder, server.url, peer_bot, user.user_id)
                children["peer"] = stack.enter_context(
                    process(*peer, str(peer_file), log=folder / "peer.log", cwd=peer_folder)
                )
            asker = Asker(server.url, user.user_id, user.password)
            await asker.open()
            try:
                contestants = [
                    Contestant(
                        "floor",
                        "floor: matrix-nio bot answering at once",
                        floor.user_id,
                        await asker.room_with(floor.user_id),
                        "!status",
                    ),
                    Contestant(
                        "regelkreis",
                        "Regelkreis (`regelkreis run`)",
                        bot.user_id,
                        await asker.room_with(bot.user_id),
                        "!status",
                    ),
                ]
                if peer_bot:
                    contestants.append(
                        Contestant(
                            "peer",
                            "peer: matrix-reminder-bot",
                            peer_bot.user_id,
                            await asker.room_with(peer_bot.user_id),
                            "!list",
                        )
                    )
                runs = []
                cpu_before = {n: cpu_seconds(c.pid) for n, c in children.items()}
                for number in range(1, args.runs + 1):
                    print(f"run {number}: {args.rounds} interleaved rounds …", flush=True)
                    runs.append(await interleaved(asker, contestants, args.rounds, args.warmup))
                busy = {n: cpu_seconds(c.pid) - cpu_before[n] for n, c in children.items()}
                print(f"idle for {args.idle:.0f} s …", flush=True)
                pids = {n: c.pid for n, c in children.items()}
                if server.process is not None:
                    pids["synapse"] = server.process.pid
                log_start = server.log_path.stat().st_size
                idle_before = {n: cpu_seconds(pid) for n, pid in pids.items()}
                await asyncio.sleep(args.idle)
                idle_cpu = {n: cpu_seconds(pid) - idle_before[n] for n, pid in pids.items()}
                with server.log_path.open("rb") as log:
                    log.seek(log_start)
                    polls = long_polls(log.read().decode("utf-8", "replace"))
            finally:
                await asker.close()
            for name, child in children.items():
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited early ({child.returncode}); see logs")
        return Result(
            args.measures,
            args.rounds,
            args.warmup,
            contestants,
            runs,
            local,
            busy,
            Idle(args.idle, idle_cpu, polls),
            None if peer else peer_note,
        )
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measures", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--idle", type=float, default=45.0, help="seconds left idle at the end")
    parser.add_argument(
        "--peer",
        metavar="COMMAND",
        help=f"matrix-reminder-bot's command (its config file is appended); or {PEER_ENV}",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (logs) and print it"
    )
    parser.add_argument(
        "--floor", nargs=4, metavar=("HOMESERVER", "USER_ID", "PASSWORD", "CONTENT_FILE")
    )
    args = parser.parse_args(argv)
    if args.floor:
        asyncio.run(floor_bot(*args.floor))
        return 0
    folder = tempfile.mkdtemp(prefix="regelkreis-matrix-bench-")
    try:
        print(table(asyncio.run(measure(args, Path(folder)))))
    finally:
        if args.keep:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
