"""Questions in plain German and English read as the read command they mean (issue 15).

A message that is no command ("Was ist diese Woche beim Jugendamt fällig?") becomes the
command text it stands for ("fällig 2 JA"), or None. Only read commands come out, so a
sentence can never change anything. Plain word lists and the reference lookup: no model.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.resources import files

from rapidfuzz.distance import Levenshtein
from sqlalchemy.orm import Session

from handlers.dates import DateOutOfRange, take_date
from storage.lookup import Kind, NameLookup, Pin, Resolution, id_shape, normalize

# The read commands a question may become (keys of handlers/registry.py).
READ_KEYS = frozenset(
    {"status", "due", "overdue", "mine", "goals", "goal", "meetings", "agenda", "history", "matrix"}
)
_STATUS_KINDS = (Kind.MEASURE, Kind.GOAL, Kind.DEPARTMENT, Kind.PERSON, Kind.AREA)

# Words, ids (`M-12`) and dates (`31.03.`, `2027-03-31`) of a sentence.
_TOKEN = re.compile(
    r"[A-Za-z]\s?[-\u2010-\u2015\u2212]\s?\d+\b"
    r"|\d{4}-\d{2}-\d{2}"
    r"|\d{1,2}\.\d{1,2}\.(?:\d{2,4})?"
    r"|[^\W_]+(?:-[^\W_]+)*"
)


@dataclass(frozen=True)
class Reading:
    """The command a question means: its key and its arguments as typed."""

    key: str
    args: tuple[str, ...] = ()

    def text(self, name: str) -> str:
        """The command as the sender would type it (`fällig 7 JA`), under `name`."""
        return " ".join((name, *self.args))


class RememberingLookup(NameLookup):
    """The lookup of one question: what the reader resolved, the command it becomes does not
    resolve again (a broad fragment costs milliseconds at 10k measures). It shares the
    indexes of the lookup it is made from; it lives for one message."""

    def __init__(self, base: NameLookup) -> None:
        # No super().__init__(): the base's indexes, lock and statements are shared.
        self.__dict__.update(base.__dict__)
        self._remembered: dict[tuple[str, tuple[Kind, ...], bool, tuple[Pin, ...]], Resolution]
        self._remembered = {}

    def resolve(
        self,
        session: Session,
        text: str,
        kinds: Collection[Kind],
        *,
        write: bool = False,
        pins: Iterable[Pin] = (),
    ) -> Resolution:
        key = (text, tuple(kinds), write, tuple(pins))
        found = self._remembered.get(key)
        if found is None:
            found = super().resolve(session, text, kinds, write=write, pins=key[3])
            self._remembered[key] = found
        return found


@dataclass
class _Word:
    raw: str
    key: str  # case- and umlaut-folded (`faellig`)


def _load_words() -> dict[str, frozenset[str]]:
    source = files("handlers").joinpath("texts", "question_words.toml").read_text("utf-8")
    return {key: frozenset(words) for key, words in tomllib.loads(source).items()}


_words = _load_words()


# -- word lists (folded: ä→ae, ö→oe, ü→ue, ß→ss) ----------------------------------------------

# Polite phrases that hold "ich", "mir" or "me" without meaning the sender's measures.
_FILLER_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split("_"))
    for p in (
        "kannst_du_mir_sagen",
        "kannst_du_mir_zeigen",
        "koennen_sie_mir_sagen",
        "koennen_sie_mir_zeigen",
        "koenntest_du_mir_sagen",
        "koenntest_du_mir_zeigen",
        "koennten_sie_mir_sagen",
        "koennten_sie_mir_zeigen",
        "wuerden_sie_mir_sagen",
        "wuerdest_du_mir_sagen",
        "sag_mir",
        "sagen_sie_mir",
        "sag_mal",
        "zeig_mir",
        "zeige_mir",
        "zeigen_sie_mir",
        "gib_mir",
        "geben_sie_mir",
        "ich_moechte_wissen",
        "ich_moechte_gern_wissen",
        "ich_moechte_gerne_wissen",
        "ich_will_wissen",
        "ich_wuerde_gern_wissen",
        "ich_wuerde_gerne_wissen",
        "ich_wuesste_gern",
        "ich_wuesste_gerne",
        "ich_frage_mich",
        "mich_wuerde_interessieren",
        "ich_haette_gern",
        "ich_haette_gerne",
        "sie_mir",
        "du_mir",
        "weisst_du",
        "wissen_sie",
        "guten_morgen",
        "guten_tag",
        "guten_abend",
        "gruess_gott",
        "vielen_dank",
        "can_you_tell_me",
        "could_you_tell_me",
        "can_you_show_me",
        "could_you_show_me",
        "would_you_tell_me",
        "tell_me",
        "show_me",
        "give_me",
        "i_would_like_to_know",
        "i_d_like_to_know",
        "id_like_to_know",
        "i_want_to_know",
        "i_need_to_know",
        "i_wonder",
        "let_me_know",
        "do_you_know",
        "good_morning",
        "good_afternoon",
        "good_evening",
        "thank_you",
    )
)
_SENDER = _words["sender"]
_OVERDUE = _words["overdue"]
_DUE = _words["due"]
_MATRIX = frozenset({"matrix", "zielmatrix"})
_AGENDA = frozenset({"agenda", "tagesordnung", "tagesordnungen", "tagesordnungspunkte"})
_MEETING = _words["meeting"]
# Bodies that meet: named in a question about meetings, they add nothing to `sitzung`.
_BODIES = _words["bodies"]
_HISTORY = _words["history"]
_GOALS = frozenset({"ziele", "zielen", "goals", "zielbaum", "zielsystem", "objectives"})
_GOAL = frozenset({"ziel", "goal", "objective"})
_STATUS = _words["status"]
# Question words: a sentence with one of these (or a `?`) asks.
_QUESTION = _words["question"]
# "Wer bin ich?", "Wie geht es dir?": about the bot or the sender, not the plan.
_BLOCKERS = _words["blockers"]
_STOP = _words["stop"]
_WHEN = frozenset({"wann", "when"})
# The bodies that meet, by name: "Wann ist die nächste Steuergruppe?" asks for a meeting.
_GROUPS = frozenset({"steuergruppe", "steuerungsgruppe", "lenkungskreis", "arbeitsgruppe"})
_BLOCKING_PHRASES = tuple(tuple(p.split("_")) for p in _words.pop("blocking_phrases"))
_NUMBERS = {
    "ein": 1,
    "einen": 1,
    "einem": 1,
    "eine": 1,
    "zwei": 2,
    "drei": 3,
    "vier": 4,
    "fuenf": 5,
    "sechs": 6,
    "sieben": 7,
    "acht": 8,
    "neun": 9,
    "zehn": 10,
    "zwoelf": 12,
    "vierzehn": 14,
    "zwanzig": 20,
    "dreissig": 30,
    "one": 1,
    "a": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "fourteen": 14,
    "twenty": 20,
    "thirty": 30,
}
_UNITS = {
    "tag": 1,
    "tage": 1,
    "tagen": 1,
    "day": 1,
    "days": 1,
    "woche": 7,
    "wochen": 7,
    "week": 7,
    "weeks": 7,
    "monat": 30,
    "monate": 30,
    "monaten": 30,
    "month": 30,
    "months": 30,
}
_THIS = _words["this"]
_NEXT = _words["next"]
_WITHIN = _words["within"]
_UNTIL = _words["until"]
_FILLER_IN_TIME = _words["filler_in_time"]
# Every word a keyword typo may be corrected to (at least four letters).
_KEYWORDS: dict[str, frozenset[str]] = {
    word: group
    for group in (_OVERDUE, _DUE, _MATRIX, _AGENDA, _MEETING, _HISTORY, _GOALS, _STATUS)
    for word in group
    if len(word) >= 4
}
_KNOWN = frozenset().union(
    _SENDER,
    _OVERDUE,
    _DUE,
    _MATRIX,
    _AGENDA,
    _MEETING,
    _HISTORY,
    _GOALS,
    _GOAL,
    _STATUS,
    _STOP,
    _BODIES,
    _BLOCKERS,
)
MAX_DAYS = 366


def read_question(text: str, session: Session, lookup: NameLookup, today: date) -> Reading | None:
    """The read command `text` asks for, or None when it is no question we can answer."""
    asks = "?" in text
    words = [_Word(raw, normalize(raw)) for raw in _TOKEN.findall(text)]
    words = [w for w in words if w.key]
    # One word is a command mistyped (`stauts`), not a question; unless it asks (`Status?`).
    if not words or len(words) > 40 or (len(words) < 2 and not asks):
        return None
    words = _read_words(words)
    keys = {w.key for w in words}
    if keys & _BLOCKERS or len(_without_phrases(words, _BLOCKING_PHRASES)) < len(words):
        return None
    asks = asks or bool(keys & _QUESTION)
    days, words = _take_time(words, today)
    if days == -1:
        return None  # a time beyond what `fällig` shows
    keys = {w.key for w in words}  # "in den nächsten 30 Tagen" is no meeting ("tagen")
    if words and words[-1].key == "an" and keys & {"steht", "stehen"}:
        keys.add("ansteht")  # "Was steht an?" asks for deadlines

    def rest(*groups: Collection[str]) -> list[_Word]:
        used = frozenset().union(*groups)
        return [w for w in words if w.key not in used and w.key not in _STOP]

    every = (_SENDER, _OVERDUE, _DUE, _MATRIX, _AGENDA, _MEETING, _HISTORY, _GOALS, _GOAL)
    if keys & _MATRIX:
        return Reading("matrix") if not rest(*every, _STATUS) else None
    if keys & _AGENDA:
        left = rest(*every, _BODIES, _STATUS)
        if not left:
            return Reading("agenda")
        return _with_reference("agenda", left, (Kind.MEETING,), session, lookup)
    if keys & _HISTORY:
        left = rest(*every, _STATUS)
        return _with_reference("history", left, (Kind.MEASURE,), session, lookup)
    if keys & _MEETING or (keys & _WHEN and keys & _GROUPS):
        left = rest(*every, _BODIES)
        if not left or _resolves(left, (Kind.MEETING,), session, lookup):
            return Reading("meetings")
        return None
    if keys & _SENDER:
        return Reading("mine") if not rest(*every, _STATUS) else None
    if keys & _OVERDUE or keys & _DUE or days is not None:
        key = "overdue" if keys & _OVERDUE else "due"
        numbers = () if key == "overdue" or days is None else (str(days),)
        left = rest(*every, _STATUS)
        if not left:
            return Reading(key, numbers)
        match = _resolve(left, (Kind.DEPARTMENT, Kind.PERSON), session, lookup)
        if match is None:
            return None
        if match[0] is Kind.PERSON:
            # `fällig` and `überfällig` take a department; a person's open measures, soonest
            # deadline first, are what their status shows.
            return Reading("status", (match[1],))
        return Reading(key, (*numbers, match[1]))
    if keys & _GOALS or keys & _GOAL:
        left = rest(*every, _STATUS)
        if not left:
            return Reading("goals") if keys & _GOALS or asks else None
        return _with_reference("goal", left, (Kind.GOAL,), session, lookup)
    left = rest(*every, _STATUS)
    if not (asks or keys & _STATUS):
        return None
    if not left:
        return Reading("status") if keys & _STATUS else None
    return _with_reference("status", left, _STATUS_KINDS, session, lookup)


_NUMBER_OR_DATE = re.compile(r"[\d .-]+")
# What a sentence that could not be read comes closest to, by the words it has.
_HINTS: tuple[tuple[frozenset[str], str], ...] = (
    (_OVERDUE, "overdue"),
    (_DUE, "due"),
    (_SENDER, "mine"),
    (_MEETING, "meetings"),
    (_AGENDA, "agenda"),
    (_HISTORY, "history"),
    (_GOALS | _GOAL, "goal"),
    (_MATRIX, "matrix"),
    (_STATUS, "status"),
)
_DEFAULT_HINTS = ("status", "due", "mine")


def is_question_word(word: str) -> bool:
    """A word the reader knows (wie, was, guten, bitte, …): no mistyped command."""
    key = normalize(word)
    return key in _KNOWN or any(key == phrase[0] for phrase in _FILLER_PHRASES)


def closest(text: str) -> list[str]:
    """The keys of the two or three read commands a sentence comes closest to."""
    words = [_Word(raw, normalize(raw)) for raw in _TOKEN.findall(text)[:40]]
    keys = {w.key for w in _read_words([w for w in words if w.key])}
    hinted = [key for group, key in _HINTS if keys & group]
    return list(dict.fromkeys([*hinted, *_DEFAULT_HINTS]))[:3]


def _read_words(words: list[_Word]) -> list[_Word]:
    """Without polite phrases; keywords typed with a slip corrected."""
    words = _without_phrases(words, _FILLER_PHRASES)
    for word in words:
        if word.key not in _KNOWN and not _NUMBER_OR_DATE.fullmatch(word.key):
            word.key = _corrected(word.key)
    return words


def _corrected(key: str) -> str:
    """A keyword typed with one slip (`faelig`, `ueberfaelig`, `stet`) read as that keyword.
    Short words only by a letter more or less: `stadt` is no typo of `stand`."""
    if len(key) < 4:
        return key
    edits = 1 if len(key) < 9 else 2
    for word in _KEYWORDS:
        if word[0] != key[0] or abs(len(word) - len(key)) > edits:
            continue
        if len(key) < 6 and len(word) == len(key):
            continue
        if Levenshtein.distance(word, key, score_cutoff=edits) <= edits:
            return word
    return key


def _without_phrases(words: list[_Word], phrases: Sequence[tuple[str, ...]]) -> list[_Word]:
    keys = [w.key for w in words]
    drop: set[int] = set()
    for phrase in phrases:
        n = len(phrase)
        for start in range(len(keys) - n + 1):
            if tuple(keys[start : start + n]) == phrase:
                drop.update(range(start, start + n))
    return [w for i, w in enumerate(words) if i not in drop]


def _take_time(words: list[_Word], today: date) -> tuple[int | None, list[_Word]]:
    """The time phrase as days ahead for `fällig` (-1: beyond a year), and the other words."""
    keys = [w.key for w in words]
    for i in range(len(keys)):
        found = _time_at(words, keys, i, today)
        if found is not None:
            end, day = found
            days = (day - today).days
            if days > MAX_DAYS:
                return -1, words
            return max(1, days), words[:i] + words[end:]
    return None, words


def _time_at(words: list[_Word], keys: list[str], i: int, today: date) -> tuple[int, date] | None:
    """A time phrase starting at word i: (index after it, its last day)."""
    key = keys[i]
    after = keys[i + 1] if i + 1 < len(keys) else ""
    if key in ("heute", "today", "morgen", "tomorrow"):
        return i + 1, today + timedelta(days=1)
    if key in ("uebermorgen",):
        return i + 1, today + timedelta(days=2)
    if key in _THIS or key in _NEXT:
        ahead = key in _NEXT
        if after in ("woche", "week"):
            sunday = today + timedelta(days=6 - today.weekday())
            return i + 2, sunday + timedelta(days=7 if ahead else 0)
        if after in ("monat", "monats", "month"):
            return i + 2, _month_end(today, 1 if ahead else 0)
        if after in ("quartal", "quartals", "quarter"):
            first = 3 * ((today.month - 1) // 3) + 3
            return i + 2, _month_end(today, first - today.month + (3 if ahead else 0))
        if after in ("jahr", "jahres", "year") and not ahead:
            return i + 2, date(today.year, 12, 31)
    if key in _WITHIN or key in _NEXT or key in _NUMBERS or key.isdigit():
        j = i + 1 if key in _WITHIN else i
        while j < len(keys) and (keys[j] in _FILLER_IN_TIME or keys[j] in _NEXT):
            j += 1
        if j + 1 < len(keys) and keys[j + 1] in _UNITS:
            count = int(keys[j]) if keys[j].isdigit() else _NUMBERS.get(keys[j])
            if count is not None and 0 < count <= 400:
                return j + 2, today + timedelta(days=count * _UNITS[keys[j + 1]])
    if key in _UNTIL and i + 1 < len(words):
        raw = [w.raw for w in words[i + 1 : i + 5]]
        if raw and normalize(raw[0]) in ("zum", "the"):
            raw = raw[1:]
            offset = 2
        else:
            offset = 1
        try:
            found = take_date(raw, today)
        except DateOutOfRange:
            return None
        if found is not None and found[0] >= today:
            return i + offset + found[1], found[0]
    return None


def _month_end(today: date, months_ahead: int) -> date:
    month = today.month + months_ahead
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def _reference_text(words: list[_Word]) -> str:
    return " ".join(w.raw for w in words)


def _resolve(
    words: list[_Word], kinds: Collection[Kind], session: Session, lookup: NameLookup
) -> tuple[Kind, str] | None:
    """The single thing `words` name: its kind and how a command names it; None if they
    name nothing (or several: then the command's numbered list is the answer — see
    `_with_reference`)."""
    text = _reference_text(words)
    found = lookup.resolve(session, text, kinds)
    if found.match is not None:
        return found.match.kind, lookup.pick_ref(session, found.match)
    return None


def _resolves(
    words: list[_Word], kinds: Collection[Kind], session: Session, lookup: NameLookup
) -> bool:
    found = lookup.resolve(session, _reference_text(words), kinds)
    return found.match is not None or found.ambiguous


def _with_reference(
    key: str, words: list[_Word], kinds: Collection[Kind], session: Session, lookup: NameLookup
) -> Reading | None:
    """A command on the thing `words` name: by its id or key when it is clear, as typed when
    several fit (the command then asks with its numbered list), None when nothing does."""
    if not words:
        return None
    text = _reference_text(words)
    shape = id_shape(text)
    if shape is not None:
        return Reading(key, (f"{shape[0]}-{shape[1]}",))  # the command says if it exists
    found = lookup.resolve(session, text, kinds)
    if found.match is not None:
        return Reading(key, (lookup.pick_ref(session, found.match),))
    if found.ambiguous:
        return Reading(key, (text,))
    return None
