"""Backup and restore of a synthetic municipality: seconds and file size (issue 14).

Run `python -m bench.backup_bench [--sizes 10000] [--backends sqlite,postgresql]`. Each
municipality comes from bench/generate.py. On SQLite both kinds of backup are taken (the file
copy, FILE.db, and the portable dump, FILE.rkdump) and each is restored into a new SQLite
database and into a new PostgreSQL schema; on PostgreSQL the portable dump is taken and
restored into a new PostgreSQL schema and a new SQLite database. A restore's seconds include
building the schema at the backup's revision (the migrations) and counting that the target is
empty; `rows` counts every row of every table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bench.generate import generate
from bench.run import machine, postgres_database
from storage import events
from storage.backup import backup, restore
from storage.db import make_engine
from storage.migrate import upgrade

PG_URL = os.environ.get(
    "REGELKREIS_BENCH_PG",
    os.environ.get("REGELKREIS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)


@dataclass
class Row:
    source: str
    size: int
    kind: str
    rows: int
    backup_s: float
    file_mib: float
    restores: list[tuple[str, float]]


@contextlib.contextmanager
def database(backend: str, folder: Path, name: str) -> Iterator[Engine]:
    """An empty database without a schema."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{folder / name}.db")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_database(PG_URL) as pg:
        yield pg.engine


def run(backends: Sequence[str], size: int, folder: Path) -> list[Row]:
    found: list[Row] = []
    for source in backends:
        with database(source, folder, f"{source}-{size}") as engine:
            upgrade(engine)
            generate(engine, size)
            endings = [".db", ".rkdump"] if source == "sqlite" else [".rkdump"]
            for ending in endings:
                made = backup(engine, folder / f"backup-{source}-{size}{ending}")
                restores: list[tuple[str, float]] = []
                for target in [source, *(b for b in backends if b != source)]:
                    with database(
                        target, folder, f"{source}-{ending[1:]}-into-{target}-{size}"
                    ) as into:
                        done = restore(into, made.path)
                        assert done.rows == made.rows, (done.rows, made.rows)
                        restores.append((target, done.seconds))
                found.append(
                    Row(
                        source,
                        size,
                        made.kind,
                        made.rows,
                        made.seconds,
                        made.size / 1024 / 1024,
                        restores,
                    )
                )
                made.path.unlink()
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="measures, comma-separated")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    events.install()
    for line in machine(PG_URL if "postgresql" in backends else None):
        print(line)
    print()
    header = (
        f"{'source':<11} {'measures':>8} {'backup kind':<17} {'rows':>8} {'backup s':>8} "
        f"{'MiB':>6}  restore s into"
    )
    print(header)
    print("-" * (len(header) + 24))
    with tempfile.TemporaryDirectory(prefix="regelkreis-backup-") as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            for row in run(backends, size, Path(folder)):
                restores = ", ".join(f"{target} {seconds:.2f}" for target, seconds in row.restores)
                print(
                    f"{row.source:<11} {row.size:>8} {row.kind:<17} {row.rows:>8} "
                    f"{row.backup_s:>8.2f} {row.file_mib:>6.1f}  {restores}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
