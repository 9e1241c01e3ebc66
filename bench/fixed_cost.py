"""The fixed cost of one command in process (`wer bin ich`), as a ratio to a base commit.

Run `python -m bench.fixed_cost [--base 7320356] [--repeat 400] [--rounds 5]`. The base
commit is checked out into a temporary git worktree; each backend's measurement runs as a
child process in either tree (the same snippet, PYTHONPATH set to that tree), interleaved
round by round, so both see the same machine noise. Each child builds the example
municipality on a fresh database (SQLite in a temporary folder, PostgreSQL in a schema of
the `test` database it drops afterwards), warms up, then times `repeat` messages and prints
their median. The table shows the median of the rounds' medians and the ratio. For this tree
it also counts the write transactions (COMMITs) one message costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("REGELKREIS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

# The child: only names both trees have (bootstrap, ensure_demo, the dispatcher, Incoming).
CHILD = r"""
import json, statistics, sys, time, uuid
from datetime import date
from sqlalchemy import create_engine, event, text
from bot.bootstrap import bootstrap
from bot.config import Config
from handlers.core import Incoming
from storage.db import make_engine
from storage.demo import DEMO_COORDINATOR, ensure_demo
from storage.models import ChatIdentity
from sqlalchemy import select

backend, folder, pg_url, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
schema = None
if backend == "sqlite":
    engine = make_engine(f"sqlite:///{folder}/bench.db")
else:
    schema = "bench_" + uuid.uuid4().hex[:12]
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    engine = make_engine(pg_url + f"?options=-csearch_path%3D{schema}")
try:
    app = bootstrap(Config.model_validate({}), engine=engine)
    with app.uows(write=True) as uow:
        ensure_demo(uow.session, date.today())
        uow.commit()
    with app.uows() as uow:
        identity = uow.session.scalars(select(ChatIdentity).where(
            ChatIdentity.platform == "console")).first()
        sender = identity.user_id if identity is not None else DEMO_COORDINATOR
    incoming = Incoming("console", "bench-room", sender, "wer bin ich")
    for _ in range(50):
        app.dispatcher.handle(incoming)
    commits = []
    event.listen(engine, "commit", lambda _c: commits.append(1))
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        reply = app.dispatcher.handle(incoming)
        samples.append((time.perf_counter() - started) * 1000)
    assert reply.plain(), "no answer"
    print(json.dumps({"median": statistics.median(samples), "commits": len(commits) / repeat}))
    engine.dispose()
finally:
    if schema is not None:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
"""


def measure(tree: Path, backend: str, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="regelkreis-fixed-") as folder:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        out = subprocess.run(
            [sys.executable, "-c", CHILD, backend, folder, PG_URL, str(repeat)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
    if out.returncode != 0:
        raise SystemExit(f"{backend} in {tree} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="7320356", help="the commit to compare with")
    parser.add_argument("--repeat", type=int, default=400, help="messages per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="regelkreis-base-") as base_dir:
        base = Path(base_dir) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base],
            check=True,
            capture_output=True,
        )
        try:
            medians: dict[tuple[str, str], list[float]] = {}
            commits: dict[str, float] = {}
            for index in range(args.rounds):
                trees = [("base", base), ("this", ROOT)]
                for name, tree in trees if index % 2 == 0 else reversed(trees):
                    for backend in backends:
                        result = measure(tree, backend, args.repeat)
                        medians.setdefault((name, backend), []).append(result["median"])
                        if name == "this":
                            commits[backend] = result["commits"]
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    print(
        f"`wer bin ich` in process, {args.repeat} messages × {args.rounds} interleaved rounds, "
        f"this tree against {args.base}"
    )
    print(
        f"machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores\n"
    )
    print("| backend | base ms | this ms | ratio | target | COMMITs per message |")
    print("|---|---:|---:|---:|---|---:|")
    for backend in backends:
        before = statistics.median(medians[("base", backend)])
        after = statistics.median(medians[("this", backend)])
        ratio = after / before
        verdict = "met" if ratio <= 0.4 else "MISSED"
        print(
            f"| {backend} | {before:.3f} | {after:.3f} | {ratio:.2f}× | ≤ 0.40× {verdict} "
            f"| {commits[backend]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
