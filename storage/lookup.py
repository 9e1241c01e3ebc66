"""Reference resolution: ids, exact names and fuzzy fragments, indexed then ranked by rapidfuzz.

The rules (PRODUCT.md §2) live here and nowhere else: id-shaped input — a letter, a dash,
digits, after look-alikes from phones and copy-paste are normalised — is that id or nothing;
fuzzy matching needs a fragment of at least three letters; a write on a fragment needs it to
occur in the name of exactly one candidate, otherwise the caller gets the candidates to ask.

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
import unicodedata
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import ScalarSelect, Select, event, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.models import (
    Department,
    DepartmentAlias,
    FieldOfAction,
    Goal,
    Indicator,
    Measure,
    Meeting,
    NameRevision,
    Person,
    PlanningArea,
    Trend,
)


class Kind(enum.StrEnum):
    MEASURE = "measure"
    GOAL = "goal"
    DEPARTMENT = "department"
    PERSON = "person"
    AREA = "area"
    MEETING = "meeting"
    INDICATOR = "indicator"
    FIELD = "field_of_action"  # the catalogs of PRODUCT.md §1
    TREND = "trend"


# The letters of our ids; any other letter-dash-number is an id we do not have.
ID_PREFIXES = {"M": Kind.MEASURE, "Z": Kind.GOAL, "S": Kind.MEETING, "K": Kind.INDICATOR}
ID_LETTERS = {kind: letter for letter, kind in ID_PREFIXES.items()}
_ID_SHAPE = re.compile(r"^([A-Za-z])\s*-\s*(\d+)$")
# Dashes and minus signs that phones, word processors and copy-paste put where "-" was meant
# (NFKC has already turned the full-width and small forms into "-").
_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u02d7\u2796\u30fc"), "-"
)
# Invisible characters that copy-paste carries along: zero-width spaces and joiners, the word
# joiner, the byte-order mark, the soft hyphen.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
# Greek and Cyrillic letters that look like the Latin letters of an id. Only applied to input
# that has the shape of an id, so Greek or Cyrillic names stay as they are.
_GREEK = ("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαεικμνορτυχ", "ABEZHIKMNOPTYXaeikmnoptux")
_CYRILLIC = ("АВЕКМНОРСТХЅІЈасеікморхѕјԛԜ", "ABEKMHOPCTXSIJaceikmopxsjqW")
_LOOK_ALIKES = str.maketrans(_GREEK[0] + _CYRILLIC[0], _GREEK[1] + _CYRILLIC[1])
_WORD = re.compile(r"[a-z0-9]+")
# Every byte but [a-z0-9] separates words (the fast path of `normalize`, for ASCII text).
_SEPARATE = bytes(
    c if chr(c).isascii() and chr(c).isalnum() and not chr(c).isupper() else 32 for c in range(256)
)

# Order in which kinds win a tie: the few, named things before the many measures.
_KIND_ORDER = [
    Kind.DEPARTMENT,
    Kind.PERSON,
    Kind.AREA,
    Kind.GOAL,
    Kind.INDICATOR,
    Kind.MEETING,
    Kind.MEASURE,
    Kind.FIELD,
    Kind.TREND,
]


def clean_reference(text: str) -> str:
    """The reference as meant: compatibility forms folded (full-width `Ｍ－１`), invisible
    characters dropped, every kind of dash a plain `-`."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_DASHES).strip()


def id_shape(text: str) -> tuple[str, int] | None:
    """`M-12`, `m - 12`, `Μ‐12` (Greek Mu, Unicode hyphen) -> ("M", 12); `M12`, `3.1`,
    `A-12a` -> None. Any letter counts here: `A-12` is id-shaped, just not one of ours."""
    found = _ID_SHAPE.match(clean_reference(text).translate(_LOOK_ALIKES))
    if found is None or not found.group(1).isascii():
        return None
    return found.group(1).upper(), int(found.group(2))


def letters(query: str) -> int:
    """How many letters a normalized fragment has: fewer than three never match fuzzily."""
    return sum(1 for char in query if char.isalpha())


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


class How(enum.StrEnum):
    """How a reference was resolved; a fragment or a typo is named in a write's reply."""

    ID = "id"
    EXACT = "exact"
    PIN = "pin"  # a numbered pick: the candidate the sender chose
    FRAGMENT = "fragment"
    FUZZY = "fuzzy"


@dataclass(frozen=True)
class Match:
    kind: Kind
    id: int
    label: str
    score: float = 100.0
    how: How = How.EXACT

    @property
    def ref(self) -> str:
        letter = ID_LETTERS.get(self.kind)
        return f"{letter}-{self.id}" if letter else self.label


@dataclass(frozen=True)
class Pin:
    """A numbered pick's choice, carried with the re-run command: `text` means this entity."""

    text: str
    kind: Kind
    id: int


@dataclass
class Resolution:
    """The outcome of resolving a reference: one match, or candidates to choose from."""

    match: Match | None = None
    candidates: list[Match] = field(default_factory=list)
    ambiguous: bool = False
    more: int = 0
    # Id-shaped input of a kind that was not asked for (`melden Z-1`): what it is instead,
    # and whether that object exists. `unknown_id`: a letter that is none of ours (`A-12`).
    wrong_kind: Kind | None = None
    wrong_kind_exists: bool = False
    unknown_id: bool = False
    # Id-shaped input of the right kind that does not exist: no fuzzy substitute.
    missing_id: bool = False


@dataclass
class _KindIndex:
    max_id: int = 0
    revision: int = -1
    # Every searchable name of an entity (a department has its key, name and aliases),
    # normalized and joined by " | ": the text rapidfuzz ranks.
    texts: dict[int, str] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    # What replaces an ambiguous fragment when this entity is picked from a numbered list.
    refs: dict[int, str] = field(default_factory=dict)
    exact: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    words: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def add(self, entity_id: int, label: str, names: Iterable[str], ref: str) -> None:
        self.labels[entity_id] = label
        self.refs[entity_id] = ref
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
    Kind.INDICATOR: Indicator.id,
    Kind.FIELD: FieldOfAction.id,
    Kind.TREND: Trend.id,
}


class NameLookup:
    """Resolves references for one database; safe to share between threads."""

    def __init__(self, *, limit: int = 5) -> None:
        self.limit = limit
        self._indexes: dict[Kind, _KindIndex] = {}
        self._probes: dict[tuple[Kind, ...], Select[Any]] = {}
        self._lock = threading.Lock()

    # -- public -------------------------------------------------------------------------

    def resolve(
        self,
        session: Session,
        text: str,
        kinds: Collection[Kind],
        *,
        write: bool = False,
        pins: Iterable[Pin] = (),
    ) -> Resolution:
        """Resolve `text` as one of `kinds`: by id, exact name, or a fragment.

        `write`: the caller changes what it gets, so a fragment must occur in exactly one
        name (otherwise the candidates come back as ambiguous); a read may take the single
        clearly closest match. `pins`: choices of a numbered pick, resolved first.
        """
        text = clean_reference(text)
        query = normalize(text)
        for pin in pins:
            if pin.kind in kinds and normalize(pin.text) == query:
                label = self._index(session, pin.kind).labels.get(pin.id)
                if label is not None:
                    return Resolution(match=Match(pin.kind, pin.id, label, how=How.PIN))
        by_id = self._resolve_id(session, text, kinds)
        if by_id is not None:
            return by_id
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
        if letters(query) < 3:
            # Digits, single characters and punctuation never match fuzzily.
            return Resolution()

        ranked: list[Match] = []
        containing: list[Match] = []
        n_containing = 0
        for kind in ordered:
            kind_ranked, kind_containing, kind_count = self._rank(indexes[kind], kind, query)
            ranked.extend(kind_ranked)
            containing.extend(kind_containing)
            n_containing += kind_count
        ranked.sort(key=_best_first)
        containing.sort(key=_best_first)
        if n_containing == 1:
            return Resolution(match=containing[0])
        if write or n_containing:
            # A fragment in several names is asked about, for reads too ("amt" is in every
            # Amt); a write also asks when no name contains it (a typo).
            choices, total = (
                (containing, n_containing)
                if n_containing
                else ([m for m in ranked if m.score >= 60], 0)
            )
            total = total or len(choices)
            if choices:
                return Resolution(
                    candidates=choices[: self.limit],
                    ambiguous=True,
                    more=max(0, total - self.limit),
                )
            return Resolution(candidates=self._suggest(indexes, ordered, query))
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

    def pick_ref(self, session: Session, match: Match) -> str:
        """What stands in the re-run command for a picked candidate (its id, key or name)."""
        return self._index(session, match.kind).refs.get(match.id, match.label)

    def label(self, session: Session, kind: Kind, entity_id: int) -> str | None:
        return self._index(session, kind).labels.get(entity_id)

    # -- internals ----------------------------------------------------------------------

    def _resolve_id(
        self, session: Session, text: str, kinds: Collection[Kind]
    ) -> Resolution | None:
        shape = id_shape(text)
        if shape is None:
            return None
        letter, entity_id = shape
        kind = ID_PREFIXES.get(letter)
        if kind is None:
            return Resolution(unknown_id=True)
        label = self._index(session, kind).labels.get(entity_id)
        if kind not in kinds:
            return Resolution(wrong_kind=kind, wrong_kind_exists=label is not None)
        if label is None:
            return Resolution(missing_id=True)
        return Resolution(match=Match(kind, entity_id, label, how=How.ID))

    def _rank(
        self, index: _KindIndex, kind: Kind, query: str
    ) -> tuple[list[Match], list[Match], int]:
        """The best-scored candidates; the best of those whose name contains `query`, and
        how many contain it."""
        query_words = query.split()
        selected: set[int] | None = None
        for query_word in query_words:
            hits: set[int] = set()
            matching_words = [w for w in index.words if query_word in w]
            if not matching_words and len(query_word) >= 4:
                # A typo: words close to the fragment, ranked by rapidfuzz over the vocabulary.
                # Only words at least about as long as the fragment: partial_ratio would
                # otherwise find "sp" (a key) or "sprache" inside "sprachfoerd".
                # And only words with the same initial: a typo rarely hits the first letter,
                # and "mueller" must not find "keller".
                vocabulary = [
                    w
                    for w in index.words
                    if len(w) >= len(query_word) - 1 and w[0] == query_word[0]
                ]
                # Then at most one edit (two in long words), to the word or its beginning:
                # partial_ratio alone takes "miller" for "mueller".
                edits = 1 if len(query_word) <= 7 else 2
                matching_words = [
                    w
                    for w, _score, _i in process.extract(
                        query_word,
                        vocabulary,
                        scorer=fuzz.partial_ratio,
                        score_cutoff=80,
                        limit=20,
                    )
                    if min(
                        Levenshtein.distance(query_word, w),
                        Levenshtein.distance(query_word, w[: len(query_word)]),
                    )
                    <= edits
                ]
            for word in matching_words:
                hits |= index.words[word]
            selected = hits if selected is None else selected & hits
        if not selected:
            return [], [], 0
        texts = index.texts
        labels = index.labels
        # Each distinct text is scored once: plans repeat titles (the same measure in several
        # Stadtteile), and WRatio is most of the cost of a broad fragment.
        groups: defaultdict[str, list[int]] = defaultdict(list)
        for entity_id in selected:
            groups[texts[entity_id]].append(entity_id)
        # Every name containing all query words is selected, so these are all the names
        # that contain the fragment as typed (checked once per distinct text).
        containing_ids = {
            entity_id for text, ids in groups.items() if query in text for entity_id in ids
        }
        limit = max(50, self.limit * 4)
        results = process.extract(
            query, list(groups), scorer=fuzz.WRatio, processor=None, limit=limit
        )
        scored = sorted(
            ((score, entity_id) for text, score, _i in results for entity_id in groups[text]),
            key=lambda pair: (-pair[0], pair[1]),
        )[:limit]
        # Every selected name contains all query words, so none is below a plain hit.
        matches = [
            Match(kind, entity_id, labels[entity_id], max(60.0, score), How.FUZZY)
            for score, entity_id in scored
        ]
        # The best containing ones: scored first, then the rest by id (as a plain hit).
        best = [(max(60.0, score), i) for score, i in scored if i in containing_ids]
        if len(best) < self.limit:
            seen = {i for _score, i in best}
            rest = sorted(i for i in containing_ids if i not in seen)
            best += [(60.0, i) for i in rest[: self.limit - len(best)]]
        containing = [
            Match(kind, entity_id, labels[entity_id], score, How.FRAGMENT)
            for score, entity_id in best[: self.limit]
        ]
        return matches, containing, len(containing_ids)

    def _suggest(
        self, indexes: dict[Kind, _KindIndex], ordered: list[Kind], query: str
    ) -> list[Match]:
        suggestions: list[Match] = []
        for kind in ordered:
            index = indexes[kind]
            first = query.split()[0]
            close_words = process.extract(
                first,
                [w for w in index.words if w[0] == first[0]],
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
                suggestions.append(
                    Match(kind, entity_id, index.labels[entity_id], score, How.FUZZY)
                )
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
            ref = f"{prefix}{entity_id}"
            index.add(entity_id, f"{ref} {title}", (title,), ref)
    elif kind is Kind.INDICATOR:
        for entity_id, name in connection.execute(
            select(Indicator.id, Indicator.name).where(Indicator.id > after_id)
        ).all():
            index.add(entity_id, f"K-{entity_id} {name}", (name,), f"K-{entity_id}")
    elif kind is Kind.PERSON:
        # Namesakes are allowed (PRODUCT.md §2): a person is listed as `Name (JA)`.
        for person_id, name, key in connection.execute(
            select(Person.id, Person.name, Department.key)
            .outerjoin(Department, Person.department_id == Department.id)
            .where(Person.id > after_id)
        ):
            index.add(person_id, f"{name} ({key})" if key else name, (name,), _quoted(name))
    elif kind is Kind.AREA:
        for area_id, name in connection.execute(
            select(PlanningArea.id, PlanningArea.name).where(PlanningArea.id > after_id)
        ):
            index.add(area_id, name, (name,), _quoted(name))
    elif kind in _CATALOGS:
        # Retired entries are no longer offered (PRODUCT.md §1); handlers/catalogs.py
        # names them when asked for by their exact name.
        catalog = _CATALOGS[kind]
        for entity_id, name in connection.execute(
            select(catalog.id, catalog.name).where(
                catalog.id > after_id, catalog.retired_at.is_(None)
            )
        ):
            index.add(entity_id, name, (name,), _quoted(name))
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
                department_id,
                f"{name} ({key})",
                [key, name, *aliases.get(department_id, [])],
                key,
            )


def _quoted(name: str) -> str:
    """A name as one argument of a re-run command (it may hold spaces)."""
    return f'"{name}"' if '"' not in name else f"„{name}“"


def _best_first(match: Match) -> tuple[float, int, int]:
    return (-match.score, _KIND_ORDER.index(match.kind), match.id)


_CATALOGS: dict[Kind, type[FieldOfAction] | type[Trend]] = {
    Kind.FIELD: FieldOfAction,
    Kind.TREND: Trend,
}

_TITLED: dict[Kind, tuple[type[Measure] | type[Goal] | type[Meeting], str]] = {
    Kind.MEASURE: (Measure, "M-"),
    Kind.GOAL: (Goal, "Z-"),
    Kind.MEETING: (Meeting, "S-"),
}


# The attributes that make up an entity's names and label: a change rebuilds its kind's index.
_RENAME_ATTRIBUTES: dict[type, tuple[Kind, tuple[str, ...]]] = {
    Measure: (Kind.MEASURE, ("title",)),
    Goal: (Kind.GOAL, ("title",)),
    Meeting: (Kind.MEETING, ("title",)),
    Indicator: (Kind.INDICATOR, ("name",)),
    Person: (Kind.PERSON, ("name", "department_id")),
    PlanningArea: (Kind.AREA, ("name",)),
    FieldOfAction: (Kind.FIELD, ("name", "retired_at")),
    Trend: (Kind.TREND, ("name", "retired_at")),
    Department: (Kind.DEPARTMENT, ("name", "key")),
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
            if obj in session.deleted or any(
                state.attrs[name].history.has_changes() for name in entry[1]
            ):
                changed.add(entry[0])
                if entry[0] is Kind.DEPARTMENT:
                    # People are listed with their department's key.
                    changed.add(Kind.PERSON)
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
