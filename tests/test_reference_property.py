"""Property: no write lands on an object the input does not denote (PRODUCT.md §2).

The example municipality has 50 measures, so a fuzzy fallback finds *something* for almost
any input; this is where the rule must hold. Hypothesis generates references — look-alike
ids, ids of the wrong kind, ids that do not exist, not-ids, digits, single characters,
punctuation, junk, fragments of the measure titles and words that occur in no title — and
sends `melden <ref> 42% prop`, `erledigt <ref>` and `zuweisen M-8 an <ref>` as the
coordinator. Every measure is compared before and after against an oracle of what the input
denotes, written here and independent of storage/lookup.py: the look-alike table, the
canonical id shape and the folding of fragments are this file's own.

`melden` and `erledigt` read the reference and then a status, a percentage and a note, so a
reference of several words may legitimately be cut after any word (`melden Hitzeaktionsplan
fur 42%` names M-28 with the note "fur 42%"): a write may land on what any leading run of
the words denotes, and on nothing else. `zuweisen … an` takes all the words after `an`.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from conftest import Chat, FixedClock, make_app
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.bootstrap import App
from storage import events
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Department, Goal, Measure, Meeting, Person

# -- the look-alike table and the oracle ----------------------------------------------------

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
# What phones and copy-paste produce for the id letters; NFKC handles the full-width forms.
LOOK_ALIKES = {
    "M": ["M", "m", "\u039c", "\u041c", "\u043c", "\uff2d"],
    "Z": ["Z", "z", "\u0396", "\uff3a"],
    "S": ["S", "s", "\u0405", "\uff33"],
    "K": ["K", "k", "\u039a", "\u041a", "\uff2b"],
}
TO_LATIN = {
    "\u039c": "M",  # Greek capital Mu
    "\u041c": "M",  # Cyrillic capital Em
    "\u043c": "m",  # Cyrillic small em
    "\u0396": "Z",  # Greek capital Zeta
    "\u0405": "S",  # Cyrillic capital Dze
    "\u039a": "K",  # Greek capital Kappa
    "\u041a": "K",  # Cyrillic capital Ka
}
ID_SHAPE = re.compile(r"([^\W\d_])\s*-\s*([0-9]+)")
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def canonical(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if c not in ZERO_WIDTH)
    return "".join("-" if c in DASHES else TO_LATIN.get(c, c) for c in text).strip()


def fold(text: str) -> str:
    text = text.casefold().translate(UMLAUTS)
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def letters(folded: str) -> int:
    return sum(c.isalpha() for c in folded)


@dataclass
class World:
    """What the example municipality holds, read from the database."""

    titles: dict[int, str]
    goals: list[int]
    meetings: list[int]
    # (kind, id) -> every name it may be called by: key, name and aliases; a person's name.
    assignees: dict[tuple[str, int], list[str]]
    folded_titles: dict[int, str] = field(init=False)
    folded_assignees: dict[tuple[str, int], list[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.folded_titles = {i: fold(canonical(t)) for i, t in self.titles.items()}
        self.folded_assignees = {
            k: [fold(canonical(n)) for n in names] for k, names in self.assignees.items()
        }

    def denotes(self, text: str) -> int | None:
        """The measure a write on `text` may land on, or None."""
        shape = ID_SHAPE.fullmatch(canonical(text))
        if shape:
            number = int(shape.group(2))
            if shape.group(1).upper() == "M" and number in self.titles:
                return number
            return None
        folded = fold(canonical(text))
        if letters(folded) < 3:
            return None
        exact = [i for i, t in self.folded_titles.items() if t == folded]
        if len(exact) == 1:
            return exact[0]
        containing = [i for i, t in self.folded_titles.items() if folded in t]
        return containing[0] if len(containing) == 1 else None

    def denoted_by_leading_words(self, text: str) -> set[int]:
        """What a reference followed by a note may land on: any leading run of the words."""
        words = text.split()
        found = {self.denotes(" ".join(words[:k])) for k in range(1, len(words) + 1)}
        return {i for i in found if i is not None}

    def assignee(self, text: str) -> tuple[str, int] | None:
        """The person or department `zuweisen … an <text>` may land on, or None."""
        if ID_SHAPE.fullmatch(canonical(text)):
            return None
        folded = fold(canonical(text))
        exact = [k for k, names in self.folded_assignees.items() if folded in names]
        if exact:
            return exact[0] if len(exact) == 1 else None
        if letters(folded) < 3:
            return None
        containing = [
            k for k, names in self.folded_assignees.items() if any(folded in n for n in names)
        ]
        return containing[0] if len(containing) == 1 else None


def read_world(app: App) -> World:
    with app.uows() as uow:
        session = uow.session
        titles = dict(session.execute(select(Measure.id, Measure.title)).tuples().all())
        goals = list(session.scalars(select(Goal.id)))
        meetings = list(session.scalars(select(Meeting.id)))
        assignees: dict[tuple[str, int], list[str]] = {}
        for department in session.scalars(select(Department)):
            names = [department.key, department.name, *(a.alias for a in department.aliases)]
            assignees["department", department.id] = names
        for person in session.scalars(select(Person)):
            assignees["person", person.id] = [person.name]
    return World(titles, goals, meetings, assignees)


# -- the example municipality, built once for the module -----------------------------------

_WORLD: list[World] = []  # filled by the fixture; the strategies are deferred until then


def world() -> World:
    assert _WORLD, "the demo_app fixture reads the world before the first example"
    return _WORLD[0]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    events.install()
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('refprop') / 'regelkreis.db'}")
    upgrade(engine)
    app = make_app(engine, FixedClock())
    _WORLD[:] = [read_world(app)]
    yield app
    engine.dispose()


@pytest.fixture(scope="module")
def anna(demo_app: App) -> Chat:
    """One chat for the whole module: message ids count on, so none is taken for a resend."""
    chat = Chat(demo_app, "Anna Schmidt")
    chat.say("wer bin ich")
    return chat


# -- strategies -----------------------------------------------------------------------------


@st.composite
def sprinkle_zero_width(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(ZERO_WIDTH)) + text[at:]
    return text


@st.composite
def id_like(draw: st.DrawFn, letter: st.SearchStrategy[str], number: st.SearchStrategy[int]) -> str:
    """`<letter>-<n>` as phones type it: look-alike dashes, full-width digits, spaces,
    zero-width characters anywhere."""
    head = draw(letter)
    dash = draw(st.sampled_from("-" + DASHES))
    digits = "".join(chr(0xFF10 + int(d)) if draw(st.booleans()) else d for d in str(draw(number)))
    before, after = draw(st.sampled_from(["", " "])), draw(st.sampled_from(["", " "]))
    return draw(sprinkle_zero_width(f"{head}{before}{dash}{after}{digits}"))


def look_alike(*latin: str) -> st.SearchStrategy[str]:
    return st.sampled_from([c for letter in latin for c in LOOK_ALIKES[letter]])


SPELLED = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
)
DROPPED = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "s", "Ä": "A", "Ö": "O", "Ü": "U"})


@st.composite
def fragment(draw: st.DrawFn, names: list[str]) -> str:
    """A substring of a name, its case possibly changed, umlauts possibly spelled or dropped,
    possibly with a typo, possibly quoted."""
    name = draw(st.sampled_from(names))
    length = draw(st.integers(1, min(20, len(name))))
    start = draw(st.integers(0, len(name) - length))
    text = name[start : start + length]
    case = draw(st.sampled_from(["keep", "lower", "upper", "title", "swapcase"]))
    if case != "keep":
        text = getattr(text, case)()
    umlauts = draw(st.sampled_from(["keep", "spell", "drop"]))
    if umlauts != "keep":
        text = text.translate(SPELLED if umlauts == "spell" else DROPPED)
    # A typo, as fuzzy matching would forgive it: one letter dropped, swapped, changed, added.
    typo = draw(st.sampled_from(["none", "none", "drop", "swap", "change", "add"]))
    if typo != "none" and len(text) > 1:
        at = draw(st.integers(0, len(text) - 2))
        letter = draw(st.sampled_from(string.ascii_lowercase))
        text = {
            "drop": text[:at] + text[at + 1 :],
            "swap": text[:at] + text[at + 1] + text[at] + text[at + 2 :],
            "change": text[:at] + letter + text[at + 1 :],
            "add": text[:at] + letter + text[at:],
        }[typo]
    # Quoted, so that a fragment of several words is one reference.
    quote = draw(st.sampled_from(["", "", '""', "„“"]))
    if quote and not any(q in text for q in "\"„“”'«»"):
        text = f"{quote[0]}{text}{quote[1]}"
    return text


def unknown_word(haystack: list[str]) -> st.SearchStrategy[str]:
    """A word of 3+ letters that occurs in none of the (folded) names."""
    return (
        st.text(alphabet=string.ascii_lowercase + "äöüß", min_size=3, max_size=12)
        .map(lambda w: w.capitalize() if len(w) % 2 else w)
        .filter(lambda w: not any(fold(w) in h for h in haystack))
    )


def junk() -> st.SearchStrategy[str]:
    """What is not an id and too short to match: the same for every kind of reference."""
    return st.one_of(
        # ids of the wrong kind and ids with unknown letters
        id_like(look_alike("Z", "S", "K"), st.integers(0, 30)),
        id_like(st.sampled_from("ABCDEFGHJLNOPQRTUVWXY"), st.integers(0, 999)),
        # not ids
        st.sampled_from(["M001", "M12", "3.1", "A-12a", "M-", "-", "M-1-2", "M-12b", "M.1"]),
        st.builds("{}{}".format, look_alike("M", "Z", "S"), st.integers(0, 999)),
        st.builds(
            "{}-{}{}".format, st.sampled_from("AMZ"), st.integers(0, 99), st.sampled_from("ab")
        ),
        st.builds("{}.{}".format, st.integers(0, 20), st.integers(0, 20)),
        # plain digits, single characters, punctuation, two-letter junk
        st.integers(0, 99999).map(str),
        st.characters(blacklist_categories=("Cs", "Cc")),
        st.text(alphabet=string.punctuation + "–—„“”‚‘…·§", min_size=1, max_size=3),
        st.text(alphabet=string.ascii_letters + "äöüÄÖÜß", min_size=2, max_size=2),
    )


def _measure_refs() -> st.SearchStrategy[str]:
    w = world()
    titles = list(w.titles.values())
    existing = st.sampled_from(sorted(w.titles))
    return st.one_of(
        id_like(look_alike("M"), existing),
        id_like(look_alike("Z"), st.sampled_from(w.goals)),
        id_like(look_alike("S"), st.sampled_from(w.meetings)),
        id_like(look_alike("M"), st.just(0) | st.integers(max(w.titles) + 1, 9999)),
        junk(),
        fragment(titles),
        unknown_word(list(w.folded_titles.values())),
    )


def _assignee_refs() -> st.SearchStrategy[str]:
    w = world()
    names = [n for ns in w.assignees.values() for n in ns]
    words = sorted({word for n in names for word in n.split()})
    return st.one_of(
        st.sampled_from(names),
        st.sampled_from(words),
        fragment(names),
        fragment(list(w.titles.values())),
        id_like(look_alike("M"), st.integers(0, 60)),
        junk(),
        unknown_word([f for fs in w.folded_assignees.values() for f in fs]),
    )


measure_refs = st.deferred(_measure_refs)
assignee_refs = st.deferred(_assignee_refs)

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written next to the sources; a failure prints its example
)
BUG_REPORT = ["Z-1", "S-2", "M\u20101", "\u039c-1", "M-1\u200b", "x", "M-0", "12", "M001"]


def bug_report_examples(test: Callable[..., None]) -> Callable[..., None]:
    """The inputs of the bug report, run first on every property."""
    for ref in reversed(BUG_REPORT):
        test = example(ref=ref)(test)
    return test


# -- the properties -------------------------------------------------------------------------

Row = tuple[int, str, int]


def measures(app: App) -> dict[int, Row]:
    with app.uows() as uow:
        rows = uow.session.execute(
            select(Measure.id, Measure.version, Measure.status, Measure.progress)
        ).all()
    return {r.id: (r.version, str(r.status), r.progress) for r in rows}


def send(chat: Chat, command: str) -> str:
    reply = chat.reply(command)
    text = reply.plain()
    event(f"outcome {reply.outcome}")
    assert reply.outcome != "error", f"{command!r} -> {text}"
    if reply.outcome == "ambiguous" or "mit der Nummer antworten" in text:
        chat.say("status")  # the list is left unanswered and must not linger
    return text


def assert_lands_only_on_what_it_denotes(chat: Chat, command: str, ref: str) -> None:
    allowed = world().denoted_by_leading_words(ref)
    before = measures(chat.app)
    reply = send(chat, command)
    after = measures(chat.app)
    assert after.keys() == before.keys(), f"{command!r} created or removed measures: {reply}"
    changed = {i for i in after if after[i] != before[i]}
    event(f"denotes {'a measure' if allowed else 'nothing'}, {'wrote' if changed else 'no write'}")
    assert changed <= allowed and len(changed) <= 1, (
        f"{command!r} changed {sorted(f'M-{i}' for i in changed)}, but {ref!r} denotes "
        f"{sorted(f'M-{i}' for i in allowed) or 'nothing'}. Reply: {reply}"
    )
    for i in changed:  # the reply names what it acted on: id and title
        named = re.search(rf"\bM-{i}\b", reply) and world().titles[i] in reply
        assert named, f"{command!r} acted on M-{i} without naming it: {reply}"


@bug_report_examples
@PROPERTY
@given(ref=measure_refs)
def test_melden_lands_only_on_what_the_reference_denotes(anna: Chat, ref: str) -> None:
    assert_lands_only_on_what_it_denotes(anna, f"melden {ref} 42% prop", ref)


@bug_report_examples
@PROPERTY
@given(ref=measure_refs)
def test_erledigt_lands_only_on_what_the_reference_denotes(anna: Chat, ref: str) -> None:
    assert_lands_only_on_what_it_denotes(anna, f"erledigt {ref}", ref)


def assignment(app: App) -> tuple[int | None, int]:
    with app.uows() as uow:
        measure = uow.session.get(Measure, 8)
        assert measure is not None
        return measure.responsible_id, measure.lead_department_id


@bug_report_examples
@example(ref="amt")
@example(ref="Jugend")
@example(ref="Julia")
@example(ref="Amt 5")
@example(ref="Schafer")
@PROPERTY
@given(ref=assignee_refs)
def test_zuweisen_lands_only_on_what_the_reference_denotes(anna: Chat, ref: str) -> None:
    target = world().assignee(ref)
    command = f"zuweisen M-8 an {ref}"
    before, versions_before = assignment(anna.app), measures(anna.app)
    reply = send(anna, command)
    (responsible, lead), versions_after = assignment(anna.app), measures(anna.app)
    wrote = (responsible, lead) != before
    event(f"denotes {target[0] if target else 'nothing'}, {'wrote' if wrote else 'no write'}")
    others = {i for i in versions_after if i != 8 and versions_after[i] != versions_before[i]}
    assert not others, f"{command!r} changed {sorted(others)}: {reply}"
    may_be_responsible = {before[0]} | ({target[1]} if target and target[0] == "person" else set())
    may_lead = {before[1]} | ({target[1]} if target and target[0] == "department" else set())
    assert responsible in may_be_responsible and lead in may_lead, (
        f"{command!r} set responsible {before[0]} → {responsible}, lead {before[1]} → {lead}, "
        f"but {ref!r} denotes {target or 'nothing'}. Reply: {reply}"
    )
