"""The measure plan on the command line: import, re-import and export as a user starts them.

Run `python -m bench.plan_bench [--sizes 10000] [--large 100000] [--repeat 3]`. Each figure
is the whole process, `regelkreis import FILE --config …` or `regelkreis export FMT --out …`
started as a child process (interpreter start, imports, schema check, the work, the commit),
on a SQLite database in a temporary folder that was set up through the command line with the
twelve departments of bench/generate.py and 48 people. The plans are generated here: XLSX
with real date cells (openpyxl's write-only mode), one row per measure, every column the
import reads, goals (one per 100 rows) and fields of action that the import creates.

Rows, each the median of --repeat runs:
- import N: the plan into the freshly set-up database (a copy of it for each run);
- re-import, 100 edits: the same plan with 100 rows changed (title, status, progress,
  deadline), into a copy of the imported database;
- export csv / xlsx / ods / ics: the whole imported plan to a file;
- import --large (100k): wall time and the child's peak memory (ru_maxrss from wait4);
- start-up: `regelkreis db upgrade` with nothing to do, the fixed cost in every figure.

Targets (issue 11): every 10k figure under 3 s; the 100k import under 400 MB peak memory.
The last line is the size of the venv `make run` installs (see venv_size()).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

import openpyxl

from bench.generate import DEPARTMENTS
from bench.run import machine

ROOT = Path(__file__).resolve().parent.parent
LIMIT_S = 3.0
LIMIT_MB = 400.0
START = date(2026, 1, 1)
HEADERS = [
    "Nr.",
    "Maßnahme",
    "Beschreibung",
    "Ziel",
    "Oberziel",
    "Handlungsfeld",
    "Federführung",
    "Beteiligt",
    "Verantwortlich",
    "Beginn",
    "Frist",
    "Status",
    "Fortschritt (%)",
    "Evaluationsintervall",
    "Bemerkung",
]
TOPICS = [
    "Sprachförderung",
    "Elternarbeit",
    "Berufsorientierung",
    "Schulsozialarbeit",
    "Ganztagsbetreuung",
    "Bewegungsförderung",
    "Quartiersmanagement",
    "Lesepatenschaften",
    "Medienbildung",
    "Inklusionsberatung",
    "Familienbildung",
    "Ferienbetreuung",
]
PLACES = ["in Kitas", "an Grundschulen", "in Familienzentren", "im Quartier", "an Oberschulen"]
FIELDS = ["Bildung", "Soziales", "Integration", "Frühkindliche Bildung", "Gesundheit"]
STATUSES = ["geplant", "laufend", "verzögert", "gefährdet", "erledigt"]
INTERVALS = ["quartalsweise", "halbjährlich", "jährlich", "monatlich", ""]


def people() -> list[tuple[str, str]]:
    """Four people per department: (name, department key)."""
    first = ["Anna", "Ben", "Clara", "David"]
    last = [
        "Albers", "Brandt", "Claussen", "Dietrich", "Ehlers", "Fuchs",
        "Gerdes", "Hansen", "Iversen", "Jansen", "Krüger", "Lorenzen",
    ]  # fmt: skip
    return [
        (f"{given} {last[i]}", key)
        for i, (key, _name, _aliases, _weight) in enumerate(DEPARTMENTS)
        for given in first
    ]


def plan_rows(n: int, seed: int = 1, edited: int = 0) -> list[list[object]]:
    """n plan rows; with `edited`, that many rows (spread over the plan) changed."""
    rng = random.Random(seed)
    staff = people()
    rows: list[list[object]] = []
    for i in range(n):
        key, name, aliases, _weight = DEPARTMENTS[i % len(DEPARTMENTS)]
        # Departments as plans name them: key, name or alias.
        lead = (key, name, aliases[0])[i % 3]
        other = DEPARTMENTS[(i + 5) % len(DEPARTMENTS)][0]
        person = staff[(i % len(DEPARTMENTS)) * 4 + i % 4][0]
        goal = i // 100
        begin = START + timedelta(days=rng.randrange(0, 365))
        rows.append(
            [
                f"{goal + 1}.{i % 100 + 1}",
                f"{TOPICS[i % len(TOPICS)]} {PLACES[i % len(PLACES)]}, Baustein {i + 1}",
                "Umsetzung nach Konzept der Steuerungsgruppe" if i % 4 == 0 else "",
                f"Ziel {goal + 1}: {TOPICS[goal % len(TOPICS)]} stärken",
                f"Leitziel {goal % 10 + 1}",
                FIELDS[i % len(FIELDS)],
                lead,
                other if i % 3 == 0 else "",
                person,
                begin,
                begin + timedelta(days=rng.randrange(60, 720)),
                STATUSES[i % len(STATUSES)],
                (i * 7) % 101,
                INTERVALS[i % len(INTERVALS)],
                "Haushalt 2027" if i % 10 == 0 else "",
            ]
        )
    step = max(1, n // edited) if edited else 0
    for j in range(edited):
        row = rows[j * step]
        row[1] = f"{row[1]} (überarbeitet)"
        row[11] = "verzögert" if row[11] != "verzögert" else "laufend"
        row[12] = (int(str(row[12])) + 5) % 101
        row[10] = row[10] + timedelta(days=30)  # type: ignore[operator]
    return rows


def write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> None:
    """The plan as XLSX with real date cells, in write-only (streaming) mode."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Maßnahmenplan")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(list(row))
    book.save(path)


@dataclass
class Figure:
    name: str
    seconds: list[float]
    peak_mb: float | None = None
    limit_s: float | None = LIMIT_S
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def verdict(self) -> str:
        parts = []
        if self.limit_s is not None:
            parts.append(f"< {self.limit_s:.0f} s {'ok' if self.median < self.limit_s else 'MISS'}")
        if self.peak_mb is not None:
            parts.append(f"< {LIMIT_MB:.0f} MB {'ok' if self.peak_mb < LIMIT_MB else 'MISS'}")
        return ", ".join(parts)


class Workspace:
    """A temporary folder with a configuration whose data_dir (and SQLite file) is inside."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder / name
        self.folder.mkdir()
        self.config = self.folder / "regelkreis.toml"
        self.config.write_text(
            f'[municipality]\nname = "Benchstadt"\n\n[bot]\ndata_dir = "{self.folder / "data"}"\n',
            encoding="utf-8",
        )
        self.database = self.folder / "data" / "regelkreis.db"

    def run(self, *args: str, check: bool = True) -> tuple[float, float, str]:
        """`regelkreis ARGS --config …` as a child process: seconds, peak MB, output."""
        out = self.folder / "out.txt"
        command = [sys.executable, "-m", "bot.cli", *args, "--config", str(self.config)]
        started = time.perf_counter()
        with out.open("wb") as sink:
            child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT)
            # wait4, not wait(): the child's own rusage (RUSAGE_CHILDREN is the maximum
            # over every child so far).
            _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        text = out.read_text(encoding="utf-8", errors="replace")
        if check and child.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({child.returncode}):\n{text}")
        return seconds, usage.ru_maxrss / 1024, text

    def copy_from(self, other: Workspace) -> None:
        """The other workspace's database (checkpointed) as this one's."""
        with sqlite3.connect(other.database) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.database.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(other.database, self.database)


def set_up(space: Workspace) -> None:
    """Departments and people through the command line, in process (fast, same code)."""
    from bot.cli import main

    def cli(*args: str) -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            status = main([*args, "--config", str(space.config)])
        if status != 0:
            raise SystemExit(f"set-up failed: {args}")

    cli("db", "upgrade")
    for key, name, aliases, _weight in DEPARTMENTS:
        cli("ressort", "add", key, name, *[a for alias in aliases for a in ("--alias", alias)])
    for name, key in people():
        cli("person", "add", name, "--ressort", key, "--rolle", "ressort")


def bench_size(root: Path, n: int, repeat: int, seed: int) -> list[Figure]:
    base = Workspace(root, f"base-{n}")
    set_up(base)
    plan = root / f"plan-{n}.xlsx"
    write_xlsx(plan, plan_rows(n, seed))
    edited = root / f"plan-{n}-edited.xlsx"
    write_xlsx(edited, plan_rows(n, seed, edited=100))

    figures: list[Figure] = []
    # The fixed cost of any command: interpreter, imports, configuration, schema check.
    times = [base.run("db", "upgrade")[0] for _ in range(repeat)]
    figures.append(Figure("start-up (db upgrade, nothing to do)", times, limit_s=None))
    imported: Workspace | None = None
    times = []
    for i in range(repeat):
        space = Workspace(root, f"import-{n}-{i}")
        space.copy_from(base)
        seconds, _peak, _out = space.run("import", str(plan))
        times.append(seconds)
        imported = space
    assert imported is not None
    figures.append(Figure(f"import {n:,}", times))

    times = []
    last = ""
    for i in range(repeat):
        space = Workspace(root, f"reimport-{n}-{i}")
        space.copy_from(imported)
        seconds, _peak, last = space.run("import", str(edited))
        times.append(seconds)
    figures.append(Figure(f"re-import {n:,}, 100 edits", times, note=_changed(last)))

    for fmt in ("csv", "xlsx", "ods", "ics"):
        times = []
        size = 0
        for i in range(repeat):
            out = root / f"export-{n}-{i}.{fmt}"
            seconds, _peak, _text = imported.run("export", fmt, "--out", str(out))
            times.append(seconds)
            size = out.stat().st_size
        figures.append(Figure(f"export {fmt} {n:,}", times, note=f"{size / 1024:,.0f} KiB"))
    return figures


def _changed(output: str) -> str:
    """The summary's 'changed' line, as a check that the edits arrived."""
    for line in output.splitlines():
        if "changed" in line.casefold():
            return " ".join(line.replace("│", " ").replace("┃", " ").split())
    return ""


def bench_large(root: Path, n: int, repeat: int, seed: int) -> Figure:
    base = Workspace(root, f"base-{n}")
    set_up(base)
    plan = root / f"plan-{n}.xlsx"
    write_xlsx(plan, plan_rows(n, seed))
    times, peaks = [], []
    for i in range(repeat):
        space = Workspace(root, f"import-{n}-{i}")
        space.copy_from(base)
        seconds, peak, _out = space.run("import", str(plan))
        times.append(seconds)
        peaks.append(peak)
    return Figure(
        f"import {n:,} (peak memory)",
        times,
        peak_mb=statistics.median(peaks),
        limit_s=None,
        note=f"peaks {', '.join(f'{p:.0f}' for p in peaks)} MB",
    )


def venv_size(fresh: bool) -> str:
    """The venv of `make run` (`pip install -e .`, no dev extra).

    fresh (the default): a new `python -m venv` with `pip install .` in a temporary folder,
    measured with `du -s` (needs the package index; about two minutes). Without it, or when
    the install fails: the files that the package metadata in this .venv lists for
    regelkreis's runtime dependency closure, plus pip — a lower bound (no byte code, no
    files a package leaves out of its RECORD).
    """
    if fresh:
        with tempfile.TemporaryDirectory(prefix="regelkreis-venv-") as folder:
            venv = Path(folder) / "venv"
            try:
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
                subprocess.run(
                    [str(venv / "bin" / "pip"), "install", "--quiet", str(ROOT)],
                    check=True,
                    cwd=folder,
                    capture_output=True,
                )
            except subprocess.CalledProcessError as error:
                reason = (error.stderr or b"").decode(errors="replace").strip().splitlines()
                return f"fresh install failed ({reason[-1] if reason else error}); " + (
                    venv_size(False)
                )
            du = subprocess.run(["du", "-sk", str(venv)], capture_output=True, text=True)
            kib = int(du.stdout.split()[0])
            return f"{kib / 1024:.0f} MiB (du -s of a fresh python -m venv + pip install .)"
    total, names = _closure_size()
    return (
        f"at least {total / 2**20:.0f} MiB ({len(names)} distributions: regelkreis's runtime "
        "dependency closure from the package metadata of .venv, plus pip; a lower bound)"
    )


def _closure_size() -> tuple[int, set[str]]:
    from packaging.requirements import Requirement

    def norm(name: str) -> str:
        return name.lower().replace("_", "-").replace(".", "-")

    distributions = {norm(d.metadata["Name"]): d for d in metadata.distributions()}
    wanted = {"pip"}
    todo = [Requirement(r) for r in metadata.requires("regelkreis") or []]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = norm(requirement.name)
        if name in wanted or name not in distributions:
            continue
        wanted.add(name)
        todo.extend(Requirement(r) for r in distributions[name].requires or [])
    total = 0
    for name in wanted:
        for file in distributions[name].files or []:
            located = Path(str(file.locate()))
            if located.is_file():
                total += located.stat().st_size
    return total, wanted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plan_bench", description=__doc__)
    parser.add_argument("--sizes", default="10000", help="plan sizes for the timed rows")
    parser.add_argument("--large", type=int, default=100_000, help="0 skips the memory row")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-fresh-venv",
        dest="fresh_venv",
        action="store_false",
        help="estimate the venv from .venv's package metadata instead of installing a new one",
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "").replace("k", "000")) for s in args.sizes.split(",") if s]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="regelkreis-plan-bench-") as folder:
        root = Path(folder)
        for n in sizes:
            figures.extend(bench_size(root, n, args.repeat, args.seed))
        if args.large:
            figures.append(bench_large(root, args.large, args.repeat, args.seed))
    header = f"{'figure':<34} {'median s':>9} {'runs s':<22} {'peak MB':>8}  target  note"
    lines = [
        "Regelkreis plan import/export (bench/plan_bench.py): whole `regelkreis` processes on "
        f"SQLite, median of {args.repeat} runs",
        "",
        *machine(None)[:4],
        f"Run:        total {time.perf_counter() - started:.0f} s; 1-minute load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {platform.node()}",
        "Command:    python -m bench.plan_bench "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "",
        header,
        "-" * len(header),
    ]
    for f in figures:
        runs = ", ".join(f"{s:.2f}" for s in f.seconds)
        peak = f"{f.peak_mb:8.0f}" if f.peak_mb is not None else f"{'–':>8}"
        lines.append(
            f"{f.name:<34} {f.median:9.2f} {runs:<22} {peak}  {f.verdict()}  {f.note}".rstrip()
        )
    lines += ["", f"make run venv: {venv_size(args.fresh_venv)}"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
