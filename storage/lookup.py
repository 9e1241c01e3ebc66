"""Reference resolution: ids, exact names and fuzzy fragments, indexed then ranked by rapidfuzz.

The rules (PRODUCT.md §2) live here and nowhere else: id-shaped input — a letter, a dash,
digits, after look-alikes from phones and copy-paste are normalised — is that id or nothing;
fuzzy matching needs a fragment of at least three letters; a write on a fragment needs it to
occur in the name of exactly one candidate, otherwise the caller gets the candidates to ask.

Scoring every name with rapidfuzz is too slow at 100k measures, so each kind keeps an
in-memory index of the words in its names. A fragment first selects the names containing a
word that contains the fragment (or, for typos, a word close to it), and only those are
ranked. Id-shaped input never uses the index: it is one primary-key query, so a row that
committed after one with a higher id is found all the same.

The index follows the database through a change marker. Every insert, rename or delete of a
name bumps its kind's revision in `name_revisions` and records the ids it touched in
`name_changes`, in the same transaction (`install_revision_hooks`). The bump's row lock makes
a kind's revisions commit in order, so each resolve's single probe query (every kind's
revision and highest id) tells whether an index is behind; the ids of the missed revisions
are then reloaded. A kind-wide change, or a cache too far behind, rebuilds. Updates and
rebuilds happen outside the lock on a copy, which is swapped in: threads keep resolving on
the index they have, and one that needs the new one waits for the thread building it.
Highest ids still catch rows inserted without the hooks (bulk Core inserts, as bench/ does).
"""

from __future__ import annotations

import enum
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    bindparam,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction, UOWTransaction
from sqlalchemy.sql.dml import ReturningInsert

from storage.models import (
    Department,
    DepartmentAlias,
    FieldOfAction,
    Goal,
    Indicator,
    Measure,
    Meeting,
    NameChange,
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


# A measure by the number of the imported plan (`nr:3.1`, `Nr:3.1`), PRODUCT.md §2/§4.
_PLAN_NUMBER = re.compile(r"nr:\s*(\S+)", re.IGNORECASE)


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
    exact: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    words: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    # A published index is never changed again: other threads read it without the lock.
    # A change is made to a copy, `derive()`, that shares what it can with the original:
    # its texts, labels, refs and exact names are `_Layer`s of changes over the original's
    # dicts, its words a copy whose id sets are shared until changed; these are the keys
    # whose sets the copy has made its own.
    own_exact: set[str] = field(default_factory=set, repr=False)
    own_words: set[str] = field(default_factory=set, repr=False)

    def add(self, entity_id: int, label: str, names: Iterable[str], ref: str) -> None:
        """Add a new entity while building (nothing shares this index's dicts yet)."""
        self.labels[entity_id] = label
        self.refs[entity_id] = ref
        normalized = [normalize(n) for n in names if n]
        self.texts[entity_id] = " | ".join(normalized)
        exact, words = self.exact, self.words
        for name in normalized:
            exact[name].add(entity_id)
            for word in name.split():
                words[word].add(entity_id)

    @property
    def size(self) -> int:
        """About how many entities (a layer's removals are not subtracted)."""
        texts = self.texts
        return len(texts.base) if isinstance(texts, _Layer) else len(texts)

    def derive(self) -> _KindIndex:
        """A copy to change with `put` and `drop`, cheap to make: layers over this index's
        dicts (merged into new dicts once the layers have grown), the vocabulary copied."""
        compact = isinstance(self.texts, _Layer) and (
            len(self.texts) + len(self.exact) > _LAYER_AT_MOST
        )
        over = _merged if compact else _Layer.over
        return _KindIndex(
            max_id=self.max_id,
            revision=self.revision,
            texts=over(self.texts),
            labels=over(self.labels),
            refs=over(self.refs),
            exact=over(self.exact),
            words=self.words.copy(),
        )

    def put(self, entity_id: int, label: str, names: Iterable[str], ref: str) -> None:
        """Add or replace an entity in a derived index."""
        self.drop(entity_id)
        normalized = [normalize(n) for n in names if n]
        self.labels[entity_id] = label
        self.refs[entity_id] = ref
        self.texts[entity_id] = " | ".join(normalized)
        for name in normalized:
            _own_set(self.exact, self.own_exact, name).add(entity_id)
            for word in name.split():
                _own_set(self.words, self.own_words, word).add(entity_id)

    def drop(self, entity_id: int) -> None:
        """Remove an entity from a derived index (if it is there)."""
        text = self.texts.get(entity_id)
        if text is None:
            return
        for name in text.split(" | "):
            _discard(self.exact, self.own_exact, name, entity_id, keep_empty=True)
            for word in name.split():
                _discard(self.words, self.own_words, word, entity_id)
        for entries in (self.texts, self.labels, self.refs):
            if isinstance(entries, _Layer):
                dict.__setitem__(entries, entity_id, None)
            else:
                entries.pop(entity_id, None)


class _Layer(dict[Any, Any]):
    """Changes to a dict that is shared, not copied (the index this one was derived from):
    a key here wins over the base, and the value None says it was removed. `len` and
    iteration see the changes only: the dicts layered are only ever looked up by key."""

    __slots__ = ("base",)

    def __init__(self, base: dict[Any, Any], changes: dict[Any, Any] | None = None) -> None:
        super().__init__(changes or {})
        self.base = base

    @classmethod
    def over(cls, entries: dict[Any, Any]) -> _Layer:
        """An empty layer over `entries`, or a copy of its changes if it is a layer."""
        if isinstance(entries, _Layer):
            return cls(entries.base, entries)
        return cls(entries)

    def __missing__(self, key: Any) -> Any:
        return self.base[key]

    def get(self, key: Any, default: Any = None) -> Any:
        value = dict.get(self, key, _ABSENT)
        if value is _ABSENT:
            return self.base.get(key, default)
        return default if value is None else value


_ABSENT = object()
# A derived index's layers are merged into new dicts when they hold more changes than this.
_LAYER_AT_MOST = 2000


def _merged(entries: dict[Any, Any]) -> dict[Any, Any]:
    """A layer and its base as one new dict (removed keys and empty id sets left out)."""
    if not isinstance(entries, _Layer):
        return entries.copy()
    merged = entries.base.copy()
    for key, value in dict.items(entries):
        if value is None or value == set():
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _own_set(sets: dict[str, set[int]], own: set[str], key: str) -> set[int]:
    """The id set of `key`, copied first if the index it was derived from has it too."""
    ids = sets.get(key)
    if ids is None:
        ids = sets[key] = set()
        own.add(key)
    elif key not in own:
        ids = sets[key] = set(ids)
        own.add(key)
    return ids


def _discard(
    sets: dict[str, set[int]], own: set[str], key: str, entity_id: int, *, keep_empty: bool = False
) -> None:
    ids = sets.get(key)
    if ids is None or entity_id not in ids:
        return
    if len(ids) == 1 and not keep_empty:
        del sets[key]  # no empty words in the vocabulary that typos are matched against
        own.discard(key)
        return
    _own_set(sets, own, key).discard(entity_id)


@dataclass
class _Build:
    """An index update in progress: threads that need no more than `target` wait for it."""

    target: tuple[int, int]
    done: threading.Event = field(default_factory=threading.Event)


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


# The name of an id-shaped reference, by primary key (never from the index).
_ID_NAMES: dict[Kind, Select[tuple[str]]] = {
    Kind.MEASURE: select(Measure.title).where(Measure.id == bindparam("id")),
    Kind.GOAL: select(Goal.title).where(Goal.id == bindparam("id")),
    Kind.MEETING: select(Meeting.title).where(Meeting.id == bindparam("id")),
    Kind.INDICATOR: select(Indicator.name).where(Indicator.id == bindparam("id")),
}
# Ids are 32-bit integers in the schema; a longer number is no id we have (and PostgreSQL
# would refuse to compare it).
_MAX_ID = 2**31 - 1
# A change of more names than this (and of more than a twentieth of the kind) rebuilds the
# kind's index instead of reloading the names one by one.
_RELOAD_AT_MOST = 1000


class NameLookup:
    """Resolves references for one database; safe to share between threads."""

    def __init__(self, *, limit: int = 5) -> None:
        self.limit = limit
        # Published indexes, replaced whole (under the lock) and never changed in place.
        self._indexes: dict[Kind, _KindIndex] = {}
        self._building: dict[Kind, _Build] = {}
        self._probes: dict[tuple[Kind, ...], Select[Any]] = {}
        # Held only to read or swap `_indexes` and `_building`, never while building.
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
        by_number = self._resolve_plan_number(session, text, kinds)
        if by_number is not None:
            return by_number
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

    def _resolve_plan_number(
        self, session: Session, text: str, kinds: Collection[Kind]
    ) -> Resolution | None:
        """`nr:3.1`: the measure with that number of the imported plan, or none."""
        found = _PLAN_NUMBER.fullmatch(text)
        if found is None:
            return None
        row = session.execute(
            select(Measure.id, Measure.title).where(Measure.plan_number == found.group(1))
        ).first()
        if Kind.MEASURE not in kinds:
            return Resolution(wrong_kind=Kind.MEASURE, wrong_kind_exists=row is not None)
        if row is None:
            return Resolution(missing_id=True)
        return Resolution(match=Match(Kind.MEASURE, row.id, f"M-{row.id} {row.title}", how=How.ID))

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
        name = (
            session.execute(_ID_NAMES[kind], {"id": entity_id}).scalar()
            if 0 < entity_id <= _MAX_ID
            else None
        )
        label = None if name is None else f"{letter}-{entity_id} {name}"
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
        own: set[Kind] = session.info.get(_CHANGED_HERE, set())
        fresh: dict[Kind, _KindIndex] = {}
        for n, kind in enumerate(key):
            target = (row[2 * n + 1] or 0, row[2 * n] or 0)
            index = self._indexes.get(kind)  # a dict read: atomic, no lock needed
            if index is not None and (index.revision, index.max_id) >= target:
                fresh[kind] = index  # up to date (or newer than this snapshot)
            elif kind in own:
                fresh[kind] = self._private(session, kind, index, target)
            else:
                fresh[kind] = self._brought_up(session, kind, target)
        return fresh

    def _brought_up(self, session: Session, kind: Kind, target: tuple[int, int]) -> _KindIndex:
        """The kind's index at `target` (revision, highest id) or newer: built or updated by
        this thread outside the lock and published, or the one another thread is making."""
        while True:
            with self._lock:
                index = self._indexes.get(kind)
                if index is not None and (index.revision, index.max_id) >= target:
                    return index
                building = self._building.get(kind)
                if building is None or building.target < target:
                    mine = self._building[kind] = _Build(target)
                    break
            building.done.wait()  # then look again: it is published, or it failed
        try:
            new = _updated(session, kind, index, *target)
            with self._lock:
                current = self._indexes.get(kind)
                if current is None or (current.revision, current.max_id) < target:
                    self._indexes[kind] = new
        finally:
            with self._lock:
                if self._building.get(kind) is mine:
                    del self._building[kind]
            mine.done.set()
        return new

    def _private(
        self, session: Session, kind: Kind, index: _KindIndex | None, target: tuple[int, int]
    ) -> _KindIndex:
        """The index as this session's own uncommitted name changes make it: kept with the
        session, never published (a rollback would leave every other message wrong)."""
        private: dict[Kind, _KindIndex] = session.info.setdefault(_PRIVATE_INDEXES, {})
        mine = private.get(kind)
        if mine is None or (mine.revision, mine.max_id) != target:
            mine = private[kind] = _updated(session, kind, index, *target)
        return mine


def _updated(
    session: Session, kind: Kind, index: _KindIndex | None, revision: int, max_id: int
) -> _KindIndex:
    """`index` brought to `revision` and `max_id`: a changed copy, or a new build."""
    if index is None or revision < index.revision:
        return _built(session, kind, revision, max_id)
    new: _KindIndex | None = None
    if revision > index.revision:
        changed = _changed_ids(session, kind, index.revision, revision)
        if changed is None or len(changed) > max(_RELOAD_AT_MOST, index.size // 20):
            return _built(session, kind, revision, max_id)
        new = index.derive()
        for entity_id in changed:
            new.drop(entity_id)
        ordered = sorted(changed)
        for at in range(0, len(ordered), 500):
            _load(session, kind, new.put, ids=ordered[at : at + 500])
    if max_id > index.max_id:
        # Rows inserted without the hooks (bulk Core inserts): by id, as they come.
        new = new or index.derive()
        _load(session, kind, new.put, after_id=index.max_id)
    new = new or index.derive()
    new.revision, new.max_id = revision, max_id
    return new


def _built(session: Session, kind: Kind, revision: int, max_id: int) -> _KindIndex:
    index = _KindIndex(max_id=max_id, revision=revision)
    _load(session, kind, index.add)
    return index


def _changed_ids(session: Session, kind: Kind, after: int, upto: int) -> set[int] | None:
    """The ids the revisions after `after` up to `upto` changed; None: rebuild (the whole
    kind changed, too much changed, or the log of those revisions is pruned)."""
    rows = (
        session.connection()
        .execute(
            select(NameChange.revision, NameChange.entity_id)
            .where(
                NameChange.kind == kind.value,
                NameChange.revision > after,
                NameChange.revision <= upto,
            )
            .limit(_RELOAD_AT_MOST * 10 + 1)
        )
        .all()
    )
    if len(rows) > _RELOAD_AT_MOST * 10 or len({r for r, _e in rows}) != upto - after:
        return None
    ids = {entity_id for _r, entity_id in rows}
    return None if 0 in ids else ids


_Add = Callable[[int, str, Iterable[str], str], None]


def _load(
    session: Session,
    kind: Kind,
    add: _Add,
    *,
    after_id: int = 0,
    ids: Sequence[int] | None = None,
) -> None:
    """Pass every name of `kind` to `add`: those with an id above `after_id`, or in `ids`."""
    # Core rows from the session's connection: the ORM's row processing would double the
    # time of a cold build at 100k names.
    connection = session.connection()

    def chosen(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        return column > after_id if ids is None else column.in_(ids)

    if kind in _TITLED:
        model, prefix = _TITLED[kind]
        for entity_id, title in connection.execute(
            select(model.id, model.title).where(chosen(model.id))
        ).all():
            ref = f"{prefix}{entity_id}"
            add(entity_id, f"{ref} {title}", (title,), ref)
    elif kind is Kind.INDICATOR:
        for entity_id, name in connection.execute(
            select(Indicator.id, Indicator.name).where(chosen(Indicator.id))
        ).all():
            add(entity_id, f"K-{entity_id} {name}", (name,), f"K-{entity_id}")
    elif kind is Kind.PERSON:
        # Namesakes are allowed (PRODUCT.md §2): a person is listed as `Name (JA)`.
        for person_id, name, key in connection.execute(
            select(Person.id, Person.name, Department.key)
            .outerjoin(Department, Person.department_id == Department.id)
            .where(chosen(Person.id))
        ):
            add(person_id, f"{name} ({key})" if key else name, (name,), _quoted(name))
    elif kind is Kind.AREA:
        for area_id, name in connection.execute(
            select(PlanningArea.id, PlanningArea.name).where(chosen(PlanningArea.id))
        ):
            add(area_id, name, (name,), _quoted(name))
    elif kind in _CATALOGS:
        # Retired entries are no longer offered (PRODUCT.md §1); handlers/catalogs.py
        # names them when asked for by their exact name.
        catalog = _CATALOGS[kind]
        for entity_id, name in connection.execute(
            select(catalog.id, catalog.name).where(chosen(catalog.id), catalog.retired_at.is_(None))
        ):
            add(entity_id, name, (name,), _quoted(name))
    else:
        aliases: dict[int, list[str]] = {}
        for department_id, alias in connection.execute(
            select(DepartmentAlias.department_id, DepartmentAlias.alias).where(
                chosen(DepartmentAlias.department_id)
            )
        ):
            aliases.setdefault(department_id, []).append(alias)
        for department_id, key, name in connection.execute(
            select(Department.id, Department.key, Department.name).where(chosen(Department.id))
        ):
            add(
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


# The attributes that make up an entity's names and label: a change reloads it.
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
# Keys of Session.info: the kinds whose names this transaction changed (its lookups use
# private indexes for those), and those private indexes.
_CHANGED_HERE = "regelkreis_names_changed"
_PRIVATE_INDEXES = "regelkreis_private_indexes"
# The log keeps this many revisions of a kind, pruned every _PRUNE_EVERY revisions.
_KEEP_REVISIONS = 1000
_PRUNE_EVERY = 100
_WHOLE_KIND = 0


def bump_name_revisions(session: Session, kinds: Iterable[Kind]) -> None:
    """Tell every process's lookup cache that names of these kinds changed (all of them:
    each cache rebuilds those kinds)."""
    _record_changes(session, {kind: {_WHOLE_KIND} for kind in kinds})


def _bump(connection: Connection) -> ReturningInsert[tuple[int]]:
    """Raise a kind's revision by one (the row's first bump creates it) and return it. An
    atomic upsert: the row stays locked until commit, so the revisions of a kind are given
    and committed in order, with no gaps and no two transactions on the same number."""
    statement = _BUMPS.get(connection.dialect.name)
    if statement is None:
        values = {"kind": bindparam("kind"), "revision": 1}
        again = {"revision": NameRevision.revision + 1}
        if connection.dialect.name == "postgresql":
            upsert = postgresql.insert(NameRevision).values(values)
            statement = upsert.on_conflict_do_update(
                index_elements=[NameRevision.kind], set_=again
            ).returning(NameRevision.revision)
        else:
            lite = sqlite.insert(NameRevision).values(values)
            statement = lite.on_conflict_do_update(
                index_elements=[NameRevision.kind], set_=again
            ).returning(NameRevision.revision)
        _BUMPS[connection.dialect.name] = statement
    return statement


_BUMPS: dict[str, ReturningInsert[tuple[int]]] = {}


def _record_changes(session: Session, changed: Mapping[Kind, set[int]]) -> None:
    connection = session.connection()
    bump = _bump(connection)
    # Kinds in one order everywhere: two transactions never wait for each other's rows.
    for kind in sorted(changed, key=lambda k: k.value):
        ids = {_WHOLE_KIND} if _WHOLE_KIND in changed[kind] else changed[kind]
        revision = connection.execute(bump, {"kind": kind.value}).scalar_one()
        connection.execute(
            insert(NameChange),
            [{"kind": kind.value, "revision": revision, "entity_id": i} for i in sorted(ids)],
        )
        if revision % _PRUNE_EVERY == 0:
            connection.execute(
                delete(NameChange).where(
                    NameChange.kind == kind.value,
                    NameChange.revision <= revision - _KEEP_REVISIONS,
                )
            )
    session.info.setdefault(_CHANGED_HERE, set()).update(changed)
    session.info.pop(_PRIVATE_INDEXES, None)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    """Record the names this flush inserted, changed or deleted (new rows have ids now;
    `new`, `dirty`, `deleted` and the attribute history are still those of the flush)."""
    changed: defaultdict[Kind, set[int]] = defaultdict(set)
    deleted = session.deleted
    for obj in session.new:
        entry = _RENAME_ATTRIBUTES.get(type(obj))
        if entry is not None:
            changed[entry[0]].add(obj.id)
        elif isinstance(obj, DepartmentAlias):
            changed[Kind.DEPARTMENT].add(obj.department_id or _WHOLE_KIND)
    for obj in session.dirty:
        entry = _RENAME_ATTRIBUTES.get(type(obj))
        if entry is not None:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in entry[1]):
                changed[entry[0]].add(obj.id)
                if entry[0] is Kind.DEPARTMENT:
                    # People are listed with their department's key.
                    changed[Kind.PERSON].add(_WHOLE_KIND)
        elif isinstance(obj, DepartmentAlias) and inspect(obj).modified:
            changed[Kind.DEPARTMENT].add(_WHOLE_KIND)  # perhaps moved between departments
    for obj in deleted:
        entry = _RENAME_ATTRIBUTES.get(type(obj))
        if entry is not None:
            changed[entry[0]].add(obj.id)
            if entry[0] is Kind.DEPARTMENT:
                changed[Kind.PERSON].add(_WHOLE_KIND)
        elif isinstance(obj, DepartmentAlias):
            changed[Kind.DEPARTMENT].add(obj.department_id or _WHOLE_KIND)
    if changed:
        _record_changes(session, changed)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # committed or rolled back: nothing is private any more
        session.info.pop(_CHANGED_HERE, None)
        session.info.pop(_PRIVATE_INDEXES, None)


def install_revision_hooks() -> None:
    """Keep lookup caches honest: inserts, renames and deletions of names bump their kind's
    revision and record what changed, in the same transaction."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
    if not event.contains(Session, "after_transaction_end", _after_transaction_end):
        event.listen(Session, "after_transaction_end", _after_transaction_end)
