"""Reference resolution: ids, exact names and fuzzy fragments, indexed then ranked by rapidfuzz.

Scoring every name with rapidfuzz is too slow at 100k measures, so each kind keeps an
in-memory index of the words in its names. A fragment first selects the names containing a
word that contains the fragment (or, for typos, a word close to it), and only those are
ranked. The index refreshes itself incrementally from the database: new rows are loaded by
id, and renames bump a per-kind revision (see `bump_name_revisions`) that forces a rebuild.
"""

from __future__ import annotations

import enum
import re
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import ScalarSelect, Select, event, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import (
    Department,
    DepartmentAlias,
    Goal,
    Measure,
    Meeting,
    NameRevision,
    Person,
    PlanningArea,
)


class Kind(enum.StrEnum):
    MEASURE = "measure"
    GOAL = "goal"
    DEPARTMENT = "department"
    PERSON = "person"
    AREA = "area"
    MEETING = "meeting"


ID_PREFIXES = {"M": Kind.MEASURE, "Z": Kind.GOAL, "G": Kind.GOAL, "S": Kind.MEETING}
_ID_PATTERN = re.compile(r"^([MZGS])-?(\d+)$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
# Every byte but [a-z0-9] separates words (the fast path of `normalize`, for ASCII text).
_SEPARATE = bytes(
    c if chr(c).isascii() and chr(c).isalnum() and not chr(c).isupper() else 32 for c in range(256)
)

# Order in which kinds win a tie: the few, named things before the many measures.
_KIND_ORDER = [Kind.DEPARTMENT, Kind.PERSON, Kind.AREA, Kind.GOAL, Kind.MEETING, Kind.MEASURE]


def normalize(text: str) -> str:
    """Case- and umlaut-folded text, so `sprachfoerd` finds `Sprachförderung`."""
    folded = text.casefold()
    if not folded.isascii():
        # Chained replaces are several times faster than str.translate with a dict.
        folded = (
            folded.replace("ä", "ae")
            .replace("ö", "oe")
            .replace("ü", "ue")
            .replace("ß", "ss")
            .replace("é", "e")
            .replace("è", "e")
        )
        if not folded.isascii():
            return " ".join(_WORD.findall(folded))
    # The words of _WORD, found with a byte table about three times as fast (this builds
    # the index: 100k names at start-up and after every rename).
    return " ".join(folded.encode().translate(_SEPARATE).decode().split())


@dataclass(frozen=True)
class Match:
    kind: Kind
    id: int
    label: str
    score: float = 100.0

    @property
    def ref(self) -> str:
        prefix = {Kind.MEASURE: "M-", Kind.GOAL: "Z-", Kind.MEETING: "S-"}.get(self.kind)
        return f"{prefix}{self.id}" if prefix else self.label


@dataclass
class Resolution:
    """The outcome of resolving a reference: one match, or candidates to choose from."""

    match: Match | None = None
    candidates: list[Match] = field(default_factory=list)
    ambiguous: bool = False
    more: int = 0


@dataclass
class _KindIndex:
    max_id: int = 0
    revision: int = -1
    # Every searchable name of an entity (a department has its key, name and aliases),
    # normalized and joined by " | ": the text rapidfuzz ranks.
    texts: dict[int, str] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    exact: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    words: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, entity_id: int, label: str, names: Iterable[str]) -> None:
        self.labels[entity_id] = label
        normalized = [normalize(n) for n in names if n]
        self.texts[entity_id] = " | ".join(normalized)
        exact, words = self.exact, self.words
        for name in normalized:
            exact[name].add(entity_id)
            for word in name.split():
                words[word].add(entity_id)


_ID_COLUMNS: dict[Kind, InstrumentedAttribute[int]] = {
    Kind.MEASURE: Measure.id,
    Kind.GOAL: Goal.id,
    Kind.DEPARTMENT: Department.id,
    Kind.PERSON: Person.id,
    Kind.AREA: PlanningArea.id,
    Kind.MEETING: Meeting.id,
}


class NameLookup:
    """Resolves references for one database; safe to share between threads."""

    def __init__(self, *, limit: int = 5) -> None:
        self.limit = limit
        self._indexes: dict[Kind, _KindIndex] = {}
        self._probes: dict[tuple[Kind, ...], Select[Any]] = {}
        self._lock = threading.Lock()

    # -- public -------------------------------------------------------------------------

    def resolve(self, session: Session, text: str, kinds: Collection[Kind]) -> Resolution:
        """Resolve `text` as one of `kinds`: by id, exact name, or a fuzzy fragment."""
        text = text.strip()
        by_id = self._resolve_id(session, text, kinds)
        if by_id is not None:
            return by_id
        query = normalize(text)
        if not query:
            return Resolution()
        ordered = [k for k in _KIND_ORDER if k in kinds]
        indexes = self._fresh(session, ordered)

        exact = [
            Match(kind, entity_id, indexes[kind].labels[entity_id])
            for kind in ordered
            for entity_id in sorted(indexes[kind].exact.get(query, ()))
        ]
        if len(exact) == 1:
            return Resolution(match=exact[0])
        if len(exact) > 1:
            return Resolution(
                candidates=exact[: self.limit], ambiguous=True, more=max(0, len(exact) - self.limit)
            )

        ranked: list[Match] = []
        for kind in ordered:
            ranked.extend(self._rank(indexes[kind], kind, query))
        ranked.sort(key=lambda m: (-m.score, _KIND_ORDER.index(m.kind), m.id))
        strong = [m for m in ranked if m.score >= 60]
        if len(strong) == 1 or (
            len(strong) > 1 and strong[0].score >= 90 and strong[0].score - strong[1].score >= 15
        ):
            return Resolution(match=strong[0])
        if len(strong) > 1:
            return Resolution(
                candidates=strong[: self.limit],
                ambiguous=True,
                more=max(0, len(strong) - self.limit),
            )
        return Resolution(candidates=self._suggest(indexes, ordered, query))

    def label(self, session: Session, kind: Kind, entity_id: int) -> str | None:
        return self._index(session, kind).labels.get(entity_id)

    # -- internals ----------------------------------------------------------------------

    def _resolve_id(
        self, session: Session, text: str, kinds: Collection[Kind]
    ) -> Resolution | None:
        found = _ID_PATTERN.match(text.replace(" ", ""))
        if not found:
            return None
        kind = ID_PREFIXES[found.group(1).upper()]
        if kind not in kinds:
            return None
        entity_id = int(found.group(2))
        label = self._index(session, kind).labels.get(entity_id)
        if label is None:
            return Resolution()
        return Resolution(match=Match(kind, entity_id, label))

    def _rank(self, index: _KindIndex, kind: Kind, query: str) -> list[Match]:
        query_words = query.split()
        selected: set[int] | None = None
        for query_word in query_words:
            hits: set[int] = set()
            matching_words = [w for w in index.words if query_word in w]
            if not matching_words and len(query_word) >= 4:
                # A typo: words close to the fragment, ranked by rapidfuzz over the vocabulary.
                # Only words at least about as long as the fragment: partial_ratio would
                # otherwise find "sp" (a key) or "sprache" inside "sprachfoerd".
                vocabulary = [w for w in index.words if len(w) >= len(query_word) - 1]
                matching_words = [
                    w
                    for w, _score, _i in process.extract(
                        query_word,
                        vocabulary,
                        scorer=fuzz.partial_ratio,
                        score_cutoff=80,
                        limit=20,
                    )
                ]
            for word in matching_words:
                hits |= index.words[word]
            selected = hits if selected is None else selected & hits
        if not selected:
            return []
        # Each distinct text is scored once: plans repeat titles (the same measure in several
        # Stadtteile), and WRatio is most of the cost of a broad fragment.
        texts = index.texts
        groups: defaultdict[str, list[int]] = defaultdict(list)
        for entity_id in selected:
            groups[texts[entity_id]].append(entity_id)
        limit = max(50, self.limit * 4)
        results = process.extract(
            query, list(groups), scorer=fuzz.WRatio, processor=None, limit=limit
        )
        scored = sorted(
            ((score, entity_id) for text, score, _i in results for entity_id in groups[text]),
            key=lambda pair: (-pair[0], pair[1]),
        )[:limit]
        labels = index.labels
        matches = [Match(kind, entity_id, labels[entity_id], score) for score, entity_id in scored]
        # Every selected name contains all query words, so none is below a plain hit.
        return [m if m.score >= 60 else Match(m.kind, m.id, m.label, 60.0) for m in matches]

    def _suggest(
        self, indexes: dict[Kind, _KindIndex], ordered: list[Kind], query: str
    ) -> list[Match]:
        suggestions: list[Match] = []
        for kind in ordered:
            index = indexes[kind]
            close_words = process.extract(
                query.split()[0] if query else query,
                list(index.words),
                scorer=fuzz.ratio,
                score_cutoff=60,
                limit=5,
            )
            ids: set[int] = set()
            for word, _score, _i in close_words:
                ids |= index.words[word]
            if not ids:
                continue
            choices = {i: index.texts[i] for i in ids}
            for _name, score, entity_id in process.extract(
                query, choices, scorer=fuzz.WRatio, limit=self.limit
            ):
                suggestions.append(Match(kind, entity_id, index.labels[entity_id], score))
        suggestions.sort(key=lambda m: -m.score)
        return suggestions[: self.limit]

    def _index(self, session: Session, kind: Kind) -> _KindIndex:
        return self._fresh(session, (kind,))[kind]

    def _fresh(self, session: Session, kinds: Sequence[Kind]) -> dict[Kind, _KindIndex]:
        """The indexes of `kinds`, brought up to date with the database. One statement asks
        for every kind's highest id and name revision (one round trip, not two per kind)."""
        key = tuple(kinds)
        probe = self._probes.get(key)
        if probe is None:
            columns: list[ScalarSelect[Any]] = []
            for kind in key:
                columns.append(select(func.max(_ID_COLUMNS[kind])).scalar_subquery())
                columns.append(
                    select(NameRevision.revision)
                    .where(NameRevision.kind == kind.value)
                    .scalar_subquery()
                )
            probe = self._probes[key] = select(*columns)
        row = session.execute(probe).one()
        fresh: dict[Kind, _KindIndex] = {}
        with self._lock:
            for n, kind in enumerate(key):
                max_id: int = row[2 * n] or 0
                revision: int = row[2 * n + 1] or 0
                index = self._indexes.get(kind)
                if index is None or index.revision != revision or max_id < index.max_id:
                    index = _KindIndex(revision=revision)
                    self._indexes[kind] = index
                if max_id > index.max_id:
                    _load(session, kind, index, after_id=index.max_id)
                    index.max_id = max_id
                fresh[kind] = index
        return fresh


def _load(session: Session, kind: Kind, index: _KindIndex, *, after_id: int) -> None:
    # Core rows from the session's connection: the ORM's row processing would double the
    # time of a cold build at 100k names.
    connection = session.connection()
    if kind in _TITLED:
        model, prefix = _TITLED[kind]
        for entity_id, title in connection.execute(
            select(model.id, model.title).where(model.id > after_id)
        ).all():
            index.add(entity_id, f"{prefix}{entity_id} {title}", (title,))
    elif kind is Kind.PERSON:
        for person_id, name in connection.execute(
            select(Person.id, Person.name).where(Person.id > after_id)
        ):
            index.add(person_id, name, (name,))
    elif kind is Kind.AREA:
        for area_id, name in connection.execute(
            select(PlanningArea.id, PlanningArea.name).where(PlanningArea.id > after_id)
        ):
            index.add(area_id, name, (name,))
    else:
        aliases: dict[int, list[str]] = {}
        for department_id, alias in connection.execute(
            select(DepartmentAlias.department_id, DepartmentAlias.alias).where(
                DepartmentAlias.department_id > after_id
            )
        ):
            aliases.setdefault(department_id, []).append(alias)
        for department_id, key, name in connection.execute(
            select(Department.id, Department.key, Department.name).where(Department.id > after_id)
        ):
            index.add(
                department_id, f"{name} ({key})", [key, name, *aliases.get(department_id, [])]
            )


_TITLED: dict[Kind, tuple[type[Measure] | type[Goal] | type[Meeting], str]] = {
    Kind.MEASURE: (Measure, "M-"),
    Kind.GOAL: (Goal, "Z-"),
    Kind.MEETING: (Meeting, "S-"),
}


_RENAME_ATTRIBUTES: dict[type, tuple[Kind, str]] = {
    Measure: (Kind.MEASURE, "title"),
    Goal: (Kind.GOAL, "title"),
    Meeting: (Kind.MEETING, "title"),
    Person: (Kind.PERSON, "name"),
    PlanningArea: (Kind.AREA, "name"),
    Department: (Kind.DEPARTMENT, "name"),
}


def bump_name_revisions(session: Session, kinds: Iterable[Kind]) -> None:
    """Tell every process's lookup cache that names of these kinds changed."""
    for kind in set(kinds):
        row = session.get(NameRevision, kind.value)
        if row is None:
            session.add(NameRevision(kind=kind.value, revision=1))
        else:
            row.revision += 1


def _before_flush(session: Session, _context: object, _instances: object) -> None:
    changed: set[Kind] = set()
    for obj in list(session.dirty) + list(session.deleted):
        entry = _RENAME_ATTRIBUTES.get(type(obj))
        if entry is not None:
            from sqlalchemy import inspect

            state = inspect(obj)
            if obj in session.deleted or state.attrs[entry[1]].history.has_changes():
                changed.add(entry[0])
        if isinstance(obj, DepartmentAlias):
            changed.add(Kind.DEPARTMENT)
    for obj in session.new:
        # A new alias of an existing department does not raise the department's max id.
        if isinstance(obj, DepartmentAlias):
            changed.add(Kind.DEPARTMENT)
    if changed:
        bump_name_revisions(session, changed)


def install_revision_hooks() -> None:
    """Keep lookup caches honest: renames and deletions bump the kind's revision."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
