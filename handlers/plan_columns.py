"""The columns of a measure plan: what the import recognises and the export writes (§4)."""

from __future__ import annotations

import enum
import re
import unicodedata

from storage.lookup import normalize


class Column(enum.StrEnum):
    """A field of a measure as a plan column; the value is the key in import baselines."""

    ID = "id"  # our id, `M-12`: written by the export, matched first on re-import
    NUMBER = "nr"  # the plan's own number, `3.1`: the key for re-importing a foreign plan
    TITLE = "title"
    DESCRIPTION = "description"
    GOAL = "goal"
    PARENT_GOAL = "parent_goal"
    FIELD_OF_ACTION = "field_of_action"
    LEAD = "lead"
    PARTICIPANTS = "participants"
    RESPONSIBLE = "responsible"
    START = "start"
    DEADLINE = "deadline"
    STATUS = "status"
    PROGRESS = "progress"
    PLANNING_AREA = "planning_area"
    INTERVAL = "interval"


# The export's header row, in this order; each header is also one the import reads.
EXPORT_HEADERS: dict[Column, str] = {
    Column.ID: "ID",
    Column.NUMBER: "Nr.",
    Column.TITLE: "Maßnahme",
    Column.DESCRIPTION: "Beschreibung",
    Column.GOAL: "Ziel",
    Column.PARENT_GOAL: "Oberziel",
    Column.FIELD_OF_ACTION: "Handlungsfeld",
    Column.LEAD: "Federführung",
    Column.PARTICIPANTS: "Beteiligt",
    Column.RESPONSIBLE: "Verantwortlich",
    Column.START: "Beginn",
    Column.DEADLINE: "Frist",
    Column.STATUS: "Status",
    Column.PROGRESS: "Fortschritt (%)",
    Column.PLANNING_AREA: "Planungsraum",
    Column.INTERVAL: "Evaluationsintervall",
}

# Header spellings people use, German and English (compared after `normalize_header`). `ID`
# alone is our id when its cells are id-shaped (`M-12`), else the plan's number (see
# handlers/plan_import.py); `Nr.` and `Kennung` are always the plan's number.
_VARIANTS: dict[Column, tuple[str, ...]] = {
    Column.ID: ("ID", "Regelkreis-ID", "Regelkreis ID"),
    Column.NUMBER: ("Nr.", "Nr", "Nummer", "Lfd. Nr.", "Kennung", "Maßnahmen-Nr.", "No.", "Number"),
    Column.TITLE: ("Maßnahme", "Titel", "Maßnahmentitel", "Bezeichnung", "Title", "Measure"),
    Column.DESCRIPTION: ("Beschreibung", "Erläuterung", "Description"),
    Column.GOAL: ("Ziel", "Teilziel", "Goal"),
    Column.PARENT_GOAL: ("Oberziel", "Leitziel", "Parent goal"),
    Column.FIELD_OF_ACTION: ("Handlungsfeld", "Field of action"),
    Column.LEAD: (
        "Federführung",
        "federführend",
        "Federführendes Amt",
        "Verantwortliches Amt",
        "Ressort",
        "Lead",
        "Lead department",
    ),
    Column.PARTICIPANTS: ("Beteiligt", "Beteiligte", "Beteiligte Ämter", "Participants"),
    Column.RESPONSIBLE: (
        "Verantwortlich",
        "Ansprechperson",
        "Ansprechpartner",
        "Ansprechpartnerin",
        "Zuständig",
        "Responsible",
    ),
    Column.START: ("Beginn", "Start", "Startdatum"),
    Column.DEADLINE: ("Frist", "Ende", "bis wann", "Termin", "Deadline", "Due"),
    Column.STATUS: ("Status", "Umsetzungsstand", "Stand"),
    Column.PROGRESS: ("Fortschritt", "Fortschritt (%)", "Fortschritt in %", "Progress"),
    Column.PLANNING_AREA: ("Planungsraum", "Stadtteil", "Sozialraum", "Planning area"),
    Column.INTERVAL: ("Evaluationsintervall", "Intervall", "Berichtsintervall", "Interval"),
}

# Sheet names the import prefers over the first sheet.
PLAN_SHEETS = ("Maßnahmen", "Maßnahmenplan")


def normalize_header(text: str) -> str:
    """`Fortschritt (%)`, ` fortschritt ` and `FORTSCHRITT` alike; `Maßnahme` = `Massnahme`
    = `Maßnahme`: case, spaces, punctuation and umlaut spellings do not count."""
    # The reference lookup's folding (case, umlauts), then only letters and digits.
    return re.sub(r"[^0-9a-z]", "", normalize(unicodedata.normalize("NFC", text)))


HEADER_COLUMNS: dict[str, Column] = {
    normalize_header(variant): column
    for column, variants in _VARIANTS.items()
    for variant in variants
}


def column_for(header: str) -> Column | None:
    """The plan column a header names, or None for a free field."""
    return HEADER_COLUMNS.get(normalize_header(header))
