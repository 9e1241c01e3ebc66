"""The steering report and the charts, end to end through the dispatcher, at 10k measures.

Run `python -m bench.report_bench [--size 10000] [--repeat 5]`. A SQLite database in a
temporary folder is migrated and filled by bench.generate (as bench.run does), plus one
indicator with a baseline, a target and twelve monthly values on the goal with most measures;
then the bot is started with bootstrap() and a fixed clock, and each command is sent as a
console message through `app.dispatcher.handle`, the way a chat message arrives. Each row is
the median of --repeat runs after one untimed run (matplotlib's and fpdf2's first import).
The file is written under data_dir/generated/ as in production; posting it is the adapter's.

Rows and targets (issue 12):
- `bericht` (the PDF report): < 5 s;
- `diagramm`, `diagramm JA`, `diagramm Z-<n>`, `diagramm K-<n>`: < 2 s each;
- `regelkreis --version` as a child process (wall time): < 1 s, without matplotlib, fpdf2
  or jinja2 imported (checked with `-X importtime`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.generate import PLATFORM, generate
from bench.run import FixedClock, machine
from bot.bootstrap import bootstrap
from bot.config import Config
from handlers.core import Incoming
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Direction, Indicator, IndicatorValue, Measure

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "fpdf", "jinja2")


def add_indicator(session: Session) -> tuple[int, int]:
    """An indicator on the goal with most measures, with twelve monthly values."""
    goal_id = session.execute(
        select(Measure.goal_id)
        .where(Measure.goal_id.is_not(None))
        .group_by(Measure.goal_id)
        .order_by(func.count().desc())
        .limit(1)
    ).scalar_one()
    indicator = Indicator(
        goal_id=goal_id,
        name="Betreuungsquote U3",
        unit="%",
        direction=Direction.HIGHER_IS_BETTER,
        baseline=38.5,
        baseline_date=date(2025, 12, 1),
        target_value=45.0,
        target_date=date(2028, 12, 31),
        update_interval="monatlich",
        created_at=datetime(2025, 12, 1, tzinfo=UTC),
    )
    session.add(indicator)
    session.flush()
    for month in range(12):
        session.add(
            IndicatorValue(
                indicator_id=indicator.id,
                measured_on=date(2025, 12, 1) + timedelta(days=30 * month),
                value=38.5 + 0.2 * month + (0.3 if month % 3 == 0 else 0.0),
            )
        )
    return goal_id, indicator.id


def timed_command(
    app: object, sender: str, text: str, repeat: int, save: Path | None = None
) -> list[float]:
    samples: list[float] = []
    for i in range(repeat + 1):
        start = time.perf_counter()
        reply = app.dispatcher.handle(  # type: ignore[attr-defined]
            Incoming(PLATFORM, "bench-konsole", sender, text, message_id=f"b-{text}-{i}")
        )
        elapsed = time.perf_counter() - start
        if reply.outcome != "ok" or not reply.attachments:
            raise RuntimeError(f"{text!r} answered {reply.outcome}: {reply.plain()[:300]}")
        if save is not None and i == 0:
            save.mkdir(parents=True, exist_ok=True)
            source = reply.attachments[0].path
            shutil.copy(source, save / f"{text.replace(' ', '_')}{source.suffix}")
        if i:  # the first run imports matplotlib / fpdf2 once
            samples.append(elapsed)
    return samples


def version_wall(repeat: int) -> tuple[list[float], list[str]]:
    script = Path(sys.executable).parent / "regelkreis"  # what the operator types
    command = (
        [str(script), "--version"]
        if script.exists()
        else [sys.executable, "-m", "bot.cli", "--version"]
    )
    samples: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", "--version"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in traced.stderr.splitlines()
    }
    return samples, [name for name in HEAVY if name in imported]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_bench", description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", type=Path, help="copy each command's file into this folder")
    args = parser.parse_args(argv)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    rows: list[tuple[str, list[float], float]] = []
    with tempfile.TemporaryDirectory(prefix="regelkreis-report-bench-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(engine)
        data = generate(engine, args.size, args.seed)
        with Session(engine) as session:
            goal_id, indicator_id = add_indicator(session)
            session.commit()
        config = Config.model_validate(
            {
                "municipality": {"name": "Benchstadt"},
                "bot": {"language": "de", "data_dir": str(Path(folder) / "data")},
            }
        )
        app = bootstrap(config, clock=FixedClock(), engine=engine)
        commands = [
            ("bericht", 5.0),
            ("diagramm", 2.0),
            ("diagramm JA", 2.0),
            (f"diagramm Z-{goal_id}", 2.0),
            (f"diagramm K-{indicator_id}", 2.0),
        ]
        for text, limit in commands:
            rows.append(
                (text, timed_command(app, data.coordinator, text, args.repeat, args.save), limit)
            )
            print(f"  {text:<24} {statistics.median(rows[-1][1]):6.2f} s", file=sys.stderr)
        engine.dispose()
    version, heavy = version_wall(args.repeat)
    rows.append(("regelkreis --version", version, 1.0))
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    lines = [
        f"Regelkreis report and chart benchmark (bench/report_bench.py): seconds, "
        f"median of {args.repeat} runs, {args.size} measures on SQLite",
        *machine(None),
        f"Load:       {' '.join(load_before)} before, {' '.join(load_after)} after",
        "",
        f"{'command':<24} {'median':>8} {'max':>8} {'target':>8}",
        "-" * 58,
    ]
    for text, samples, limit in rows:
        median = statistics.median(samples)
        verdict = "ok" if median < limit else "MISS"
        lines.append(
            f"{text:<24} {median:8.2f} {max(samples):8.2f} {'<' + format(limit, 'g') + ' s':>8}  "
            f"{verdict}"
        )
    lines.append("heavy modules at --version: " + (", ".join(heavy) if heavy else "none (ok)"))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
