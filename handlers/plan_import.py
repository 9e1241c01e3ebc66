"""Importing a measure plan (PRODUCT.md §4): mapping, validation, three-way merge, apply, undo.

The whole file is read and checked before anything is written; the writes then go into the
caller's session in a few bulk statements, and the caller commits once (all or nothing).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from rapidfuzz import fuzz, process
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, selectinload

from handlers.core import Language, Reply
from handlers.dates import DateOutOfRange, parse_date
from handlers.i18n import (
    LANGUAGES,
    STATUS_KEYS,
    STATUS_WORDS,
    fmt_date,
    interval_name,
    status_name,
    t,
)
from handlers.plan_columns import Column, column_for
from handlers.plan_read import Cell, PlanReadError, Unreadable, read_plan
from storage.events import session_zone
from storage.intervals import DEFAULT_INTERVAL, add_interval, parse_interval
from storage.limits import EARLIEST, LATEST, TEXT_LIMITS, clean
from storage.lookup import Kind, bump_name_revisions, id_shape
from storage.lookup import normalize as fold
from storage.models import (
    AuditEntry,
    Department,
    FieldOfAction,
    Goal,
    Measure,
    MeasureStatus,
    OutboxEntry,
    Person,
    PlanImport,
    PlanImportItem,
    PlanningArea,
    Role,
    decision_measures,
    measure_participants,
)

PROGRESS_EVERY = 500
# How many bad rows, conflicts and changes a preview lists (the counts say the rest).
_LIST_LIMIT = 15
_CHUNK = 2000
_TITLE_MAX = 300
_DESCRIPTION_MAX = TEXT_LIMITS[("measures", "description")]
_NUMBER_MAX = 40
# Participants: `JA; SA`, `JA, SA`, `JA/SA`.
_LIST_SPLIT = re.compile(r"\s*[;,/]\s*")
_PERCENT = re.compile(r"^(\d{1,3})\s*%?$")
_KEY_SHAPE = re.compile(r"^[A-Za-zÄÖÜäöü0-9]{1,10}$")
_NEW = "new:"  # canonical value of something the import creates (its id comes on apply)

# Status words of plans beyond those typed in chat (handlers.i18n.STATUS_WORDS).
_PLAN_STATUS_WORDS = {
    "offen": MeasureStatus.PLANNED,
    "nicht begonnen": MeasureStatus.PLANNED,
    "not started": MeasureStatus.PLANNED,
    "in umsetzung": MeasureStatus.IN_PROGRESS,
    "in arbeit": MeasureStatus.IN_PROGRESS,
    "in bearbeitung": MeasureStatus.IN_PROGRESS,
    "begonnen": MeasureStatus.IN_PROGRESS,
    "in progress": MeasureStatus.IN_PROGRESS,
    "on track": MeasureStatus.IN_PROGRESS,
    "at risk": MeasureStatus.AT_RISK,
    "umgesetzt": MeasureStatus.DONE,
    "completed": MeasureStatus.DONE,
}


def _status_words() -> dict[str, MeasureStatus]:
    words = {w.casefold(): s for w, s in STATUS_WORDS.items()}
    words.update(_PLAN_STATUS_WORDS)
    for status, key in STATUS_KEYS.items():
        for lang in LANGUAGES:
            words[t(lang, key).casefold()] = status
    return words


_STATUS = _status_words()

# The audit and history name of each plan field (handlers/status.py `_FIELD_NAMES`).
_AUDIT_KEYS = {
    Column.TITLE: "title",
    Column.DESCRIPTION: "description",
    Column.GOAL: "goal",
    Column.LEAD: "lead_department",
    Column.PARTICIPANTS: "participants",
    Column.RESPONSIBLE: "responsible",
    Column.START: "start",
    Column.DEADLINE: "deadline",
    Column.STATUS: "status",
    Column.PROGRESS: "progress",
    Column.PLANNING_AREA: "planning_area",
    Column.INTERVAL: "evaluation_interval",
    Column.NUMBER: "plan_number",
}
_EXTRA = "extra"  # the free columns, merged as one field
# The fields a row sets on a measure, in the order replies list them.
_FIELDS = [*_AUDIT_KEYS]
_FIELD_LABELS = {
    Column.TITLE: "plan_import.field_title",
    Column.DESCRIPTION: "plan_import.field_description",
    Column.GOAL: "plan_import.field_goal",
    Column.LEAD: "plan_import.field_lead",
    Column.PARTICIPANTS: "plan_import.field_participants",
    Column.RESPONSIBLE: "plan_import.field_responsible",
    Column.START: "plan_import.field_start",
    Column.DEADLINE: "plan_import.field_deadline",
    Column.STATUS: "plan_import.field_status",
    Column.PROGRESS: "plan_import.field_progress",
    Column.PLANNING_AREA: "plan_import.field_planning_area",
    Column.INTERVAL: "plan_import.field_interval",
    Column.NUMBER: "plan_import.field_number",
}


_CREATED_KEYS = {
    "goals": "plan_import.created_goals",
    "fields": "plan_import.created_fields",
    "areas": "plan_import.created_areas",
    "departments": "plan_import.created_departments",
    "people": "plan_import.created_people",
}
_MISSING_KEYS = {
    "departments": "plan_import.missing_departments",
    "people": "plan_import.missing_people",
}
_UNREADABLE_KEYS = {
    Unreadable.NOT_A_SPREADSHEET: "plan_import.unreadable_not_a_spreadsheet",
    Unreadable.NO_TITLE_COLUMN: "plan_import.unreadable_no_title_column",
    Unreadable.EMPTY: "plan_import.unreadable_empty",
}


# -- the API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    skip_invalid: bool = False  # --skip-invalid / `import bestätigen überspringen`
    create_missing: bool = False  # --create-missing / `anlegen` (admin only; callers check)
    overwrite: bool = False  # --overwrite / `überschreiben`: conflicts take the file's value


@dataclass(frozen=True)
class ImportOrigin:
    platform: str  # "cli", "console", "matrix", "telegram"
    room: str | None
    actor: str  # chat identity or "cli:<user>"
    person_id: int | None


class PlanUnreadable(Exception):
    """The file is no measure plan; str(error) is the sentence to show."""


@dataclass(frozen=True)
class BadRow:
    """A row that cannot be imported: row number, column header (None: the row) and reason
    (a catalogue key with its values, so the reply and the digest do not depend on language)."""

    row: int
    column: str | None
    key: str
    values: tuple[tuple[str, str], ...] = ()

    def reason(self, lang: Language) -> str:
        return t(lang, self.key, **dict(self.values))

    def text(self, lang: Language) -> str:
        if self.column is None:
            return t(lang, "plan_import.bad_row", row=self.row, reason=self.reason(lang))
        return t(
            lang, "plan_import.bad_cell", row=self.row, column=self.column, reason=self.reason(lang)
        )


@dataclass(frozen=True)
class FieldChange:
    """One field of one measure: what it is (in chat), what the file says."""

    measure: str  # `M-12`
    row: int
    column: Column
    current: str  # shown values (language-neutral forms; dates ISO, see _shown)
    file: str


@dataclass
class ImportPreview:
    file_name: str
    file_sha256: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    conflicts: list[FieldChange] = field(default_factory=list)
    changes: list[FieldChange] = field(default_factory=list)
    kept: int = 0  # fields changed in chat only, kept
    bad_rows: list[BadRow] = field(default_factory=list)
    # Missing departments and people: created only with create_missing (admin).
    to_create: dict[str, list[str]] = field(default_factory=dict)
    # Goals, fields of action and planning areas the import creates.
    created_catalog: dict[str, list[str]] = field(default_factory=dict)
    options: ImportOptions = field(default_factory=ImportOptions)
    refused: bool = False
    digest: str = ""

    @property
    def bad_row_count(self) -> int:
        return len({bad.row for bad in self.bad_rows})

    @property
    def has_changes(self) -> bool:
        return bool(self.new or self.changed)

    def reply(self, lang: Language, *, hints: bool = True) -> Reply:
        """The preview: counts, bad rows, conflicts, what would be created, how to apply.
        `hints`: the chat sentences how to go on (the command line says its own)."""
        reply = Reply.text(
            _counts(self, lang), heading=t(lang, "plan_import.preview_heading", file=self.file_name)
        )
        _add_details(reply, self, lang)
        if hints:
            reply.add(*_hints(self, lang))
        if self.refused:
            reply.outcome = "refused"
        return reply

    def table_rows(self, lang: Language) -> list[tuple[str, str]]:
        """(label, count) for the command line's summary table."""
        return [
            (t(lang, "plan_import.label_rows"), str(self.rows)),
            (t(lang, "plan_import.label_new"), str(self.new)),
            (t(lang, "plan_import.label_changed"), str(self.changed)),
            (t(lang, "plan_import.label_unchanged"), str(self.unchanged)),
            (t(lang, "plan_import.label_conflicts"), str(len(self.conflicts))),
            (t(lang, "plan_import.label_bad"), str(self.bad_row_count)),
        ]


@dataclass
class ImportOutcome:
    applied: bool
    preview: ImportPreview
    import_id: int | None = None
    # Not applied because the preview is no longer the one confirmed (`expected_digest`).
    stale: bool = False

    def reply(self, lang: Language, *, hints: bool = True) -> Reply:
        if not self.applied:
            return self.preview.reply(lang, hints=hints)
        p = self.preview
        if not p.has_changes and not any(p.created_catalog.values()):
            return Reply.text(t(lang, "plan_import.nothing_changed", file=p.file_name))
        reply = Reply.text(
            t(
                lang,
                "plan_import.applied",
                new=p.new,
                changed=p.changed,
                unchanged=p.unchanged,
            ),
            heading=t(lang, "plan_import.applied_heading", file=p.file_name),
        )
        _add_details(reply, p, lang, applied=True)
        if hints:
            reply.add(t(lang, "plan_import.undo_hint"))
        return reply


# -- replies ----------------------------------------------------------------------------------


def _counts(p: ImportPreview, lang: Language) -> str:
    return t(
        lang,
        "plan_import.counts",
        new=p.new,
        changed=p.changed,
        unchanged=p.unchanged,
        conflicts=len(p.conflicts),
        bad=p.bad_row_count,
    )


def _shown(column: Column, value: str, lang: Language) -> str:
    if value == "":
        return "–"
    if column in (Column.START, Column.DEADLINE):
        return fmt_date(date.fromisoformat(value), lang)
    if column is Column.STATUS:
        return status_name(MeasureStatus(value), lang)
    if column is Column.INTERVAL:
        return interval_name(value, lang)
    if column is Column.PROGRESS:
        return f"{value} %"
    return value if len(value) <= 60 else value[:57] + "…"


def _more(lines: list[str], total: int, lang: Language) -> list[str]:
    if total > len(lines):
        lines.append(t(lang, "plan_import.more", n=total - len(lines)))
    return lines


def _add_details(reply: Reply, p: ImportPreview, lang: Language, *, applied: bool = False) -> None:
    if p.bad_rows:
        lines = [bad.text(lang) for bad in p.bad_rows[:_LIST_LIMIT]]
        key = "plan_import.skipped_heading" if applied else "plan_import.bad_heading"
        reply.add(*_more(lines, len(p.bad_rows), lang), heading=t(lang, key))
    if p.conflicts:
        key = "plan_import.conflict_taken" if p.options.overwrite else "plan_import.conflict_line"
        lines = [
            t(
                lang,
                key,
                measure=c.measure,
                field=t(lang, _FIELD_LABELS[c.column]),
                file=_shown(c.column, c.file, lang),
                chat=_shown(c.column, c.current, lang),
            )
            for c in p.conflicts[:_LIST_LIMIT]
        ]
        reply.add(
            *_more(lines, len(p.conflicts), lang), heading=t(lang, "plan_import.conflicts_heading")
        )
    if p.changes:
        lines = [
            t(
                lang,
                "plan_import.change_line",
                measure=c.measure,
                field=t(lang, _FIELD_LABELS[c.column]),
                old=_shown(c.column, c.current, lang),
                new=_shown(c.column, c.file, lang),
            )
            for c in p.changes[:_LIST_LIMIT]
        ]
        reply.add(
            *_more(lines, len(p.changes), lang), heading=t(lang, "plan_import.changes_heading")
        )
    created = []
    made = {**p.created_catalog, **(p.to_create if p.options.create_missing else {})}
    for kind, names in made.items():
        if names:
            created.append(t(lang, _CREATED_KEYS[kind], names=", ".join(names[:_LIST_LIMIT])))
    if created:
        key = "plan_import.created_heading" if applied else "plan_import.will_create_heading"
        reply.add(*created, heading=t(lang, key))
    missing = (
        []
        if p.options.create_missing
        else [
            t(lang, _MISSING_KEYS[kind], names=", ".join(names[:_LIST_LIMIT]))
            for kind, names in p.to_create.items()
            if names
        ]
    )
    if missing and not applied:
        reply.add(*missing, heading=t(lang, "plan_import.missing_heading"))


def _hints(p: ImportPreview, lang: Language) -> list[str]:
    lines = []
    if p.refused:
        lines.append(t(lang, "plan_import.refused_hint"))
        if p.to_create and not p.options.create_missing:
            lines.append(t(lang, "plan_import.create_hint"))
        return lines
    if not p.has_changes and not any(p.created_catalog.values()):
        return [t(lang, "plan_import.nothing_to_do")]
    lines.append(t(lang, "plan_import.apply_hint"))
    if p.conflicts and not p.options.overwrite:
        lines.append(t(lang, "plan_import.overwrite_hint"))
    return lines


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Without the cyclic garbage collector for the duration: a large plan allocates
    millions of small objects and no cycles, and the collector's passes over them cost more
    than the import itself (measured: 100k rows twice as fast)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- the directory, loaded once -------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(fold(text).split())


def _closest(query: str, choices: dict[str, str], limit: int = 3) -> list[str]:
    """The labels of the choices closest to `query` (choices: searchable text → label):
    the best and those nearly as good, so a typo names its one likely meaning."""
    found = process.extract(
        _fold(query), list(choices), scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=60
    )
    labels: list[str] = []
    best = found[0][1] if found else 0.0
    for text, score, _index in found:
        label = choices[text]
        if score >= best - 10 and label not in labels:
            labels.append(label)
    return labels[:limit]


class _Directory:
    """Departments, people, goals, fields of action and planning areas, each in a dict."""

    def __init__(self, session: Session) -> None:
        self.departments: dict[int, Department] = {
            d.id: d
            for d in session.execute(
                select(Department).options(selectinload(Department.aliases))
            ).scalars()
        }
        self.department_by: dict[str, set[int]] = {}
        self.department_choices: dict[str, str] = {}
        for d in self.departments.values():
            label = f"{d.key} {d.name}"
            for text in (d.key, d.name, d.label, label, *(a.alias for a in d.aliases)):
                self.department_by.setdefault(_fold(text), set()).add(d.id)
                self.department_choices[_fold(text)] = label
        self.people: dict[int, Person] = {
            p.id: p for p in session.execute(select(Person)).scalars()
        }
        self.person_by: dict[str, set[int]] = {}
        for p in self.people.values():
            self.person_by.setdefault(_fold(p.name), set()).add(p.id)
        self.person_choices = {_fold(p.name): p.name for p in self.people.values()}
        self.goals: dict[int, Goal] = {g.id: g for g in session.execute(select(Goal)).scalars()}
        self.goal_by: dict[str, list[int]] = {}
        for g in self.goals.values():
            self.goal_by.setdefault(_fold(g.title), []).append(g.id)
        self.fields: dict[int, FieldOfAction] = {
            f.id: f for f in session.execute(select(FieldOfAction)).scalars()
        }
        self.field_by = {_fold(f.name): f.id for f in self.fields.values()}
        self.areas: dict[int, PlanningArea] = {
            a.id: a for a in session.execute(select(PlanningArea)).scalars()
        }
        self.area_by = {_fold(a.name): a.id for a in self.areas.values()}
        self.area_choices = {_fold(a.name): a.name for a in self.areas.values()}

    def department_label(self, value: Any) -> str:
        if isinstance(value, int) and value in self.departments:
            return self.departments[value].key
        return str(value).removeprefix(_NEW)

    def shown(self, column: Column, value: Any, created: dict[str, str]) -> str:
        """A canonical value as a reply shows it (language-neutral; see `_shown`)."""
        if value is None:
            return ""
        if isinstance(value, str) and value.startswith(_NEW):
            return created.get(value, value.removeprefix(_NEW))
        if column is Column.LEAD:
            return self.department_label(value)
        if column is Column.PARTICIPANTS:
            return ", ".join(
                self.department_label(v)
                if not isinstance(v, str) or not v.startswith(_NEW)
                else created.get(v, v)
                for v in value
            )
        if column is Column.RESPONSIBLE:
            person = self.people.get(value)
            return person.name if person else str(value)
        if column is Column.GOAL:
            goal = self.goals.get(value)
            return f"{goal.ref} {goal.title}" if goal else str(value)
        if column is Column.PLANNING_AREA:
            area = self.areas.get(value)
            return area.name if area else str(value)
        return str(value)


# -- reading cells ----------------------------------------------------------------------------


def _text(cell: Cell) -> str:
    if isinstance(cell, date):
        return cell.strftime("%d.%m.%Y")
    # Control characters go, as at every door (storage/limits.py): a cell may hold anything.
    return clean(str(cell)).strip()


class _RowError(Exception):
    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = tuple((k, str(v)) for k, v in values.items())


@dataclass(slots=True)
class _Planned:
    """What one row does: its canonical values, the measure it matches, the merge outcome."""

    row: int
    values: dict[Any, Any]  # Column or _EXTRA → canonical value
    measure: _Existing | None = None
    updates: dict[Any, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)


class _Reader:
    """Turns cells into canonical values: ids of what exists, `new:…` for what is created."""

    def __init__(self, directory: _Directory, options: ImportOptions, today: date) -> None:
        self.d = directory
        self.options = options
        self.today = today
        # Cell text → ISO date (one string object per distinct date: 100k rows share them).
        self.dates: dict[str, str | None] = {}
        self.memo: dict[tuple[str, str], Any] = {}
        # Things to create, by canonical value: (kind, shown name, extra info).
        self.new_departments: dict[str, str] = {}
        self.new_people: dict[str, tuple[str, Any]] = {}
        self.new_goals: dict[str, tuple[str, Any, Any]] = {}
        self.new_fields: dict[str, str] = {}
        self.new_areas: dict[str, str] = {}

    # each returns a canonical value or raises _RowError

    def date(self, cell: Cell) -> str | None:
        if isinstance(cell, date):
            key = cell.isoformat()
            return self.dates.setdefault(key, key)
        text = _text(cell)
        if not text:
            return None
        if text not in self.dates:
            try:
                found = parse_date(text, self.today)
            except DateOutOfRange:
                raise _RowError(
                    "plan_import.reason_date_range",
                    text=text,
                    earliest=EARLIEST.year,
                    latest=LATEST.year,
                ) from None
            self.dates[text] = None if found is None else found.isoformat()
        value = self.dates[text]
        if value is None:
            raise _RowError("plan_import.reason_date", text=text)
        return value

    def _memo(self, kind: str, text: str, convert: Callable[[str], Any]) -> Any:
        """`convert(text)` once per distinct cell text: plans repeat their departments,
        people and areas thousands of times."""
        key = (kind, text)
        if key not in self.memo:
            try:
                self.memo[key] = convert(text)
            except _RowError as error:
                self.memo[key] = error
        found = self.memo[key]
        if isinstance(found, _RowError):
            raise found
        return found

    def department(self, text: str) -> Any:
        return self._memo("department", text, self._department)

    def person(self, text: str, lead: Any) -> Any:
        return self._memo("person", text, lambda name: self._person(name, lead))

    def area(self, text: str) -> Any:
        return self._memo("area", text, self._area)

    def _department(self, text: str) -> Any:
        ids = self.d.department_by.get(_fold(text))
        if ids and len(ids) == 1:
            return next(iter(ids))
        if ids:
            names = ", ".join(sorted(self.d.department_label(i) for i in ids))
            raise _RowError("plan_import.reason_department_ambiguous", text=text, names=names)
        if self.options.create_missing:
            value = _NEW + "department:" + _fold(text)
            self.new_departments.setdefault(value, text)
            return value
        value = _NEW + "department:" + _fold(text)
        self.new_departments.setdefault(value, text)
        closest = _closest(text, self.d.department_choices)
        if closest:
            raise _RowError(
                "plan_import.reason_department_unknown_closest",
                text=text,
                names=", ".join(closest),
            )
        raise _RowError("plan_import.reason_department_unknown", text=text)

    def _person(self, text: str, lead: Any) -> Any:
        ids = self.d.person_by.get(_fold(text))
        if ids and len(ids) == 1:
            person = self.d.people[next(iter(ids))]
            if person.role is Role.READ:
                raise _RowError("plan_import.reason_person_reads_only", text=person.name)
            return person.id
        if ids:
            raise _RowError("plan_import.reason_person_ambiguous", text=text)
        value = _NEW + "person:" + _fold(text)
        self.new_people.setdefault(value, (text, lead))
        if self.options.create_missing:
            return value
        closest = _closest(text, self.d.person_choices)
        if closest:
            raise _RowError(
                "plan_import.reason_person_unknown_closest", text=text, names=", ".join(closest)
            )
        raise _RowError("plan_import.reason_person_unknown", text=text)

    def _area(self, text: str) -> Any:
        found = self.d.area_by.get(_fold(text))
        if found is not None:
            return found
        # The reference rules: nothing resembling it is a new area (as `neu raum:` does);
        # something resembling it is never silently taken for it.
        closest = _closest(text, self.d.area_choices)
        if closest:
            raise _RowError(
                "plan_import.reason_area_unknown_closest", text=text, names=", ".join(closest)
            )
        value = _NEW + "area:" + _fold(text)
        self.new_areas.setdefault(value, text)
        return value

    def field_of_action(self, text: str) -> Any:
        found = self.d.field_by.get(_fold(text))
        if found is not None:
            return found
        value = _NEW + "field:" + _fold(text)
        self.new_fields.setdefault(value, text)
        return value

    def goal(self, text: str, parent: str, field_text: str) -> Any:
        return self._memo(
            "goal",
            "\x00".join((text, parent, field_text)),
            lambda _k: self._goal(text, parent, field_text),
        )

    def _goal(self, text: str, parent: str, field_text: str) -> Any:
        shape = id_shape(text)
        if shape is not None:
            if shape[0] == "Z" and shape[1] in self.d.goals:
                return shape[1]
            raise _RowError("plan_import.reason_goal_id", text=text)
        ids = self.d.goal_by.get(_fold(text), [])
        if len(ids) > 1 and parent:
            parent_ids = set(self.d.goal_by.get(_fold(parent), []))
            ids = [i for i in ids if self.d.goals[i].parent_id in parent_ids]
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            refs = ", ".join(self.d.goals[i].ref for i in ids)
            raise _RowError("plan_import.reason_goal_ambiguous", text=text, refs=refs)
        value = _NEW + "goal:" + _fold(text)
        if value not in self.new_goals:
            parent_value = self._goal(parent, "", "") if parent else None
            field_value = self.field_of_action(field_text) if field_text else None
            self.new_goals[value] = (text, parent_value, field_value)
        return value

    def status(self, text: str) -> str:
        if not text:
            return MeasureStatus.PLANNED.value
        word = " ".join(text.casefold().split())
        found = _STATUS.get(word) or _STATUS.get(word.replace(" ", "_"))
        if found is None:
            raise _RowError("plan_import.reason_status", text=text)
        return found.value

    @staticmethod
    def progress(cell: Cell) -> int:
        if isinstance(cell, int):
            value: int | None = cell
        elif isinstance(cell, float | date):
            value = None
        else:
            text = cell.strip()
            if not text:
                return 0
            match = _PERCENT.match(text)
            value = int(match.group(1)) if match else None
        if value is None or not 0 <= value <= 100:
            raise _RowError("plan_import.reason_progress", text=_text(cell))
        return value

    @staticmethod
    def interval(text: str) -> str | None:
        if not text:
            return None
        found = parse_interval(text)
        if found is None:
            raise _RowError("plan_import.reason_interval", text=text)
        return found


# -- reading and checking the whole file ------------------------------------------------------


@dataclass
class _Layout:
    columns: dict[Column, int]  # plan column → position
    headers: dict[Column, str]  # plan column → the file's header
    free: dict[int, str]  # position → header of a free field
    id_is_ours: bool


def _layout(headers: list[str], rows: Iterable[tuple[int, list[Cell]]]) -> _Layout:
    columns: dict[Column, int] = {}
    named: dict[Column, str] = {}
    free: dict[int, str] = {}
    for position, header in enumerate(headers):
        column = column_for(header) if header else None
        if column is None or column in columns:
            if header:
                free[position] = header
            continue
        columns[column] = position
        named[column] = header
    id_is_ours = False
    if Column.ID in columns:
        position = columns[Column.ID]
        # `ID` holds our ids when its cells are id-shaped (`M-12`); otherwise it is the
        # plan's own number (handlers/plan_columns.py).
        typed = (_text(c[position]) for _r, c in rows if position < len(c))
        cells = [c for c in typed if c]
        id_is_ours = bool(cells) and all(id_shape(c) is not None for c in cells)
        if not id_is_ours and cells:
            header = named.pop(Column.ID)
            del columns[Column.ID]
            if Column.NUMBER in columns:
                free[position] = header
            else:
                columns[Column.NUMBER] = position
                named[Column.NUMBER] = header
    return _Layout(columns, named, free, id_is_ours)


def _cell_at(cells: list[Cell], columns: dict[Column, int], column: Column) -> Cell:
    position = columns.get(column)
    return cells[position] if position is not None and position < len(cells) else ""


class _Row:
    """One data row being read: its cells and what is wrong with it so far."""

    def __init__(self, number: int, cells: list[Cell], layout: _Layout) -> None:
        self.number = number
        self.cells = cells
        self.layout = layout
        self.bad: list[BadRow] = []

    def cell(self, column: Column) -> Cell:
        return _cell_at(self.cells, self.layout.columns, column)

    def text(self, column: Column) -> str:
        return _text(self.cell(column))

    def fail(self, column: Column | None, key: str, **values: object) -> None:
        header = self.layout.headers.get(column) if column is not None else None
        self.bad.append(
            BadRow(self.number, header, key, tuple((k, str(v)) for k, v in values.items()))
        )

    def read(self, column: Column, convert: Callable[..., Any], *args: Any) -> Any:
        """`convert(*args)`, or None with the reason noted under this column."""
        try:
            return convert(*args)
        except _RowError as error:
            header = self.layout.headers.get(column)
            self.bad.append(BadRow(self.number, header, error.key, error.values))
            return None


def _participants_key(values: list[Any]) -> list[Any]:
    # Ids in numeric order (as the database's are compared), departments to create after.
    return sorted(values, key=lambda v: (1, 0, v) if isinstance(v, str) else (0, v, ""))


@dataclass
class _Computed:
    preview: ImportPreview
    planned: list[_Planned]
    reader: _Reader
    directory: _Directory


@dataclass
class _Existing:
    """A measure the file names, as the merge needs it (read with core queries: no ORM
    objects for ten thousand rows that mostly stay as they are)."""

    id: int
    version: int
    import_baseline: dict[str, Any] | None
    current: dict[Any, Any]

    @property
    def ref(self) -> str:
        return f"M-{self.id}"


# The tables, for core statements: the ORM's bulk insert costs more than the database does.
_MEASURES = cast(Table, Measure.__table__)
_AUDIT = cast(Table, AuditEntry.__table__)
_ITEMS = cast(Table, PlanImportItem.__table__)
_COLUMNS = _MEASURES.c


def _load_measures(
    session: Session, ids: set[int], numbers: set[str], *, lock: bool
) -> tuple[dict[int, _Existing], dict[str, _Existing]]:
    """The measures the file names by id or number, in a few queries (chunks of IN lists)."""
    found: dict[int, _Existing] = {}

    def run(condition: Any) -> None:
        query = select(
            _COLUMNS.id,
            _COLUMNS.version,
            _COLUMNS.import_baseline,
            _COLUMNS.title,
            _COLUMNS.description,
            _COLUMNS.goal_id,
            _COLUMNS.lead_department_id,
            _COLUMNS.responsible_id,
            _COLUMNS.start,
            _COLUMNS.deadline,
            _COLUMNS.status,
            _COLUMNS.progress,
            _COLUMNS.planning_area_id,
            _COLUMNS.evaluation_interval,
            _COLUMNS.plan_number,
            _COLUMNS.extra_fields,
        ).where(condition)
        if lock:
            # PostgreSQL: a report typed meanwhile waits for the import (and is not lost).
            query = query.with_for_update()
        for m in session.execute(query):
            found[m.id] = _Existing(
                m.id,
                m.version,
                m.import_baseline,
                {
                    Column.TITLE: m.title,
                    Column.DESCRIPTION: m.description,
                    Column.GOAL: m.goal_id,
                    Column.LEAD: m.lead_department_id,
                    Column.PARTICIPANTS: [],
                    Column.RESPONSIBLE: m.responsible_id,
                    Column.START: m.start.isoformat() if m.start else None,
                    Column.DEADLINE: m.deadline.isoformat() if m.deadline else None,
                    Column.STATUS: MeasureStatus(m.status).value,
                    Column.PROGRESS: m.progress,
                    Column.PLANNING_AREA: m.planning_area_id,
                    Column.INTERVAL: m.evaluation_interval,
                    Column.NUMBER: m.plan_number,
                    _EXTRA: m.extra_fields or None,
                },
            )

    id_list, number_list = sorted(ids), sorted(numbers)
    for i in range(0, len(id_list), _CHUNK):
        run(_COLUMNS.id.in_(id_list[i : i + _CHUNK]))
    for i in range(0, len(number_list), _CHUNK):
        run(_COLUMNS.plan_number.in_(number_list[i : i + _CHUNK]))
    measure_ids = sorted(found)
    for i in range(0, len(measure_ids), _CHUNK):
        query = select(measure_participants.c.measure_id, measure_participants.c.department_id)
        query = query.where(measure_participants.c.measure_id.in_(measure_ids[i : i + _CHUNK]))
        for measure_id, department_id in session.execute(query):
            found[measure_id].current[Column.PARTICIPANTS].append(department_id)
    for existing in found.values():
        existing.current[Column.PARTICIPANTS].sort()
    by_number = {
        m.current[Column.NUMBER]: m for m in found.values() if m.current[Column.NUMBER] is not None
    }
    return found, by_number


def _compute(
    session: Session,
    data: bytes,
    file_name: str,
    options: ImportOptions,
    *,
    today: date,
    lang: Language,
    progress: Callable[[int, int], None] | None,
    lock: bool,
) -> _Computed:
    try:
        table = read_plan(data, file_name)
    except PlanReadError as error:
        raise PlanUnreadable(t(lang, _UNREADABLE_KEYS[error.reason], file=file_name)) from error
    layout = _layout(table.headers, table.rows())
    preview = ImportPreview(
        file_name=file_name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        options=options,
    )
    directory = _Directory(session)
    reader = _Reader(directory, options, today)
    cols = layout.columns

    # Keys first: which measures the rows name, in one pass, then one load.
    ids: set[int] = set()
    numbers: set[str] = set()
    total = 0
    for _row, cells in table.rows():
        total += 1
        if layout.id_is_ours:
            shape = id_shape(_text(_cell_at(cells, cols, Column.ID)))
            if shape is not None and shape[0] == "M":
                ids.add(shape[1])
        number = _text(_cell_at(cells, cols, Column.NUMBER))
        if number:
            numbers.add(number)
    by_id, by_number = _load_measures(session, ids, numbers, lock=lock)

    planned: list[_Planned] = []
    seen_numbers: dict[str, int] = {}
    seen_measures: dict[int, int] = {}
    preview.rows = total
    for index, (number_of_row, cells) in enumerate(table.rows()):
        if progress is not None and index % PROGRESS_EVERY == 0:
            progress(index, total)
        r = _Row(number_of_row, cells, layout)
        values: dict[Any, Any] = {}
        title = r.text(Column.TITLE)
        if not title:
            r.fail(Column.TITLE, "plan_import.reason_title_empty")
        elif len(title) > _TITLE_MAX:
            r.fail(Column.TITLE, "plan_import.reason_title_long", max=_TITLE_MAX)
        values[Column.TITLE] = title
        measure: _Existing | None = None
        if Column.ID in cols:
            typed = r.text(Column.ID)
            shape = id_shape(typed) if typed else None
            if typed and (shape is None or shape[0] != "M" or shape[1] not in by_id):
                r.fail(Column.ID, "plan_import.reason_id_unknown", text=typed)
            elif shape is not None:
                measure = by_id[shape[1]]
        if Column.NUMBER in cols:
            number = r.text(Column.NUMBER)
            if number and number in seen_numbers:
                r.fail(
                    Column.NUMBER,
                    "plan_import.reason_number_twice",
                    text=number,
                    first=seen_numbers[number],
                )
            elif len(number) > _NUMBER_MAX:
                r.fail(Column.NUMBER, "plan_import.reason_number_long", max=_NUMBER_MAX)
            elif number:
                seen_numbers[number] = r.number
                owner = by_number.get(number)
                if measure is None:
                    measure = owner
                elif owner is not None and owner is not measure:
                    r.fail(
                        Column.NUMBER,
                        "plan_import.reason_number_taken",
                        text=number,
                        measure=owner.ref,
                    )
            values[Column.NUMBER] = number or None
        if measure is not None:
            if measure.id in seen_measures:
                r.fail(
                    None,
                    "plan_import.reason_measure_twice",
                    measure=measure.ref,
                    first=seen_measures[measure.id],
                )
            seen_measures[measure.id] = r.number
        if Column.DESCRIPTION in cols:
            description = r.text(Column.DESCRIPTION)
            if len(description) > _DESCRIPTION_MAX:
                r.fail(
                    Column.DESCRIPTION,
                    "plan_import.reason_description_long",
                    max=_DESCRIPTION_MAX,
                )
            values[Column.DESCRIPTION] = description or None
        lead: Any = None
        if Column.LEAD in cols:
            text = r.text(Column.LEAD)
            if text:
                lead = r.read(Column.LEAD, reader.department, text)
            else:
                r.fail(Column.LEAD, "plan_import.reason_lead_missing")
            values[Column.LEAD] = lead
        elif measure is None:
            r.fail(None, "plan_import.reason_no_lead_column")
        if Column.PARTICIPANTS in cols:
            parts: list[Any] = []
            for part in _LIST_SPLIT.split(r.text(Column.PARTICIPANTS)):
                if part:
                    value = r.read(Column.PARTICIPANTS, reader.department, part)
                    if value is not None and value != lead and value not in parts:
                        parts.append(value)
            values[Column.PARTICIPANTS] = _participants_key(parts)
        if Column.RESPONSIBLE in cols:
            text = r.text(Column.RESPONSIBLE)
            values[Column.RESPONSIBLE] = (
                r.read(Column.RESPONSIBLE, reader.person, text, lead) if text else None
            )
        goal: Any = None
        field_text = r.text(Column.FIELD_OF_ACTION)
        if Column.GOAL in cols:
            text = r.text(Column.GOAL)
            if text:
                parent = r.text(Column.PARENT_GOAL)
                goal = r.read(Column.GOAL, reader.goal, text, parent, field_text)
            values[Column.GOAL] = goal
        if field_text and goal is None:
            # A field of action without a goal: known in the catalog, linked to nothing.
            r.read(Column.FIELD_OF_ACTION, reader.field_of_action, field_text)
        for column in (Column.START, Column.DEADLINE):
            if column in cols:
                values[column] = r.read(column, reader.date, r.cell(column))
        if Column.STATUS in cols:
            values[Column.STATUS] = r.read(Column.STATUS, reader.status, r.text(Column.STATUS))
        if Column.PROGRESS in cols:
            values[Column.PROGRESS] = r.read(
                Column.PROGRESS, reader.progress, r.cell(Column.PROGRESS)
            )
        if Column.PLANNING_AREA in cols:
            text = r.text(Column.PLANNING_AREA)
            values[Column.PLANNING_AREA] = (
                r.read(Column.PLANNING_AREA, reader.area, text) if text else None
            )
        if Column.INTERVAL in cols:
            interval = r.read(Column.INTERVAL, reader.interval, r.text(Column.INTERVAL))
            if interval is None:
                # An empty cell: the goal's interval, as `neu` gives it, else the default.
                goal_row = directory.goals.get(goal) if isinstance(goal, int) else None
                interval = (goal_row.evaluation_interval if goal_row else None) or DEFAULT_INTERVAL
            values[Column.INTERVAL] = interval
        if layout.free:
            extra = {
                header: _text(cells[position])
                for position, header in layout.free.items()
                if position < len(cells) and _text(cells[position])
            }
            values[_EXTRA] = extra or None
        if r.bad:
            preview.bad_rows.extend(r.bad)
            continue
        planned.append(_Planned(r.number, values, measure))

    _merge(preview, planned, directory, reader, options)
    preview.to_create = {
        "departments": sorted(reader.new_departments.values()),
        "people": sorted(name for name, _lead in reader.new_people.values()),
    }
    preview.to_create = {k: v for k, v in preview.to_create.items() if v}
    preview.created_catalog = {
        k: v
        for k, v in {
            "goals": [title for title, _p, _f in reader.new_goals.values()],
            "fields": list(reader.new_fields.values()),
            "areas": list(reader.new_areas.values()),
        }.items()
        if v
    }
    preview.refused = bool(preview.bad_rows) and not options.skip_invalid
    preview.digest = _digest(preview, planned)
    if progress is not None:
        progress(total, total)
    return _Computed(preview, planned, reader, directory)


def _merge(
    preview: ImportPreview,
    planned: list[_Planned],
    directory: _Directory,
    reader: _Reader,
    options: ImportOptions,
) -> None:
    """The three-way merge of each matched row: file, chat (current) and the last import."""
    names = {
        **reader.new_departments,
        **{k: v[0] for k, v in reader.new_people.items()},
        **{k: v[0] for k, v in reader.new_goals.items()},
        **reader.new_areas,
    }

    def shown(column: Any, value: Any) -> str:
        if column == _EXTRA:
            return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
        return directory.shown(column, value, names)

    for plan in planned:
        measure = plan.measure
        if measure is None:
            preview.new += 1
            # The same dict: a new measure takes every value, and they are its baseline.
            plan.updates = plan.baseline = plan.values
            continue
        current = measure.current
        old_baseline = measure.import_baseline or {}
        baseline = dict(old_baseline)
        for column, value in plan.values.items():
            now = current[column]
            key = column
            if value == now:
                baseline[key] = value
                continue
            if key not in old_baseline or old_baseline[key] == now:
                # Changed only in the file (or never imported): the file's value.
                plan.updates[column] = value
                baseline[key] = value
                if column != _EXTRA:
                    preview.changes.append(
                        FieldChange(
                            measure.ref, plan.row, column, shown(column, now), shown(column, value)
                        )
                    )
                continue
            if old_baseline[key] == value:
                preview.kept += 1  # changed only in chat: kept
                continue
            conflict = FieldChange(
                measure.ref,
                plan.row,
                column if column != _EXTRA else Column.TITLE,
                shown(column, now),
                shown(column, value),
            )
            preview.conflicts.append(conflict)
            if options.overwrite:
                plan.updates[column] = value
                baseline[key] = value
        plan.baseline = baseline
        if plan.updates:
            preview.changed += 1
        else:
            preview.unchanged += 1


def _digest(preview: ImportPreview, planned: list[_Planned]) -> str:
    """Stable for the same file and the same database state (what a confirmation checks)."""
    content = {
        "file": preview.file_sha256,
        "counts": [preview.new, preview.changed, preview.unchanged, preview.kept],
        "bad": [[b.row, b.column, b.key, list(b.values)] for b in preview.bad_rows],
        "conflicts": [[c.measure, c.column.value, c.current, c.file] for c in preview.conflicts],
        "create": preview.to_create,
        "catalog": preview.created_catalog,
        "rows": [
            [
                p.row,
                p.measure.id if p.measure else None,
                p.measure.version if p.measure else None,
                sorted(p.updates),
            ]
            for p in planned
        ],
        "options": [
            preview.options.skip_invalid,
            preview.options.create_missing,
            preview.options.overwrite,
        ],
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def preview_import(
    session: Session,
    data: bytes,
    file_name: str,
    options: ImportOptions,
    *,
    today: date,
    lang: Language,
    progress: Callable[[int, int], None] | None = None,
) -> ImportPreview:
    """Read, check and merge the plan without writing anything."""
    with _no_cycle_collection():
        return _compute(
            session, data, file_name, options, today=today, lang=lang, progress=progress, lock=False
        ).preview


# -- applying ---------------------------------------------------------------------------------


def _new_key(name: str, taken: set[str]) -> str:
    """A department key for a created department: the name itself when it is key-shaped
    (`JA`, `Amt51`), else its initials (`Grünflächenamt` → `G`, made unique)."""
    if _KEY_SHAPE.match(name) and (name.isupper() or len(name) <= 4):
        base = name.upper()
    else:
        words = re.findall(r"[A-Za-zÄÖÜäöüß0-9]+", name)
        base = "".join(w[0] for w in words).upper() if len(words) > 1 else name[:4].upper()
        base = re.sub(r"[^A-ZÄÖÜ0-9]", "", base)[:8] or "R"
    key, n = base, 2
    while key in taken:
        key = f"{base[:8]}{n}"
        n += 1
    taken.add(key)
    return key


def _create_missing(session: Session, computed: _Computed, now: datetime) -> dict[str, int]:
    """Create what the rows name and does not exist yet; canonical `new:…` → id."""
    reader, options = computed.reader, computed.preview.options
    ids: dict[str, int] = {}
    created_names: dict[str, list[str]] = {}
    # Each kind added whole and flushed once (a flush per row cost 0.3 s for 110 goals).
    if options.create_missing:
        taken = set(session.execute(select(Department.key)).scalars())
        departments = {
            value: Department(key=_new_key(name, taken), name=name)
            for value, name in reader.new_departments.items()
        }
        _flushed(session, departments, ids)
        for department in departments.values():
            created_names.setdefault("departments", []).append(department.label)
    _flushed(session, {v: FieldOfAction(name=n) for v, n in reader.new_fields.items()}, ids)
    _flushed(session, {v: PlanningArea(name=n) for v, n in reader.new_areas.items()}, ids)
    # Goals level by level: a goal whose Oberziel is new waits for the level that makes it.
    waiting = dict(reader.new_goals)
    while waiting:
        ready = {
            value: spec
            for value, spec in waiting.items()
            if not isinstance(spec[1], str) or spec[1] in ids
        }
        if not ready:
            raise RuntimeError("goals whose Oberziel is never created")  # the reader's bug
        goals = {
            value: Goal(
                title=title,
                parent_id=ids[parent] if isinstance(parent, str) else parent,
                field_of_action_id=ids.get(field_value)
                if isinstance(field_value, str)
                else field_value,
                created_at=now,
            )
            for value, (title, parent, field_value) in ready.items()
        }
        _flushed(session, goals, ids)
        for value in ready:
            del waiting[value]
    if options.create_missing:
        people = {}
        for value, (name, lead) in reader.new_people.items():
            department_id = ids.get(lead) if isinstance(lead, str) else lead
            people[value] = Person(name=name, role=Role.DEPARTMENT, department_id=department_id)
        _flushed(session, people, ids)
    if created_names:
        computed.preview.to_create["departments"] = created_names["departments"]
    return ids


def _flushed(session: Session, made: dict[str, Any], ids: dict[str, int]) -> None:
    """Insert the new rows in one flush and note each one's id under its `new:…` value."""
    if not made:
        return
    session.add_all(made.values())
    session.flush()
    for value, row in made.items():
        ids[value] = row.id


def _resolved(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith(_NEW):
        return ids[value]
    if isinstance(value, list):
        return sorted(_resolved(v, ids) for v in value)
    return value


_MEASURE_FIELDS = {
    Column.TITLE: "title",
    Column.DESCRIPTION: "description",
    Column.GOAL: "goal_id",
    Column.LEAD: "lead_department_id",
    Column.RESPONSIBLE: "responsible_id",
    Column.START: "start",
    Column.DEADLINE: "deadline",
    Column.STATUS: "status",
    Column.PROGRESS: "progress",
    Column.PLANNING_AREA: "planning_area_id",
    Column.INTERVAL: "evaluation_interval",
    Column.NUMBER: "plan_number",
    _EXTRA: "extra_fields",
}


def _column_value(column: Any, value: Any) -> Any:
    """A canonical value as the measure's column holds it."""
    if column in (Column.START, Column.DEADLINE):
        return date.fromisoformat(value) if value else None
    if column is Column.STATUS:
        return MeasureStatus(value)
    return value


def _snapshot(measure: Measure) -> dict[str, Any]:
    """Everything an import may change, to restore it on undo."""
    return {
        "title": measure.title,
        "description": measure.description,
        "goal_id": measure.goal_id,
        "lead_department_id": measure.lead_department_id,
        "responsible_id": measure.responsible_id,
        "start": measure.start.isoformat() if measure.start else None,
        "deadline": measure.deadline.isoformat() if measure.deadline else None,
        "status": measure.status.value,
        "progress": measure.progress,
        "planning_area_id": measure.planning_area_id,
        "evaluation_interval": measure.evaluation_interval,
        "plan_number": measure.plan_number,
        "extra_fields": measure.extra_fields,
        "participants": sorted(d.id for d in measure.participants),
        "import_baseline": measure.import_baseline,
        "version": measure.version,
    }


def _audit_value(column: Any, value: Any, directory: _Directory) -> Any:
    """A value as the audit (and the history) shows it: keys, names and refs, not ids."""
    if value is None:
        return None
    if column is Column.LEAD:
        department = directory.departments.get(value)
        return department.key if department else None
    if column is Column.PARTICIPANTS:
        return (
            ", ".join(
                directory.departments[v].key if v in directory.departments else str(v)
                for v in value
            )
            or None
        )
    if column is Column.RESPONSIBLE:
        person = directory.people.get(value)
        return person.name if person else None
    if column is Column.GOAL:
        return f"Z-{value}"
    if column is Column.PLANNING_AREA:
        area = directory.areas.get(value)
        return area.name if area else None
    return value


def _reserve_ids(session: Session, n: int) -> list[int]:
    """Ids for `n` new measures, taken before the insert: then it is one executemany
    (an INSERT … RETURNING in parameter order runs row by row on SQLite)."""
    if n == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        # The sequence hands out ids no concurrent `neu` can take as well.
        query = sql(
            "SELECT nextval(pg_get_serial_sequence('measures', 'id')) FROM generate_series(1, :n)"
        )
        return sorted(session.execute(query, {"n": n}).scalars())
    # SQLite: writers hold the database lock (BEGIN IMMEDIATE), so the highest id stays ours.
    highest = session.execute(select(func.max(Measure.id))).scalar() or 0
    return list(range(highest + 1, highest + n + 1))


@_no_cycle_collection()
def apply_import(
    session: Session,
    data: bytes,
    file_name: str,
    options: ImportOptions,
    origin: ImportOrigin,
    *,
    now: datetime,
    today: date,
    lang: Language,
    progress: Callable[[int, int], None] | None = None,
    expected_digest: str | None = None,
) -> ImportOutcome:
    """Recompute the preview and, unless refused — or, given `expected_digest`, unless it is
    no longer the preview that was confirmed — write it all into `session` (no commit)."""
    computed = _compute(
        session, data, file_name, options, today=today, lang=lang, progress=progress, lock=True
    )
    preview = computed.preview
    if expected_digest is not None and preview.digest != expected_digest:
        return ImportOutcome(applied=False, preview=preview, stale=True)
    if preview.refused:
        return ImportOutcome(applied=False, preview=preview)
    ids = _create_missing(session, computed, now)
    # The directory again, now with what was created (a few rows: departments, people, …).
    directory = _Directory(session) if ids else computed.directory
    creates = [p for p in computed.planned if p.measure is None]
    updates = [p for p in computed.planned if p.measure is not None and p.updates]
    baseline_only = [
        p
        for p in computed.planned
        if p.measure is not None
        and not p.updates
        and p.baseline != (p.measure.import_baseline or {})
    ]
    if baseline_only:
        # The last import's values, recorded without a change of the measure.
        session.execute(
            update(Measure),
            [
                {
                    "id": p.measure.id,
                    "import_baseline": {k: _resolved(v, ids) for k, v in p.baseline.items()},
                }
                for p in baseline_only
                if p.measure is not None
            ],
        )
    if not creates and not updates:
        session.flush()
        return ImportOutcome(applied=True, preview=preview)

    record = PlanImport(
        at=now,
        person_id=origin.person_id,
        actor=origin.actor,
        file_name=file_name[:255],
        file_sha256=preview.file_sha256,
        origin_platform=origin.platform,
        origin_room=origin.room,
        summary={
            "created": len(creates),
            "updated": len(updates),
            "unchanged": preview.unchanged,
            "conflicts": len(preview.conflicts),
            "skipped": preview.bad_row_count,
        },
    )
    session.add(record)
    session.flush()
    audit_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []

    def audit(measure_id: int, row: int, version: int, before: Any, after: Any) -> None:
        audit_rows.append(
            {
                "at": now,
                "person_id": origin.person_id,
                "actor": origin.actor,
                "action": "import",
                "entity_kind": "measure",
                "entity_id": measure_id,
                "entity_version": version,
                "before": before,
                "after": after,
                "origin_platform": origin.platform,
                "origin_room": file_name[:255],
                "origin_message_id": t(lang, "plan_import.origin_row", row=row),
            }
        )

    def write_rows() -> None:
        # Written chunk by chunk, so 100k rows never wait in memory all at once.
        for start in range(0, len(audit_rows), _CHUNK):
            session.execute(insert(_AUDIT), audit_rows[start : start + _CHUNK])
        for start in range(0, len(item_rows), _CHUNK):
            session.execute(insert(_ITEMS), item_rows[start : start + _CHUNK])
        audit_rows.clear()
        item_rows.clear()

    zone = session_zone(session)
    local_today = now.astimezone(zone).date()
    reserved = _reserve_ids(session, len(creates))
    for start in range(0, len(creates), _CHUNK):
        chunk = creates[start : start + _CHUNK]
        values = []
        for plan in chunk:
            resolved = (
                {k: _resolved(v, ids) for k, v in plan.values.items()} if ids else plan.values
            )
            plan.values = resolved
            interval = resolved.get(Column.INTERVAL) or DEFAULT_INTERVAL
            goal_id = resolved.get(Column.GOAL)
            if Column.INTERVAL not in resolved and goal_id in directory.goals:
                interval = directory.goals[goal_id].evaluation_interval or DEFAULT_INTERVAL
            row = {
                "title": resolved[Column.TITLE],
                "description": resolved.get(Column.DESCRIPTION),
                "goal_id": goal_id,
                "lead_department_id": resolved[Column.LEAD],
                "responsible_id": resolved.get(Column.RESPONSIBLE),
                "start": _column_value(Column.START, resolved.get(Column.START)),
                "deadline": _column_value(Column.DEADLINE, resolved.get(Column.DEADLINE)),
                "status": MeasureStatus(resolved.get(Column.STATUS) or MeasureStatus.PLANNED.value),
                "progress": resolved.get(Column.PROGRESS) or 0,
                "planning_area_id": resolved.get(Column.PLANNING_AREA),
                "evaluation_interval": interval,
                "plan_number": resolved.get(Column.NUMBER),
                "extra_fields": resolved.get(_EXTRA),
                "import_baseline": dict(resolved),
                "created_at": now,
                "version": 1,
                # The flush hook does not see bulk inserts: the first report is due one
                # interval after creation, as for a measure created in chat.
                "evaluation_due_on": add_interval(local_today, interval),
            }
            values.append(row)
        new_ids = reserved[start : start + len(chunk)]
        for row, measure_id in zip(values, new_ids, strict=True):
            row["id"] = measure_id
        session.execute(insert(_MEASURES), values)
        participant_rows = []
        for plan, measure_id in zip(chunk, new_ids, strict=True):
            for department_id in plan.values.get(Column.PARTICIPANTS) or []:
                participant_rows.append({"measure_id": measure_id, "department_id": department_id})
            created_audit = {
                _AUDIT_KEYS[k]: _audit_value(k, v, directory)
                for k, v in plan.values.items()
                if k in _AUDIT_KEYS and v is not None
            }
            audit(measure_id, plan.row, 1, None, created_audit)
            item_rows.append(
                {
                    "import_id": record.id,
                    "measure_id": measure_id,
                    "row": plan.row,
                    "action": "created",
                    "before": None,
                    "version_after": 1,
                }
            )
        if participant_rows:
            session.execute(insert(measure_participants), participant_rows)
        write_rows()
        if progress is not None:
            progress(start + len(chunk), len(creates))

    loaded: dict[int, Measure] = {}
    update_ids = sorted(p.measure.id for p in updates if p.measure is not None)
    for start in range(0, len(update_ids), _CHUNK):
        query = (
            select(Measure)
            .where(Measure.id.in_(update_ids[start : start + _CHUNK]))
            .options(selectinload(Measure.participants))
        )
        loaded.update({m.id: m for m in session.execute(query).scalars()})
    for plan in updates:
        assert plan.measure is not None
        existing = plan.measure
        measure = loaded[existing.id]
        before_all = _snapshot(measure)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for column, value in plan.updates.items():
            value = _resolved(value, ids)
            if column in _AUDIT_KEYS:
                old = existing.current[column]
                before[_AUDIT_KEYS[column]] = _audit_value(column, old, directory)
                after[_AUDIT_KEYS[column]] = _audit_value(column, value, directory)
            elif column == _EXTRA:
                before["extra_fields"], after["extra_fields"] = measure.extra_fields, value
            if column is Column.PARTICIPANTS:
                measure.participants = sorted(
                    (directory.departments[i] for i in value), key=lambda d: d.key
                )
            else:
                setattr(measure, _MEASURE_FIELDS[column], _column_value(column, value))
        measure.import_baseline = {k: _resolved(v, ids) for k, v in plan.baseline.items()}
        measure.version += 1
        audit(measure.id, plan.row, measure.version, before, after)
        item_rows.append(
            {
                "import_id": record.id,
                "measure_id": measure.id,
                "row": plan.row,
                "action": "updated",
                "before": before_all,
                "version_after": measure.version,
            }
        )
    session.flush()
    write_rows()
    return ImportOutcome(applied=True, preview=preview, import_id=record.id)


# -- undo -------------------------------------------------------------------------------------


def undo_last_import(
    session: Session, origin: ImportOrigin, *, now: datetime, lang: Language
) -> Reply:
    """Revert the last import that is not undone, while none of its measures changed since."""
    record = session.execute(
        select(PlanImport)
        .where(PlanImport.undone_at.is_(None))
        .order_by(PlanImport.id.desc())
        .limit(1)
    ).scalar()
    if record is None:
        return Reply.text(t(lang, "plan_import.undo_none"), outcome="refused")
    items = list(
        session.execute(
            select(PlanImportItem).where(PlanImportItem.import_id == record.id)
        ).scalars()
    )
    measure_ids = [i.measure_id for i in items if i.measure_id is not None]
    measures: dict[int, Measure] = {}
    for start in range(0, len(measure_ids), _CHUNK):
        query = (
            select(Measure)
            .where(Measure.id.in_(measure_ids[start : start + _CHUNK]))
            .options(selectinload(Measure.participants))
            .with_for_update(of=Measure)
        )
        measures.update({m.id: m for m in session.execute(query).scalars()})
    changed = sorted(
        {
            f"M-{item.measure_id}"
            for item in items
            if item.measure_id is None
            or item.measure_id not in measures
            or measures[item.measure_id].version != item.version_after
        }
    )
    created_ids = [i.measure_id for i in items if i.action == "created" and i.measure_id]
    decided: set[int] = set()
    for start in range(0, len(created_ids), _CHUNK):
        decided.update(
            session.execute(
                select(decision_measures.c.measure_id).where(
                    decision_measures.c.measure_id.in_(created_ids[start : start + _CHUNK])
                )
            ).scalars()
        )
    changed = sorted(set(changed) | {f"M-{i}" for i in decided}, key=lambda r: int(r[2:]))
    when = fmt_date(record.at.date(), lang)
    if changed:
        shown = ", ".join(changed[:_LIST_LIMIT]) + (", …" if len(changed) > _LIST_LIMIT else "")
        return Reply.text(
            t(lang, "plan_import.undo_refused", file=record.file_name, date=when, measures=shown),
            outcome="refused",
        )
    departments = {d.id: d for d in session.execute(select(Department)).scalars()}
    audit_rows: list[dict[str, Any]] = []
    restored = 0
    for item in items:
        if item.action != "updated" or item.measure_id is None or item.before is None:
            continue
        measure = measures[item.measure_id]
        before = item.before
        after_audit = {"title": measure.title} if measure.title != before["title"] else {}
        for name in (
            "title", "description", "goal_id", "lead_department_id", "responsible_id",
            "status", "progress", "planning_area_id", "evaluation_interval", "plan_number",
            "extra_fields", "import_baseline",
        ):  # fmt: skip
            value = before[name]
            setattr(measure, name, MeasureStatus(value) if name == "status" else value)
        for name in ("start", "deadline"):
            value = before[name]
            setattr(measure, name, date.fromisoformat(value) if value else None)
        measure.participants = sorted(
            (departments[i] for i in before["participants"] if i in departments),
            key=lambda d: d.key,
        )
        measure.version += 1
        restored += 1
        if "version" in before:
            # Back as an earlier import left it: that import's undo stays possible.
            session.execute(
                update(PlanImportItem)
                .where(
                    PlanImportItem.measure_id == measure.id,
                    PlanImportItem.import_id < record.id,
                    PlanImportItem.version_after == before["version"],
                )
                .values(version_after=measure.version)
            )
        audit_rows.append(
            {
                "at": now,
                "person_id": origin.person_id,
                "actor": origin.actor,
                "action": "import_undo",
                "entity_kind": "measure",
                "entity_id": measure.id,
                "entity_version": measure.version,
                "before": None,
                "after": after_audit or None,
                "origin_platform": origin.platform,
                "origin_room": origin.room,
                "origin_message_id": None,
            }
        )
    for start in range(0, len(created_ids), _CHUNK):
        chunk = created_ids[start : start + _CHUNK]
        # Reminders already queued for a measure that goes away would point at nothing.
        session.execute(delete(OutboxEntry).where(OutboxEntry.measure_id.in_(chunk)))
        session.execute(
            delete(measure_participants).where(measure_participants.c.measure_id.in_(chunk))
        )
        session.execute(delete(Measure).where(Measure.id.in_(chunk)))
        for measure_id in chunk:
            audit_rows.append(
                {
                    "at": now,
                    "person_id": origin.person_id,
                    "actor": origin.actor,
                    "action": "import_undo",
                    "entity_kind": "measure",
                    "entity_id": measure_id,
                    "entity_version": None,
                    "before": None,
                    "after": None,
                    "origin_platform": origin.platform,
                    "origin_room": origin.room,
                    "origin_message_id": None,
                }
            )
    for measure_id in created_ids:
        measures.pop(measure_id, None)
    if created_ids:
        # Bulk deletes pass the session hooks by: the name index must still drop them.
        bump_name_revisions(session, [Kind.MEASURE])
    record.undone_at = now
    session.flush()
    for start in range(0, len(audit_rows), _CHUNK):
        session.execute(insert(_AUDIT), audit_rows[start : start + _CHUNK])
    return Reply.text(
        t(
            lang,
            "plan_import.undone",
            file=record.file_name,
            date=when,
            deleted=len(created_ids),
            restored=restored,
        )
    )
