"""Importing a measure plan (PRODUCT.md §4), from an empty database set up as an operator does.

An admin registers the departments and people in chat (`ressort neu`, `person neu`); Clara,
the coordinator, then imports the municipality's spreadsheet: XLSX with real date cells, ODS,
CSV in UTF-8 with BOM and in Windows-1252. The preview is what a person reads; the database is
checked where the import writes. Today is Friday 27 November 2026 (tests/conftest.py).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from conftest import NOW, TODAY, Chat, FixedClock, make_app
from sqlalchemy import Engine, func, select

from bot.bootstrap import App
from handlers.plan_import import (
    ImportOptions,
    ImportOrigin,
    ImportOutcome,
    ImportPreview,
    PlanUnreadable,
    apply_import,
    preview_import,
    undo_last_import,
)
from storage.models import (
    AuditEntry,
    Department,
    Goal,
    Measure,
    MeasureStatus,
    Person,
    PlanImport,
    PlanningArea,
)

HEADERS = [
    "Nr.",
    "Maßnahme",
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
    "Stadtteil",
    "Intervall",
    "Kosten",
]
PLAN: list[list[Any]] = [
    HEADERS,
    [
        "1.1",
        "Sprachkitas ausbauen",
        "Frühe Bildung",
        "Bildung für alle",
        "Bildung",
        "JA",
        "SA; Amt 40",
        "Max Müller",
        date(2026, 1, 15),
        date(2027, 3, 31),
        "laufend",
        40,
        "Nordstadt",
        "quartalsweise",
        "12.000 €",
    ],
    [
        "1.2",
        "Elterncafé",
        "Frühe Bildung",
        "",
        "",
        "Jugendamt",
        "",
        "",
        "Ende Januar 2027",
        date(2027, 6, 30),
        "geplant",
        0,
        "",
        "",
        "",
    ],
    [
        "2.1",
        "Schulhöfe öffnen",
        "",
        "",
        "",
        "Schulamt",
        "JA",
        "Lea Lang",
        "",
        "Q3/2027",
        "in progress",
        "10 %",
        "",
        "halbjährlich",
        "",
    ],
]
CLARA = ImportOrigin(platform="console", room="konsole", actor="console:Clara", person_id=None)


# -- the operator's set-up and the files ----------------------------------------------------


def set_up(engine: Engine, clock: FixedClock) -> App:
    """An empty database; the admin registers departments and people in chat."""
    app = make_app(engine, clock, demo=False)
    root = Chat(app, "@root:musterstadt.de", room="!admin:musterstadt.de", platform="matrix")
    for command in (
        'ressort neu JA "Jugendamt" alias:"Amt 51"',
        'ressort neu SA "Schulamt" alias:"Amt 40"',
        'ressort neu GA "Grünflächenamt"',
        'person neu "Clara Koch" rolle:koordination console:Clara',
        'person neu "Max Müller" ressort:JA rolle:ressort console:Max',
        'person neu "Lea Lang" ressort:SA rolle:ressort console:Lea',
    ):
        assert root.reply(command).outcome == "ok", root.last.plain() if root.last else command
    return app


def xlsx(rows: list[list[Any]], sheet: str = "Maßnahmen", *, before: int = 0) -> bytes:
    """An Excel file as Excel writes it: date cells are real dates, numbers are numbers.
    `before`: a title block of that many rows above the header."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "Deckblatt"
    first.append(["Maßnahmenplan Musterstadt"])
    ws = book.create_sheet(sheet)
    for n in range(before):
        ws.append([f"Stand {n}"])
    for row in rows:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                cell.data_type = "s"  # text, as an export writes a formula-looking title
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ods(rows: list[list[Any]]) -> bytes:
    """A LibreOffice Calc file with real date cells (odfpy)."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Maßnahmenplan")
    for row in rows:
        tr = TableRow()
        for value in row:
            if isinstance(value, date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.strftime("%d.%m.%Y")))
            elif isinstance(value, int):
                cell = TableCell(valuetype="float", value=str(value))
                cell.addElement(P(text=str(value)))
            else:
                cell = TableCell(valuetype="string")
                if value:
                    cell.addElement(P(text=str(value)))
            tr.addElement(cell)
        table.addElement(tr)
    doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def csv_file(rows: list[list[Any]], *, encoding: str, delimiter: str) -> bytes:
    """A CSV as German Excel saves it: typed German dates."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([v.strftime("%d.%m.%Y") if isinstance(v, date) else v for v in row])
    return out.getvalue().encode(encoding)


def preview(app: App, data: bytes, name: str, **options: bool) -> ImportPreview:
    with app.uows(write=True) as uow:
        return preview_import(
            uow.session, data, name, ImportOptions(**options), today=TODAY, lang="de"
        )


def apply(app: App, data: bytes, name: str, **options: bool) -> ImportOutcome:
    with app.uows(write=True) as uow:
        outcome = apply_import(
            uow.session,
            data,
            name,
            ImportOptions(**options),
            CLARA,
            now=NOW,
            today=TODAY,
            lang="de",
        )
        uow.commit()
        return outcome


def undo(app: App) -> str:
    with app.uows(write=True) as uow:
        reply = undo_last_import(uow.session, CLARA, now=NOW, lang="de")
        uow.commit()
        return reply.plain()


def measures(app: App) -> dict[str, SimpleNamespace]:
    """The measures as they are in the database, by plan number (or id), as plain values."""
    with app.uows() as uow:
        found = {}
        for m in uow.session.execute(select(Measure)).scalars():
            found[m.plan_number or m.ref] = SimpleNamespace(
                id=m.id,
                ref=m.ref,
                title=m.title,
                lead=m.lead_department.key,
                lead_name=m.lead_department.name,
                participants=[d.key for d in m.participants],
                responsible=m.responsible.name if m.responsible else None,
                start=m.start,
                deadline=m.deadline,
                status=m.status,
                progress=m.progress,
                area=m.planning_area.name if m.planning_area else None,
                goal_id=m.goal_id,
                goal=m.goal.title if m.goal else None,
                extra_fields=m.extra_fields,
                evaluation_due_on=m.evaluation_due_on,
                evaluation_interval=m.evaluation_interval,
                import_baseline=m.import_baseline,
                version=m.version,
            )
        return found


def count(app: App, model: Any) -> int:
    with app.uows() as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


def edited(rows: list[list[Any]], row: int, header: str, value: Any) -> list[list[Any]]:
    copy = [list(r) for r in rows]
    copy[row][HEADERS.index(header)] = value
    return copy


# -- a valid plan -------------------------------------------------------------------------------


def test_a_valid_plan_as_xlsx_is_previewed_then_imported(engine: Engine, clock: FixedClock) -> None:
    app = set_up(engine, clock)
    data = xlsx(PLAN, before=2)
    shown = preview(app, data, "plan.xlsx")
    assert shown.reply("de").plain() == "\n".join(
        [
            "Vorschau: Import „plan.xlsx“",
            "3 neu, 0 geändert, 0 unverändert, 0 Konflikte, 0 fehlerhafte Zeilen",
            "",
            "Wird angelegt:",
            "Ziele: Bildung für alle, Frühe Bildung",
            "Planungsräume: Nordstadt",
            "",
            "Übernehmen mit „import bestätigen“.",
        ]
    )
    assert count(app, Measure) == 0  # a preview writes nothing

    outcome = apply(app, data, "plan.xlsx")
    assert outcome.applied and outcome.import_id is not None
    assert outcome.reply("de").plain().splitlines()[:2] == [
        "Import „plan.xlsx“ übernommen",
        "3 neu angelegt, 0 geändert, 0 unverändert.",
    ]
    found = measures(app)
    kitas = found["1.1"]
    assert kitas.title == "Sprachkitas ausbauen"
    assert kitas.lead == "JA"
    assert kitas.participants == ["SA"]
    assert kitas.responsible == "Max Müller"
    assert (kitas.start, kitas.deadline) == (date(2026, 1, 15), date(2027, 3, 31))
    assert (kitas.status, kitas.progress) == (MeasureStatus.IN_PROGRESS, 40)
    assert kitas.area == "Nordstadt"
    assert kitas.extra_fields == {"Kosten": "12.000 €"}
    assert kitas.evaluation_due_on == date(2027, 2, 27)
    assert kitas.goal == "Frühe Bildung"
    with app.uows() as uow:
        goal = uow.session.get(Goal, kitas.goal_id)
        assert goal is not None and goal.parent is not None
        assert goal.parent.title == "Bildung für alle"
        # "Bildung" is one of the catalog's fields of action (PRODUCT.md §1): found, not created.
        assert goal.field_of_action is not None and goal.field_of_action.name == "Bildung"
    assert found["1.2"].goal_id == kitas.goal_id  # one goal, created once
    assert found["1.2"].lead == "JA"  # by name
    assert found["1.2"].start == date(2027, 1, 31)  # "Ende Januar 2027"
    school = found["2.1"]
    assert school.deadline == date(2027, 9, 30)  # Q3/2027
    assert (school.status, school.progress) == (MeasureStatus.IN_PROGRESS, 10)
    assert school.evaluation_interval == "halbjährlich"
    imported = [e for e in _audit(app) if e.action == "import"]
    assert [(e.origin_room, e.origin_message_id) for e in imported] == [
        ("plan.xlsx", "Zeile 4"),
        ("plan.xlsx", "Zeile 5"),
        ("plan.xlsx", "Zeile 6"),
    ]
    # The imported measure is a measure like any other in chat.
    clara = Chat(app, "Clara")
    assert "Sprachkitas ausbauen" in clara.say(f"status {kitas.ref}")


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("plan.ods", lambda rows: ods(rows)),
        ("plan.csv", lambda rows: csv_file(rows, encoding="utf-8-sig", delimiter=";")),
        ("plan.csv", lambda rows: csv_file(rows, encoding="cp1252", delimiter=";")),
        ("plan.csv", lambda rows: csv_file(rows, encoding="cp1252", delimiter=",")),
        ("plan.csv", lambda rows: csv_file(rows, encoding="utf-8", delimiter=",")),
    ],
    ids=["ods", "csv-utf8-bom-semicolon", "csv-1252-semicolon", "csv-1252-comma", "csv-utf8-comma"],
)
def test_the_same_plan_as_ods_and_csv_reads_the_same(
    sqlite_only_engine: Engine, clock: FixedClock, name: str, make: Any
) -> None:
    app = set_up(sqlite_only_engine, clock)
    # Windows-1252 has no €: German Excel writes "EUR" there.
    rows = edited(PLAN, 1, "Kosten", "12.000 EUR")
    outcome = apply(app, make(rows), name)
    assert outcome.applied, outcome.reply("de").plain()
    found = measures(app)
    assert sorted(found) == ["1.1", "1.2", "2.1"]
    kitas = found["1.1"]
    assert kitas.title == "Sprachkitas ausbauen"
    assert (kitas.start, kitas.deadline) == (date(2026, 1, 15), date(2027, 3, 31))
    assert kitas.responsible == "Max Müller"
    assert kitas.extra_fields == {"Kosten": "12.000 EUR"}
    assert found["1.2"].title == "Elterncafé"
    assert found["2.1"].deadline == date(2027, 9, 30)


# -- bad rows --------------------------------------------------------------------------------


BAD_PLAN: list[list[Any]] = [
    HEADERS[:12],
    ["1", "Gute Zeile", "", "", "", "JA", "", "", "", "30.06.2027", "", 0],
    ["2", "Falsches Datum", "", "", "", "JA", "", "", "", "31.02.2027", "", 0],
    ["3", "Tippfehler", "", "", "", "Jugndamt", "", "", "", "", "", 0],
    ["4", "", "", "", "", "JA", "", "", "", "", "", 0],
    ["3", "Doppelte Nummer", "", "", "", "SA", "", "", "", "", "", 0],
    ["6", "Zu viel", "", "", "", "SA", "", "", "", "", "", 150],
    ["7", "Halb", "", "", "", "SA", "", "", "", "", "", 12.5],
    ["8", "Viel", "", "", "", "SA", "", "", "", "", "", "viel"],
    ["9", "Unklarer Status", "", "", "", "SA", "", "", "", "", "bald", 0],
    ["10", "Niemand", "", "", "", "SA", "", "Max Mueler", "", "", "", 0],
]


def test_a_plan_with_bad_rows_is_refused_naming_row_column_and_reason(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    outcome = apply(app, xlsx(BAD_PLAN), "plan.xlsx")
    assert not outcome.applied
    assert outcome.preview.refused
    assert outcome.reply("de").outcome == "refused"
    assert outcome.reply("de").plain() == "\n".join(
        [
            "Vorschau: Import „plan.xlsx“",
            "1 neu, 0 geändert, 0 unverändert, 0 Konflikte, 9 fehlerhafte Zeilen",
            "",
            "Fehlerhafte Zeilen:",
            "Zeile 3, Spalte „Frist“: „31.02.2027“ ist kein Datum"
            " (z. B. 30.06.2027, Q3/2027, Ende März 2027)",
            "Zeile 4, Spalte „Federführung“: Ressort „Jugndamt“ unbekannt"
            " — meinten Sie JA Jugendamt?",
            "Zeile 5, Spalte „Maßnahme“: Titel fehlt",
            "Zeile 6, Spalte „Nr.“: Nr. „3“ steht schon in Zeile 4",
            "Zeile 7, Spalte „Fortschritt (%)“:"
            " Fortschritt „150“ ist keine ganze Zahl von 0 bis 100",
            "Zeile 8, Spalte „Fortschritt (%)“:"
            " Fortschritt „12.5“ ist keine ganze Zahl von 0 bis 100",
            "Zeile 9, Spalte „Fortschritt (%)“:"
            " Fortschritt „viel“ ist keine ganze Zahl von 0 bis 100",
            "Zeile 10, Spalte „Status“: Status „bald“ unbekannt"
            " (geplant, laufend, verzögert, gefährdet, erledigt, abgebrochen)",
            "Zeile 11, Spalte „Verantwortlich“: Person „Max Mueler“ unbekannt"
            " — meinten Sie Max Müller?",
            "",
            "Fehlt in Regelkreis (angelegt nur auf Wunsch, Admin):",
            "Ressorts: Jugndamt",
            "Personen: Max Mueler",
            "",
            "Nichts wird importiert, solange eine Zeile fehlerhaft ist. Datei korrigieren und"
            " neu senden, oder nur die fehlerfreien Zeilen übernehmen:"
            " „import bestätigen überspringen“.",
            "Fehlende Ressorts und Personen anlegen (Admin): „import bestätigen anlegen“.",
        ]
    )
    assert count(app, Measure) == 0
    assert count(app, PlanImport) == 0
    assert [e for e in _audit(app) if e.action == "import"] == []


def _audit(app: App) -> list[SimpleNamespace]:
    with app.uows() as uow:
        return [
            SimpleNamespace(
                action=e.action,
                entity_id=e.entity_id,
                origin_room=e.origin_room,
                origin_message_id=e.origin_message_id,
                before=e.before,
                after=e.after,
            )
            for e in uow.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        ]


def test_skip_invalid_imports_only_the_good_rows(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    outcome = apply(app, xlsx(BAD_PLAN), "plan.xlsx", skip_invalid=True)
    assert outcome.applied
    assert sorted(measures(app)) == ["1"]
    text = outcome.reply("de").plain()
    assert "Übersprungene Zeilen:" in text
    assert "Zeile 5, Spalte „Maßnahme“: Titel fehlt" in text


def test_create_missing_creates_departments_and_people_and_lists_them(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    rows = [
        ["Nr.", "Maßnahme", "Federführung", "Verantwortlich"],
        ["1", "Bäume pflanzen", "Umweltamt", "Uwe Umbach"],
    ]
    shown = preview(app, xlsx(rows), "plan.xlsx")
    assert shown.refused
    outcome = apply(app, xlsx(rows), "plan.xlsx", create_missing=True)
    assert outcome.applied
    text = outcome.reply("de").plain()
    assert "Ressorts: Umweltamt (UMWE)" in text
    assert "Personen: Uwe Umbach" in text
    measure = measures(app)["1"]
    assert measure.lead_name == "Umweltamt"
    assert measure.responsible == "Uwe Umbach"
    with app.uows() as uow:
        uwe = uow.session.execute(select(Person).where(Person.name == "Uwe Umbach")).scalar_one()
        assert uwe.department is not None and uwe.department.name == "Umweltamt"


def test_a_planning_area_like_an_existing_one_is_never_taken_for_it(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied  # creates "Nordstadt"
    rows = [
        ["Nr.", "Maßnahme", "Federführung", "Planungsraum"],
        ["9", "Spielplatz", "JA", "Nordstad"],
    ]
    shown = preview(app, xlsx(rows), "raum.xlsx")
    assert [b.text("de") for b in shown.bad_rows] == [
        "Zeile 2, Spalte „Planungsraum“: Planungsraum „Nordstad“ unbekannt — meinten Sie Nordstadt?"
    ]
    assert count(app, PlanningArea) == 1


def test_a_file_that_is_no_plan_gets_a_sentence_not_a_traceback(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    with pytest.raises(PlanUnreadable) as no_title:
        preview(app, xlsx([["Nr.", "Kosten"], ["1", "5"]]), "kosten.xlsx")
    assert str(no_title.value) == (
        "In „kosten.xlsx“ fehlt die Spalte „Maßnahme“ (oder „Titel“):"
        " ohne sie ist keine Zeile eine Maßnahme."
    )
    with pytest.raises(PlanUnreadable) as broken:
        preview(app, b"PK\x03\x04 not really a zip", "plan.xlsx")
    assert str(broken.value) == "„plan.xlsx“ ist keine lesbare Tabelle (XLSX, ODS oder CSV)."


# -- re-import: the three-way merge -------------------------------------------------------------


def test_importing_the_same_file_again_changes_nothing(engine: Engine, clock: FixedClock) -> None:
    app = set_up(engine, clock)
    data = xlsx(PLAN)
    assert apply(app, data, "plan.xlsx").applied
    versions = {k: m.version for k, m in measures(app).items()}
    audits = count(app, AuditEntry)
    again = preview(app, data, "plan.xlsx")
    assert again.reply("de").plain() == "\n".join(
        [
            "Vorschau: Import „plan.xlsx“",
            "0 neu, 0 geändert, 3 unverändert, 0 Konflikte, 0 fehlerhafte Zeilen",
            "",
            "Nichts zu tun: der Plan entspricht dem Stand in Regelkreis.",
        ]
    )
    outcome = apply(app, data, "plan.xlsx")
    assert outcome.reply("de").plain() == (
        "Import „plan.xlsx“: nichts geändert, der Plan entspricht schon dem Stand in Regelkreis."
    )
    assert {k: m.version for k, m in measures(app).items()} == versions
    assert count(app, AuditEntry) == audits
    assert count(app, PlanImport) == 1
    assert count(app, Goal) == 2


def test_an_edited_file_changes_exactly_the_edits_audited_with_file_and_row(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied
    before = measures(app)
    rows = edited(PLAN, 2, "Frist", date(2027, 9, 30))
    rows = edited(rows, 3, "Fortschritt (%)", 25)
    shown = preview(app, xlsx(rows), "plan-v2.xlsx")
    cafe, school = before["1.2"].ref, before["2.1"].ref
    assert shown.reply("de").plain() == "\n".join(
        [
            "Vorschau: Import „plan-v2.xlsx“",
            "0 neu, 2 geändert, 1 unverändert, 0 Konflikte, 0 fehlerhafte Zeilen",
            "",
            "Änderungen:",
            f"{cafe} Frist: 30.06.2027 → 30.09.2027",
            f"{school} Fortschritt: 10 % → 25 %",
            "",
            "Übernehmen mit „import bestätigen“.",
        ]
    )
    assert apply(app, xlsx(rows), "plan-v2.xlsx").applied
    after = measures(app)
    assert after["1.2"].deadline == date(2027, 9, 30)
    assert after["2.1"].progress == 25
    assert {k: m.version for k, m in after.items()} == {"1.1": 1, "1.2": 2, "2.1": 2}
    entries = [e for e in _audit(app) if e.origin_room == "plan-v2.xlsx"]
    assert [(e.entity_id, e.origin_message_id, e.before, e.after) for e in entries] == [
        (before["1.2"].id, "Zeile 3", {"deadline": "2027-06-30"}, {"deadline": "2027-09-30"}),
        (before["2.1"].id, "Zeile 4", {"progress": 10}, {"progress": 25}),
    ]
    # The history in chat shows the import's change.
    clara = Chat(app, "Clara")
    assert "30.06.2027 → 30.09.2027" in clara.say(f"verlauf {cafe}")


def test_a_chat_change_in_between_is_kept_or_is_a_conflict(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied
    found = measures(app)
    kitas, cafe = found["1.1"].ref, found["1.2"].ref
    clara = Chat(app, "Clara")
    # In chat: a report on M(1.1)'s progress, a new deadline for M(1.2).
    assert clara.reply(f"melden {kitas} 60%").outcome == "ok"
    assert clara.reply(f"frist {cafe} 15.05.2027 Träger früher fertig").outcome == "ok"
    # The file: M(1.1) a new deadline (another field), M(1.2) a new deadline (the same field).
    rows = edited(PLAN, 1, "Frist", date(2027, 4, 30))
    rows = edited(rows, 2, "Frist", date(2027, 7, 31))
    shown = preview(app, xlsx(rows), "plan-v2.xlsx")
    assert shown.reply("de").plain() == "\n".join(
        [
            "Vorschau: Import „plan-v2.xlsx“",
            "0 neu, 1 geändert, 2 unverändert, 1 Konflikte, 0 fehlerhafte Zeilen",
            "",
            "Konflikte (in Datei und Chat geändert):",
            f"{cafe} Frist: Datei 31.07.2027, Chat 15.05.2027 — bleibt, außer mit überschreiben",
            "",
            "Änderungen:",
            f"{kitas} Frist: 31.03.2027 → 30.04.2027",
            "",
            "Übernehmen mit „import bestätigen“.",
            "Konflikte mit dem Wert der Datei überschreiben: „import bestätigen überschreiben“.",
        ]
    )
    assert apply(app, xlsx(rows), "plan-v2.xlsx").applied
    found = measures(app)
    assert (found["1.1"].deadline, found["1.1"].progress) == (date(2027, 4, 30), 60)
    assert found["1.2"].deadline == date(2027, 5, 15)  # the conflict is left as it is
    # Again, with overwrite: the file's value.
    again = preview(app, xlsx(rows), "plan-v2.xlsx", overwrite=True)
    assert len(again.conflicts) == 1 and again.changed == 1
    assert apply(app, xlsx(rows), "plan-v2.xlsx", overwrite=True).applied
    found = measures(app)
    assert found["1.2"].deadline == date(2027, 7, 31)
    assert found["1.1"].progress == 60  # still the chat's report
    # And now file and database agree again.
    assert preview(app, xlsx(rows), "plan-v2.xlsx").has_changes is False


def test_our_ids_are_matched_first_and_an_unknown_id_is_a_bad_row(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied
    kitas = measures(app)["1.1"]
    rows = [
        ["ID", "Nr.", "Maßnahme", "Federführung"],
        [kitas.ref, "1.1", "Sprachkitas ausbauen (Phase 2)", "JA"],
        ["M-999", "9.9", "Gibt es nicht", "JA"],
    ]
    shown = preview(app, xlsx(rows), "export.xlsx")
    assert [b.text("de") for b in shown.bad_rows] == [
        "Zeile 3, Spalte „ID“: Maßnahme „M-999“ gibt es in Regelkreis nicht"
    ]
    assert apply(app, xlsx(rows), "export.xlsx", skip_invalid=True).applied
    assert measures(app)["1.1"].title == "Sprachkitas ausbauen (Phase 2)"
    assert count(app, Measure) == 3


def test_formula_looking_titles_are_imported_as_text_unchanged(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    titles = ["=SUMME(A1)", "-Abbau von Barrieren", "@home Büro", "+1 Stelle"]
    rows = [["Nr.", "Maßnahme", "Federführung"]] + [
        [str(n), title, "JA"] for n, title in enumerate(titles, start=1)
    ]
    for name, data in (
        ("plan.xlsx", xlsx(rows)),
        ("plan.csv", csv_file(rows, encoding="utf-8-sig", delimiter=";")),
    ):
        outcome = apply(app, data, name)
        assert outcome.applied
        assert sorted(m.title for m in measures(app).values()) == sorted(titles)


# -- undo ---------------------------------------------------------------------------------


def test_undo_reverts_the_last_import_and_is_refused_after_a_change(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    assert apply(app, xlsx(PLAN), "plan.xlsx").applied
    rows = edited(PLAN, 1, "Maßnahme", "Sprachkitas ausbauen und verstetigen")
    rows = [*rows, ["3.1", "Neue Zeile", "", "", "", "GA", "", "", "", "", "", 0, "", "", ""]]
    assert apply(app, xlsx(rows), "plan-v2.xlsx").applied
    assert count(app, Measure) == 4
    clock.now = datetime(2026, 11, 28, 9, 0, tzinfo=NOW.tzinfo)
    assert undo(app) == (
        "Import „plan-v2.xlsx“ vom 27.11.2026 rückgängig gemacht:"
        " 1 Maßnahmen gelöscht, 1 zurückgesetzt."
    )
    found = measures(app)
    assert sorted(found) == ["1.1", "1.2", "2.1"]
    assert found["1.1"].title == "Sprachkitas ausbauen"
    assert found["1.1"].import_baseline is not None
    assert found["1.1"].import_baseline["title"] == "Sprachkitas ausbauen"
    # The same edited file again: the same change as before the undo.
    assert preview(app, xlsx(rows), "plan-v2.xlsx").changed == 1

    # The first import: one of its measures is reported on in chat, so it stays.
    clara = Chat(app, "Clara")
    assert clara.reply(f"melden {found['1.2'].ref} 20%").outcome == "ok"
    assert undo(app) == (
        "Import „plan.xlsx“ vom 27.11.2026 kann nicht rückgängig gemacht werden:"
        f" seitdem geändert: {found['1.2'].ref}."
    )
    assert count(app, Measure) == 3
    assert undo(app).startswith("Import „plan.xlsx“")  # still refused, nothing undone


def test_undo_without_an_import(sqlite_only_engine: Engine, clock: FixedClock) -> None:
    app = set_up(sqlite_only_engine, clock)
    assert undo(app) == "Es gibt keinen Import, der rückgängig gemacht werden kann."


def test_the_digest_is_stable_and_follows_the_database(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    data = xlsx(PLAN)
    first, second = preview(app, data, "plan.xlsx"), preview(app, data, "plan.xlsx")
    assert first.digest == second.digest
    with app.uows(write=True) as uow:
        uow.session.add(Department(key="KU", name="Kulturamt"))
        uow.commit()
    assert preview(app, data, "plan.xlsx").digest == first.digest  # nothing this plan uses
    assert apply(app, data, "plan.xlsx").applied
    assert preview(app, data, "plan.xlsx").digest != first.digest


def test_an_id_column_of_plan_numbers_is_the_plan_number_and_progress_is_reported(
    sqlite_only_engine: Engine, clock: FixedClock
) -> None:
    app = set_up(sqlite_only_engine, clock)
    rows = [["ID", "Titel", "Verantwortliches Amt", "Ende"]] + [
        [f"A{n}", f"Maßnahme {n}", "Amt 51", "31.12.2027"] for n in range(1, 1201)
    ]
    calls: list[tuple[int, int]] = []
    with app.uows(write=True) as uow:
        outcome = apply_import(
            uow.session,
            csv_file(rows, encoding="utf-8", delimiter=";"),
            "plan.csv",
            ImportOptions(),
            CLARA,
            now=NOW,
            today=TODAY,
            lang="de",
            progress=lambda done, total: calls.append((done, total)),
        )
        uow.commit()
    assert outcome.preview.new == 1200
    assert calls[:3] == [(0, 1200), (500, 1200), (1000, 1200)]
    assert (1200, 1200) in calls
    found = measures(app)
    assert found["A7"].title == "Maßnahme 7"
    assert found["A7"].lead == "JA"  # by alias
    assert found["A7"].deadline == date(2027, 12, 31)


@pytest.mark.parametrize("fmt", ["xlsx", "ods", "csv"])
def test_an_exported_plan_re_imports_unchanged(
    sqlite_only_engine: Engine, clock: FixedClock, fmt: str
) -> None:
    from handlers.plan_export import export_plan

    app = set_up(sqlite_only_engine, clock)
    rows = [*PLAN, ["9", "=SUMME(A1)", "", "", "", "SA", "", "", "", "", "", 0, "", "", ""]]
    assert apply(app, xlsx(rows), "plan.xlsx").applied
    clara = Chat(app, "Clara")
    # A measure made in chat, never imported: the export carries its id.
    assert clara.reply('neu "Lesepaten gewinnen" ressort:SA frist:30.09.2027').outcome == "ok"
    with app.uows() as uow:
        data = export_plan(uow.session, fmt)  # type: ignore[arg-type]
    shown = preview(app, data, f"export.{fmt}")
    assert (shown.new, shown.changed, shown.unchanged, shown.bad_rows) == (0, 0, 5, [])
    versions = {k: m.version for k, m in measures(app).items()}
    assert apply(app, data, f"export.{fmt}").applied
    after = measures(app)
    assert {k: m.version for k, m in after.items()} == versions
    assert after["9"].title == "=SUMME(A1)"
    chat_made = next(m for m in after.values() if m.title == "Lesepaten gewinnen")
    # Now imported too: its values are the baseline of the next re-import.
    assert chat_made.import_baseline is not None
    assert chat_made.import_baseline["deadline"] == "2027-09-30"


def test_a_measure_is_found_by_its_plan_number_and_shows_it_with_its_free_fields(
    engine: Engine, clock: FixedClock
) -> None:
    app = set_up(engine, clock)
    apply(app, xlsx(PLAN), "plan.xlsx")
    kitas = measures(app)["1.1"]
    clara = Chat(app, "Clara")
    detail = clara.say("status nr:1.1")
    assert detail.splitlines()[0].startswith(f"🟢 {kitas.ref} (Nr. 1.1) Sprachkitas ausbauen")
    assert "Kosten: 12.000 €" in detail.splitlines()
    assert clara.say(f"status {kitas.ref}") == detail  # our id and the plan's number alike
    assert clara.say("status nr:9.9") == "„nr:9.9“ habe ich nicht gefunden."
    assert clara.say("ziel nr:1.1") == "nr:1.1 ist eine Maßnahme, kein Ziel."
    history = clara.say("verlauf nr:1.1").splitlines()
    assert history[0] == f"Verlauf {kitas.ref} Sprachkitas ausbauen"
    assert history[-1].endswith(": angelegt durch Import aus plan.xlsx, Zeile 2")
