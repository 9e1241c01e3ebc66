"""The measure plan out (CSV, XLSX, ODS) in the import's columns, and the ICS calendar feed.

Each test starts from an empty database set up like a small municipality (departments,
people, goals, planning areas, measures), writes the file and reads it back the way a
spreadsheet or calendar would: python-calamine and openpyxl for XLSX, calamine and the zip's
XML for ODS, the csv module for CSV, icalendar for the feed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from conftest import NOW
from icalendar import Calendar
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from handlers.calendar_feed import calendar_feed, write_feed
from handlers.plan_columns import EXPORT_HEADERS
from handlers.plan_export import ExportFilter, Format, export_file_name, export_plan
from storage.demo import ensure_demo
from storage.models import (
    Department,
    FieldOfAction,
    Goal,
    Measure,
    MeasureStatus,
    Meeting,
    Person,
    PlanningArea,
    Role,
)

BERLIN = ZoneInfo("Europe/Berlin")
HEADERS = list(EXPORT_HEADERS.values())
FORMULA_TITLES = ["=SUMME(A1:A3)", "+49 30 1234567", "-5 % Energie", "@Kita-Portal"]


def set_up(session: Session) -> dict[str, Any]:
    """Three departments, two people, a goal with a subgoal and one more, two planning
    areas, four measures, two meetings around the 2027 change to summer time."""
    ja = Department(key="JA", name="Jugendamt")
    sa = Department(key="SA", name="Schulamt")
    ua = Department(key="UA", name="Umweltamt")
    petra = Person(name="Petra Neumann", department=ja, role=Role.DEPARTMENT)
    jonas = Person(name="Jonas Weber", department=sa, role=Role.DEPARTMENT)
    # The migrations bring the catalog of fields of action; `Bildung` is one of them.
    bildung = session.scalars(select(FieldOfAction).where(FieldOfAction.name == "Bildung")).one()
    leitziel = Goal(title="Bildungsgerechtigkeit für alle", created_at=NOW)
    fruehe = Goal(
        title="Frühkindliche Bildung stärken",
        parent=leitziel,
        field_of_action=bildung,
        created_at=NOW,
    )
    klima = Goal(title="Klimaanpassung im Quartier", created_at=NOW)
    nord = PlanningArea(name="Nordstadt")
    sued = PlanningArea(name="Südvorstadt")
    session.add_all([ja, sa, ua, petra, jonas, leitziel, fruehe, klima, nord, sued])
    session.flush()
    kita = Measure(
        title="Sprachförderung in Kitas",
        plan_number="3.1",
        description="Alltagsintegriert,\nin  fünf Kitas",
        goal=fruehe,
        lead_department=ja,
        participants=[sa, ua],
        responsible=petra,
        start=date(2027, 1, 15),
        deadline=date(2027, 3, 31),
        status=MeasureStatus.IN_PROGRESS,
        progress=40,
        planning_area=nord,
        evaluation_interval="quartalsweise",
        extra_fields={"Kosten": "12.000 €", "Quelle": "Haushalt 2027"},
        created_at=NOW,
    )
    formula = Measure(
        title=FORMULA_TITLES[0],
        description=FORMULA_TITLES[1],
        goal=leitziel,
        lead_department=sa,
        status=MeasureStatus.PLANNED,
        progress=0,
        planning_area=sued,
        evaluation_interval="monatlich",
        extra_fields={"Bemerkung": FORMULA_TITLES[2], "Kosten": "500 €"},
        created_at=NOW,
    )
    hitze = Measure(
        title="Hitzeaktionsplan",
        goal=klima,
        lead_department=ua,
        participants=[ja],
        responsible=jonas,
        deadline=date(2026, 10, 1),
        status=MeasureStatus.DONE,
        progress=100,
        evaluation_interval="jährlich",
        created_at=NOW,
    )
    portal = Measure(
        title=FORMULA_TITLES[3],
        lead_department=sa,
        responsible=jonas,
        deadline=date(2027, 6, 30),
        status=MeasureStatus.DELAYED,
        progress=10,
        evaluation_interval="halbjährlich",
        created_at=NOW,
    )
    before = Meeting(
        title="Steuergruppe Bildung",
        starts_at=datetime(2027, 3, 26, 10, 0, tzinfo=BERLIN),
        body="Steuergruppe Bildung",
        departments=[ja, sa],
    )
    after = Meeting(
        title="Lenkungskreis Klima",
        starts_at=datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN),
        departments=[ua],
    )
    session.add_all([kita, formula, hitze, portal, before, after])
    session.commit()
    return {
        "ja": ja.id,
        "sa": sa.id,
        "ua": ua.id,
        "leitziel": leitziel.id,
        "fruehe": fruehe.id,
        "klima": klima.id,
        "nord": nord.id,
        "measures": [kita.id, formula.id, hitze.id, portal.id],
        "meetings": [before.id, after.id],
    }


@pytest.fixture
def town(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return set_up(session)


def expected_rows(ids: list[int]) -> list[list[Any]]:
    """The plan as a person reads it in the file; `None` an empty cell."""
    kita, formula, hitze, portal = (f"M-{i}" for i in ids)
    return [
        [
            kita, "3.1", "Sprachförderung in Kitas", "Alltagsintegriert,\nin  fünf Kitas",
            "Frühkindliche Bildung stärken", "Bildungsgerechtigkeit für alle", "Bildung", "JA",
            "SA; UA", "Petra Neumann", date(2027, 1, 15), date(2027, 3, 31), "laufend", 40,
            "Nordstadt", "quartalsweise", "12.000 €", "Haushalt 2027", None,
        ],
        [
            formula, None, FORMULA_TITLES[0], FORMULA_TITLES[1], "Bildungsgerechtigkeit für alle",
            None, None, "SA", None, None, None, None, "geplant", 0, "Südvorstadt", "monatlich",
            "500 €", None, FORMULA_TITLES[2],
        ],
        [
            hitze, None, "Hitzeaktionsplan", None, "Klimaanpassung im Quartier", None, None,
            "UA", "JA", "Jonas Weber", None, date(2026, 10, 1), "erledigt", 100, None,
            "jährlich", None, None, None,
        ],
        [
            portal, None, FORMULA_TITLES[3], None, None, None, None, "SA", None, "Jonas Weber",
            None, date(2027, 6, 30), "verzögert", 10, None, "halbjährlich", None, None, None,
        ],
    ]  # fmt: skip


def read_back(fmt: str, data: bytes) -> list[list[Any]]:
    """The rows as the import will see them: calamine for XLSX/ODS, csv for CSV; empty
    cells as None, CSV dates parsed from TT.MM.JJJJ."""
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for German Excel"
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    else:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        rows = sheet.to_python()
    out: list[list[Any]] = [list(rows[0])]
    for row in rows[1:]:
        cells: list[Any] = []
        for value in row:
            if value == "":
                value = None
            elif fmt == "csv" and re.fullmatch(r"\d\d\.\d\d\.\d{4}", value):
                value = datetime.strptime(value, "%d.%m.%Y").date()
            elif fmt == "csv" and value.isdigit():
                value = int(value)
            cells.append(value)
        out.append(cells)
    return out


def export(engine: Engine, fmt: Format, flt: ExportFilter | None = None) -> bytes:
    with Session(engine) as session:
        return export_plan(session, fmt, flt or ExportFilter())


# -- the three formats ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_the_whole_plan_comes_back_with_the_import_headers_and_every_value(
    engine: Engine, town: dict[str, Any], fmt: str
) -> None:
    rows = read_back(fmt, export(engine, fmt))
    # The import's columns in order, then the free fields in the order first met.
    assert rows[0] == [*HEADERS, "Kosten", "Quelle", "Bemerkung"]
    assert rows[1:] == expected_rows(town["measures"])


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_dates_are_date_cells_and_progress_a_number(
    engine: Engine, town: dict[str, Any], fmt: str
) -> None:
    rows = CalamineWorkbook.from_filelike(io.BytesIO(export(engine, fmt)))
    first = rows.get_sheet_by_index(0).to_python()[1]
    start, deadline = first[HEADERS.index("Beginn")], first[HEADERS.index("Frist")]
    assert (type(start), start) == (date, date(2027, 1, 15))
    assert (type(deadline), deadline) == (date, date(2027, 3, 31))
    assert first[HEADERS.index("Fortschritt (%)")] == 40  # a number cell, not "40"
    assert not isinstance(first[HEADERS.index("Fortschritt (%)")], str)


def test_the_xlsx_has_a_bold_frozen_header_readable_widths_and_text_cells(
    engine: Engine, town: dict[str, Any]
) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(export(engine, "xlsx"))).active
    assert sheet is not None
    assert sheet.title == "Maßnahmen"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["C2"].font.b
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDL"}
    # ID is short, the title and description columns fit their longest line, a date its 10.
    assert widths["A"] < widths["C"]
    assert widths["C"] == len("Sprachförderung in Kitas") + 2
    assert widths["D"] == len("Alltagsintegriert,") + 2
    assert widths["L"] == 10 + 2
    assert sheet["L2"].number_format == "DD.MM.YYYY"
    assert sheet["L2"].value == datetime(2027, 3, 31)
    # A title that looks like a formula is a text cell: Excel shows it, computes nothing.
    formula_row = 3
    assert sheet.cell(formula_row, 3).value == "=SUMME(A1:A3)"
    assert sheet.cell(formula_row, 3).data_type == "s"


LONG = "  Sehr lang" * 40 + " "


def test_a_long_cell_does_not_make_its_column_a_screen_wide(engine: Engine) -> None:
    with Session(engine) as session:
        department = Department(key="JA", name="Jugendamt")
        session.add(
            Measure(title="Kurz", description=LONG, lead_department=department, created_at=NOW)
        )
        session.commit()
    sheet = openpyxl.load_workbook(io.BytesIO(export(engine, "xlsx"))).active
    assert sheet is not None
    assert sheet.column_dimensions["D"].width == 60
    assert sheet["D2"].value == LONG
    # The whole text is there, spaces at its ends included (ODF would drop them otherwise).
    for fmt in ("xlsx", "ods"):
        assert read_back(fmt, export(engine, fmt))[1][3] == LONG


def test_the_ods_has_a_frozen_bold_header_and_date_cells(
    engine: Engine, town: dict[str, Any]
) -> None:
    archive = zipfile.ZipFile(io.BytesIO(export(engine, "ods")))
    assert archive.namelist()[0] == "mimetype"
    assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    content = archive.read("content.xml").decode()
    assert 'office:value-type="date" office:date-value="2027-03-31"' in content
    assert 'office:value-type="float" office:value="40"' in content
    assert 'fo:font-weight="bold"' in content
    assert content.count("<table:table-column ") == len(HEADERS) + 3
    settings = archive.read("settings.xml").decode()
    frozen = re.search(r'config:name="Maßnahmen">(.*?)</config:config-item-map-entry>', settings)
    assert frozen is not None
    assert 'config:name="VerticalSplitMode" config:type="short">2<' in frozen.group(1)
    assert 'config:name="VerticalSplitPosition" config:type="int">1<' in frozen.group(1)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "ods"])
def test_formula_looking_cells_come_back_as_the_exact_text(
    engine: Engine, town: dict[str, Any], fmt: str
) -> None:
    rows = read_back(fmt, export(engine, fmt))
    cells = {value for row in rows[1:] for value in row if isinstance(value, str)}
    assert set(FORMULA_TITLES) <= cells


# -- filters ------------------------------------------------------------------------------


def refs(engine: Engine, flt: ExportFilter) -> list[str]:
    return [row[0] for row in read_back("csv", export(engine, "csv", flt))[1:]]


def test_filters_select_the_measures_a_person_expects(engine: Engine, town: dict[str, Any]) -> None:
    kita, formula, hitze, portal = (f"M-{i}" for i in town["measures"])
    # A department: the measures it leads and those it takes part in.
    assert refs(engine, ExportFilter(department_id=town["ja"])) == [kita, hitze]
    assert refs(engine, ExportFilter(department_id=town["sa"])) == [kita, formula, portal]
    # A goal with its subgoals, a subgoal alone.
    assert refs(engine, ExportFilter(goal_id=town["leitziel"])) == [kita, formula]
    assert refs(engine, ExportFilter(goal_id=town["fruehe"])) == [kita]
    assert refs(engine, ExportFilter(status=MeasureStatus.DONE)) == [hitze]
    assert refs(engine, ExportFilter(planning_area_id=town["nord"])) == [kita]
    # Together: all conditions at once.
    both = ExportFilter(department_id=town["sa"], status=MeasureStatus.DELAYED)
    assert refs(engine, both) == [portal]


def test_a_filter_that_matches_nothing_gives_the_header_row_only(
    engine: Engine, town: dict[str, Any]
) -> None:
    rows = read_back("xlsx", export(engine, "xlsx", ExportFilter(status=MeasureStatus.AT_RISK)))
    assert rows == [HEADERS]


def test_the_file_name_names_the_plan_the_municipality_and_the_day() -> None:
    assert (
        export_file_name("xlsx", "Musterstadt", date(2026, 12, 3))
        == "massnahmenplan-musterstadt-2026-12-03.xlsx"
    )
    assert (
        export_file_name("csv", "Frankfurt (Oder)", date(2026, 12, 3))
        == "massnahmenplan-frankfurt-oder-2026-12-03.csv"
    )
    assert (
        export_file_name("ods", "Bad Dürkheim", date(2027, 1, 2))
        == "massnahmenplan-bad-duerkheim-2027-01-02.ods"
    )


def test_the_example_municipality_exports_every_measure(engine: Engine) -> None:
    with Session(engine) as session:
        ensure_demo(session, date(2026, 11, 27))
        session.commit()
        count = session.query(Measure).count()
    for fmt in ("csv", "xlsx", "ods"):
        rows = read_back(fmt, export(engine, fmt))
        assert len(rows) == count + 1
        assert all(row[HEADERS.index("Maßnahme")] for row in rows[1:])


# -- the calendar feed ------------------------------------------------------------------------


def feed(engine: Engine, **options: Any) -> Calendar:
    with Session(engine) as session:
        data = calendar_feed(session, zone=BERLIN, calendar_name="Musterstadt", **options)
    return Calendar.from_ical(data)


def events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_meetings_keep_their_local_time_across_the_change_to_summer_time(
    engine: Engine, town: dict[str, Any]
) -> None:
    calendar = feed(engine)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    found = events(calendar)
    before, after = (found[f"meeting-{i}@regelkreis"] for i in town["meetings"])
    for event, utc_hour in ((before, 9), (after, 8)):
        start = event.decoded("DTSTART")
        assert (start.hour, start.minute) == (10, 0)
        assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
        assert start.astimezone(UTC).hour == utc_hour
    assert before.decoded("DTSTART").date() == date(2027, 3, 26)
    assert after.decoded("DTSTART").date() == date(2027, 3, 29)
    assert str(before["SUMMARY"]) == "Steuergruppe Bildung"


def test_deadlines_of_open_measures_are_all_day_events(
    engine: Engine, town: dict[str, Any]
) -> None:
    kita, _formula, _hitze, portal = town["measures"]
    found = events(feed(engine))
    deadlines = {uid: e for uid, e in found.items() if uid.endswith("-deadline@regelkreis")}
    # Done measures and measures without a deadline have no event.
    assert sorted(deadlines) == sorted(
        [f"m-{kita}-deadline@regelkreis", f"m-{portal}-deadline@regelkreis"]
    )
    event = deadlines[f"m-{kita}-deadline@regelkreis"]
    assert str(event["SUMMARY"]) == f"Frist: M-{kita} Sprachförderung in Kitas"
    start = event.decoded("DTSTART")
    assert type(start) is date and start == date(2027, 3, 31)
    assert event.decoded("DTEND") == date(2027, 4, 1)


def test_no_person_names_unless_asked(engine: Engine, town: dict[str, Any]) -> None:
    with Session(engine) as session:
        plain = calendar_feed(session, zone=BERLIN, calendar_name="Musterstadt")
        named = calendar_feed(session, zone=BERLIN, calendar_name="Musterstadt", with_names=True)
    # Long lines are folded (RFC 5545): a name may be split across two lines.
    plain_text, named_text = (d.decode().replace("\r\n ", "") for d in (plain, named))
    for name in ("Petra Neumann", "Jonas Weber"):
        assert name not in plain_text
        assert name in named_text
    kita = town["measures"][0]
    event = events(Calendar.from_ical(named))[f"m-{kita}-deadline@regelkreis"]
    assert "Verantwortlich: Petra Neumann" in str(event["DESCRIPTION"])


def test_a_department_feed_and_the_same_uids_on_every_export(
    engine: Engine, town: dict[str, Any]
) -> None:
    kita, _formula, _hitze, portal = town["measures"]
    before, after = town["meetings"]
    first = sorted(events(feed(engine)))
    assert sorted(events(feed(engine))) == first
    # The Jugendamt: its deadline (lead of M-kita; M-hitze is done) and the meeting it is in.
    ja = sorted(events(feed(engine, department_id=town["ja"])))
    assert ja == sorted([f"m-{kita}-deadline@regelkreis", f"meeting-{before}@regelkreis"])
    ua = sorted(events(feed(engine, department_id=town["ua"])))
    assert ua == sorted([f"m-{kita}-deadline@regelkreis", f"meeting-{after}@regelkreis"])
    assert f"m-{portal}-deadline@regelkreis" in first


def test_the_feed_file_keeps_its_secret_path(tmp_path: Path) -> None:
    everything = write_feed(tmp_path, b"BEGIN:VCALENDAR", department_key=None)
    jugendamt = write_feed(tmp_path, b"BEGIN:VCALENDAR", department_key="JA")
    token = everything.relative_to(tmp_path / "feeds").parts[0]
    assert len(token) >= 20, "a part no one guesses"
    assert jugendamt.parent != everything.parent
    assert write_feed(tmp_path, b"BEGIN:VCALENDAR\r\nnew", department_key="JA") == jugendamt
    assert jugendamt.read_bytes() == b"BEGIN:VCALENDAR\r\nnew"
    assert write_feed(tmp_path, b"x", department_key=None) == everything
    # Another data directory: another secret.
    other = write_feed(tmp_path / "other", b"x", department_key=None)
    assert other.relative_to(tmp_path / "other" / "feeds").parts[0] != token
