"""`regelkreis import` and `export` from an empty database set up through the command line."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import icalendar
import openpyxl
import pytest
from sqlalchemy import func, select

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.config import load_config
from storage.models import AuditEntry, Measure, PlanImport

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
# The set-up docs/import.md gives for the example plan.
DEPARTMENTS = [
    ("JA", "Jugendamt", "Amt 51"),
    ("SA", "Schulamt", "Amt 40"),
    ("SOZ", "Sozialamt", "Amt 50"),
    ("GA", "Gesundheitsamt", "Amt 53"),
]
PEOPLE = [
    ("Max Müller", "JA"),
    ("Sabine Schulz", "SA"),
    ("Petra Sommer", "SOZ"),
    ("Greta Gesund", "GA"),
]
HEADERS = ["Nr.", "Maßnahme", "Federführung", "Verantwortlich", "Frist", "Status", "Fortschritt"]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "regelkreis.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    for key, name, alias in DEPARTMENTS:
        assert main(["ressort", "add", key, name, "--alias", alias, "--config", str(path)]) == 0
    for name, key in PEOPLE:
        args = ["person", "add", name, "--ressort", key, "--rolle", "ressort"]
        assert main([*args, "--config", str(path)]) == 0
    return path


def run(config_file: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The command's exit status and what it printed (standard output and error)."""
    capsys.readouterr()
    status = main([*args, "--config", str(config_file)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def summary(output: str) -> dict[str, int]:
    """The summary table's rows, label → count (`│ new │ 8 │`)."""
    rows: dict[str, int] = {}
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if len(cells) == 2 and cells[1].isdigit():
            rows[cells[0].casefold()] = int(cells[1])
    return rows


def measures(config_file: Path) -> dict[str, Measure]:
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        found = uow.session.scalars(select(Measure)).all()
        for measure in found:  # loaded while the session is open
            _ = (measure.lead_department, measure.responsible)
        uow.session.expunge_all()
    app.engine.dispose()
    return {m.plan_number or f"M-{m.id}": m for m in found}


def counts(config_file: Path) -> tuple[int, int, int]:
    """Measures, applied imports and audit entries in the database."""
    app = bootstrap(load_config(config_file))
    with app.uows() as uow:
        result = tuple(
            uow.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Measure, PlanImport, AuditEntry)
        )
    app.engine.dispose()
    return result  # type: ignore[return-value]


def write_plan(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


GOOD = [
    ["1", "Sprachcafé im Familienzentrum", "JA", "Max Müller", date(2027, 6, 30), "laufend", 20],
    ["2", "Lernpaten an Grundschulen", "Amt 40", "Sabine Schulz", "Q3/2027", "geplant", 0],
]
BAD = [
    *GOOD,
    ["3", "Elternabende", "JA", "", "31.13.2027", "geplant", 0],  # row 4: bad date
    ["4", "Hausaufgabenhilfe", "Amt 99", "", date(2027, 1, 1), "geplant", 0],  # row 5
    ["5", "", "SA", "", date(2027, 1, 1), "geplant", 0],  # row 6: empty title
    ["1", "Noch ein Sprachcafé", "JA", "", date(2027, 1, 1), "geplant", 0],  # row 7: Nr. twice
    ["7", "Ferienprogramm", "SOZ", "", date(2027, 1, 1), "laufend", 150],  # row 8
]


def test_the_example_plan_is_imported_and_a_second_import_changes_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))
    assert status == 0, out
    assert summary(out)["new"] == 8
    assert "imported" in out
    plan = measures(config_file)
    assert sorted(plan) == ["1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "3.1", "3.2"]
    assert plan["1.1"].deadline == date(2027, 7, 31)  # an Excel date cell
    assert plan["1.2"].deadline == date(2027, 9, 30)  # typed `Q3/2027`
    lead = plan["1.3"].lead_department
    assert lead is not None and lead.key == "JA"  # `Amt 51`, the alias
    responsible = plan["1.1"].responsible
    assert responsible is not None and responsible.name == "Max Müller"
    before = counts(config_file)

    status, out = run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))
    assert status == 0, out
    assert summary(out).get("new", 0) == 0 and summary(out).get("changed", 0) == 0
    assert summary(out)["unchanged"] == 8
    assert counts(config_file)[0::2] == before[0::2]  # no measure, no audit entry more


def test_the_csv_example_gives_the_same_measures_as_the_xlsx(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.csv"))
    assert status == 0, out
    plan = measures(config_file)
    assert len(plan) == 8
    assert plan["1.1"].deadline == date(2027, 7, 31)
    assert plan["3.1"].progress == 30
    # The same rows as XLSX: matched by Nr., nothing changes.
    status, out = run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))
    assert status == 0, out
    assert summary(out)["unchanged"] == 8


def test_a_bad_plan_names_each_row_and_column_and_imports_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = write_plan(tmp_path / "plan.xlsx", BAD)
    status, out = run(config_file, capsys, "import", str(plan))
    assert status == 2, out
    assert "not imported" in out
    assert summary(out)["bad rows"] == 5
    lines = out.splitlines()
    for row, column in (
        (4, "Frist"),
        (5, "Federführung"),
        (6, "Maßnahme"),
        (7, "Nr."),
        (8, "Fortschritt"),
    ):
        assert any(str(row) in line and column in line for line in lines), (row, column, out)
    assert "Amt 99" in out  # the unknown department is named
    assert counts(config_file)[:2] == (0, 0)


def test_dry_run_shows_the_summary_and_changes_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = counts(config_file)
    status, out = run(
        config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"), "--dry-run"
    )
    assert status == 0, out
    assert summary(out)["new"] == 8
    assert "nothing changed" in out.casefold()
    assert counts(config_file) == before


def test_skip_invalid_imports_the_good_rows_only(
    config_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    plan = write_plan(tmp_path / "plan.xlsx", BAD)
    status, out = run(config_file, capsys, "import", str(plan), "--skip-invalid")
    assert status == 0, out
    imported = measures(config_file)
    assert sorted(m.title for m in imported.values()) == [
        "Lernpaten an Grundschulen",
        "Sprachcafé im Familienzentrum",
    ]
    assert imported["2"].deadline == date(2027, 9, 30)


def test_undo_reverts_the_last_import_once(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))[0] == 0
    assert len(measures(config_file)) == 8
    status, out = run(config_file, capsys, "import", "--undo")
    assert status == 0, out
    assert measures(config_file) == {}
    status, out = run(config_file, capsys, "import", "--undo")
    assert status == 2, out
    assert out.startswith("regelkreis: ")


def test_import_without_a_file_or_with_a_missing_file_is_usage(
    config_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out = run(config_file, capsys, "import")
    assert status == 2 and "FILE" in out
    status, out = run(config_file, capsys, "import", str(tmp_path / "fehlt.xlsx"))
    assert status == 2 and "cannot read" in out and "Traceback" not in out


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_an_exported_plan_reimports_unchanged(
    config_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    assert run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))[0] == 0
    before = counts(config_file)
    versions = {key: m.version for key, m in measures(config_file).items()}
    out_file = tmp_path / f"plan.{fmt}"
    status, out = run(config_file, capsys, "export", fmt, "--out", str(out_file))
    assert status == 0, out
    assert str(out_file) in out and out_file.stat().st_size > 0

    status, out = run(config_file, capsys, "import", str(out_file))
    assert status == 0, out
    assert summary(out)["unchanged"] == 8
    assert summary(out).get("changed", 0) == 0 and summary(out).get("new", 0) == 0
    assert counts(config_file)[0::2] == before[0::2]
    assert {key: m.version for key, m in measures(config_file).items()} == versions


def test_export_filters_and_the_default_file_name(
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))[0] == 0
    monkeypatch.chdir(tmp_path)
    status, out = run(config_file, capsys, "export", "csv", "--ressort", "Amt 51")
    assert status == 0, out
    written = list(tmp_path.glob("massnahmenplan-*.csv"))
    assert len(written) == 1, out
    text = written[0].read_text(encoding="utf-8-sig")
    # JA leads 1.1 and 1.3 and takes part in 1.2, 2.1, 2.2, 2.3, 3.1.
    assert "Sprachförderung in Kitas ausbauen" in text
    assert "Schulsozialarbeit an Grundschulen" not in text  # SOZ leads, SA takes part


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ressort", "Amt 99"], "unknown department 'Amt 99'"),
        (["--status", "bald"], "unknown status 'bald'"),
        (["--ziel", "Z-999"], "Z-999"),
        (["--planungsraum", "Hafenvirtel"], "did you mean Hafenviertel?"),
    ],
)
def test_an_unknown_filter_is_one_line_and_exit_2(
    config_file: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    expected: str,
) -> None:
    assert run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))[0] == 0
    out_file = tmp_path / "plan.xlsx"
    status, out = run(config_file, capsys, "export", "xlsx", *args, "--out", str(out_file))
    assert status == 2
    assert expected in out and len(out.strip().splitlines()) == 1
    assert not out_file.exists()


def test_export_ics_writes_the_file_and_the_feed_without_names(
    config_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(config_file, capsys, "import", str(EXAMPLES / "massnahmenplan.xlsx"))[0] == 0
    out_file = tmp_path / "fristen.ics"
    status, out = run(config_file, capsys, "export", "ics", "--out", str(out_file))
    assert status == 0, out
    calendar = icalendar.Calendar.from_ical(out_file.read_bytes())
    summaries = [str(e.get("summary")) for e in calendar.walk("VEVENT")]
    assert any("Sprachförderung in Kitas ausbauen" in s for s in summaries)
    assert "Max Müller" not in out_file.read_text(encoding="utf-8")
    feed = Path(out.split("Calendar feed: ")[1].split(" (")[0])
    assert feed.is_file() and (tmp_path / "data") in feed.parents
    assert feed.read_bytes() == out_file.read_bytes()
    # The same path next time: subscribers keep their address.
    status, again = run(config_file, capsys, "export", "ics", "--out", str(out_file))
    assert status == 0 and f"Calendar feed: {feed} " in again
    # One department's calendar: its own feed, only its measures.
    status, out = run(
        config_file, capsys, "export", "ics", "--ressort", "GA", "--out", str(out_file)
    )
    assert status == 0, out
    department_feed = Path(out.split("Calendar feed: ")[1].split(" (")[0])
    assert department_feed != feed and department_feed.is_file()
    summaries = [
        str(e.get("summary"))
        for e in icalendar.Calendar.from_ical(out_file.read_bytes()).walk("VEVENT")
    ]
    assert any("Bewegte Kita" in s for s in summaries)  # GA leads it
    assert not any("Berufsorientierung ab Klasse 7" in s for s in summaries)  # SA, JA, SOZ


def _big_plan(path: Path, n: int) -> Path:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Maßnahmen")
    sheet.append(HEADERS)
    keys = [key for key, _name, _alias in DEPARTMENTS]
    for i in range(n):
        deadline = date(2027, 1, 1) + timedelta(days=i % 700)
        sheet.append([f"{i + 1}", f"Maßnahme {i + 1}", keys[i % 4], "", deadline, "geplant", 0])
    book.save(path)
    return path


def test_sigkill_during_a_10k_import_leaves_the_database_unchanged(
    config_file: Path, tmp_path: Path
) -> None:
    plan = _big_plan(tmp_path / "gross.xlsx", 10_000)
    database = tmp_path / "data" / "regelkreis.db"
    wal = database.with_name("regelkreis.db-wal")
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "import", str(plan), "--config", str(config_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Writing has begun once the transaction spills pages into the write-ahead log; the
    # commit frame comes only at the end, so the kill lands inside the transaction.
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        if wal.exists() and wal.stat().st_size > 512 * 1024:
            break
        time.sleep(0.01)
    assert child.poll() is None, "the import ended before it was killed: " + str(
        child.communicate()[0][-500:]
    )
    spilled = wal.stat().st_size
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert spilled > 512 * 1024  # it was killed while writing
    assert counts(config_file)[:2] == (0, 0)


def test_a_terminal_gets_a_progress_bar_a_pipe_does_not(config_file: Path) -> None:
    import pty

    command = [
        sys.executable,
        "-m",
        "bot.cli",
        "import",
        str(EXAMPLES / "massnahmenplan.xlsx"),
        "--dry-run",
        "--config",
        str(config_file),
    ]
    leader, follower = pty.openpty()
    child = subprocess.Popen(command, cwd=ROOT, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closes when the child ends
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert child.wait() == 0
    assert b"8/8" in seen and b"rows" in seen  # the bar's count of rows read
    piped = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "8/8" not in piped.stdout and "\x1b[" not in piped.stdout
    assert summary(piped.stdout)["new"] == 8


def test_help_names_import_and_export_and_config_goes_before_or_after(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "import" in out and "export" in out
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert "{csv,xlsx,ods,ics}" in capsys.readouterr().out
    example = str(EXAMPLES / "massnahmenplan.csv")
    assert main(["--config", str(config_file), "import", example, "--dry-run"]) == 0
    assert summary(capsys.readouterr().out)["new"] == 8
