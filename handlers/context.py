"""What a handler gets: the sender, the room, the unit of work, and helpers to resolve and audit."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.args import Args, Token, stray_words, words_after
from handlers.core import Incoming, Language
from handlers.i18n import t
from handlers.ports import ReminderRules
from storage.lookup import How, Kind, Match, NameLookup, Resolution, id_shape
from storage.models import AuditEntry, Department, Goal, Measure, Person, Role, RoomLink
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class CoreSettings:
    """The parts of the configuration the handlers need, independent of bot/."""

    admins: frozenset[str] = frozenset()  # "matrix:@admin:example.org", "telegram:123"
    language: Language = "de"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Berlin"))
    state: str = "BB"
    municipality: str = "Musterstadt"
    # The platforms that deliver: "matrix", "telegram", "email" as configured; none of the
    # chat ones means the console reaches everyone (storage.reach).
    platforms: frozenset[str] = frozenset()
    # Working hours, offsets and calendar of the reminders; None means the defaults for this
    # municipality's zone and state (see `rules`).
    reminders: ReminderRules | None = None

    @cached_property
    def rules(self) -> ReminderRules:
        """The reminder rules: as configured, else the defaults for this municipality."""
        if self.reminders is not None:
            return self.reminders
        return ReminderRules(
            zone=self.timezone, state=self.state, language=self.language, platforms=self.platforms
        )


# How each kind is named in a refusal: with its article, negated, and in the plural.
_KIND_WORDS: dict[Kind, tuple[str, str, str, str, str, str]] = {
    Kind.MEASURE: (
        "eine Maßnahme",
        "keine Maßnahme",
        "Maßnahmen",
        "a measure",
        "a measure",
        "measures",
    ),
    Kind.GOAL: ("ein Ziel", "kein Ziel", "Ziele", "a goal", "a goal", "goals"),
    Kind.MEETING: (
        "eine Sitzung",
        "keine Sitzung",
        "Sitzungen",
        "a meeting",
        "a meeting",
        "meetings",
    ),
    Kind.INDICATOR: (
        "eine Kennzahl",
        "keine Kennzahl",
        "Kennzahlen",
        "an indicator",
        "an indicator",
        "indicators",
    ),
    Kind.PERSON: ("eine Person", "keine Person", "Personen", "a person", "a person", "people"),
    Kind.DEPARTMENT: (
        "ein Ressort",
        "kein Ressort",
        "Ressorts",
        "a department",
        "a department",
        "departments",
    ),
    Kind.AREA: (
        "ein Planungsraum",
        "kein Planungsraum",
        "Planungsräume",
        "a planning area",
        "a planning area",
        "planning areas",
    ),
}


class CommandError(Exception):
    """A command cannot go on; the dispatcher turns it into a reply and rolls back."""


class UsageError(CommandError):
    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason or "")
        self.reason = reason


class NotFound(CommandError):
    def __init__(self, text: str, suggestions: list[Match], hint: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.suggestions = suggestions
        # Shown when nothing is similar: what exists instead (highest id, department keys).
        self.hint = hint


class Ambiguous(CommandError):
    def __init__(self, text: str, start: int, end: int, candidates: list[Match], more: int) -> None:
        super().__init__(text)
        self.text = text
        self.start = start
        self.end = end
        self.candidates = candidates
        self.more = more


class Refused(CommandError):
    """Not allowed, or not possible: the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Context:
    incoming: Incoming
    uow: UnitOfWork
    person: Person | None
    is_admin: bool
    lang: Language
    now: datetime
    settings: CoreSettings
    lookup: NameLookup
    room: RoomLink | None
    # The command changes data: references follow the stricter rules for writes (§2).
    writes: bool = False
    # References resolved from a fragment or a typo, named in the reply of a write.
    inferred: list[tuple[str, Match]] = field(default_factory=list)

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def today(self) -> date:
        return self.now.astimezone(self.settings.timezone).date()

    @property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.settings.timezone)

    @property
    def role(self) -> Role | None:
        return self.person.role if self.person else None

    def t(self, key: str, **values: object) -> str:
        return t(self.lang, key, **values)

    def de_en(self, german: str, english: str) -> str:
        return german if self.lang == "de" else english

    def resolve(self, text: str, kinds: Collection[Kind], *, start: int = 0, end: int = 0) -> Match:
        """Resolve a reference or raise NotFound / Ambiguous (with the span, for picking) or
        Refused (an id of another kind)."""
        resolution = self.lookup.resolve(
            self.session, text, kinds, write=self.writes, pins=self.incoming.pins
        )
        if resolution.match is not None:
            if resolution.match.how in (How.FRAGMENT, How.FUZZY):
                self.inferred.append((text.strip(), resolution.match))
            return resolution.match
        if resolution.wrong_kind is not None or resolution.unknown_id:
            raise Refused(self._wrong_kind(text, kinds, resolution))
        if resolution.ambiguous:
            raise Ambiguous(text, start, end, resolution.candidates, resolution.more)
        hint = None if resolution.candidates else self._not_found_hint(text, kinds)
        raise NotFound(text, resolution.candidates, hint)

    def take_option_words(
        self, args: Args, kinds: Mapping[str, Collection[Kind]], *, lists: Collection[str] = ()
    ) -> None:
        """Option values of several words typed without quotes: `verantwortlich:Max Müller`
        takes the unquoted words that follow when together they name something exactly (an
        id, a name, an alias; longest first). Those words then leave the free text, so they
        never end up in a title. For list options (`beteiligt:SA,Amt 51`) the last entry
        is extended."""
        for key, wanted in kinds.items():
            token = args.options.get(key)
            if token is None or token.quoted:
                continue
            following = words_after(args, token)
            for n in range(len(following), 0, -1):
                joined = " ".join([token.text, *(w.text for w in following[:n])])
                parts = [p.strip() for p in re.split(r"[,;]", joined)] if key in lists else [joined]
                # Every entry that now spans several words must name something exactly.
                spanning = [p for p in parts if " " in p]
                if not spanning or not all(self._names_exactly(p, wanted) for p in spanning):
                    continue
                end = following[n - 1].end
                typed = self.incoming.text.strip()
                args.options[key] = Token(typed[token.start : end], token.start, end)
                for word in following[:n]:
                    args.words.remove(word)
                break

    def _names_exactly(self, text: str, kinds: Collection[Kind]) -> bool:
        found = self.lookup.resolve(self.session, text, kinds, pins=self.incoming.pins)
        return found.match is not None and found.match.how in (How.ID, How.EXACT, How.PIN)

    def refuse_stray_words(self, args: Args) -> None:
        """Refuse words that belong to no argument (see handlers.args.stray_words)."""
        stray = stray_words(args)
        if stray:
            words = " ".join(w.text for w in stray)
            raise UsageError(
                self.de_en(
                    f"„{words}“ gehört zu keiner Angabe. Namen aus mehreren Wörtern bitte in "
                    'Anführungszeichen, z. B. raum:"Neue Mitte".',
                    f"“{words}” belongs to no field. Please quote names of several words, "
                    'e.g. area:"Neue Mitte".',
                )
            )

    def _wrong_kind(self, text: str, kinds: Collection[Kind], resolution: Resolution) -> str:
        """`Z-1 ist ein Ziel, keine Maßnahme.` — an id is that id, never something else."""
        shape = id_shape(text)
        assert shape is not None
        ref = f"{shape[0]}-{shape[1]}"
        german = self.lang == "de"
        if resolution.unknown_id:
            known = self.de_en(
                "M-… Maßnahme, Z-… Ziel, S-… Sitzung", "M-… measure, Z-… goal, S-… meeting"
            )
            return self.de_en(
                f"„{text.strip()}“ ist keine Kennung, die ich kenne: {known}.",
                f"“{text.strip()}” is not an id I know: {known}.",
            )
        kind = resolution.wrong_kind
        assert kind is not None
        expected = [k for k in _KIND_WORDS if k in kinds]
        if german:
            negated = " und ".join(_KIND_WORDS[k][1] for k in expected)
            if resolution.wrong_kind_exists:
                return f"{ref} ist {_KIND_WORDS[kind][0]}, {negated}."
            return f"{ref} ist {negated}: {shape[0]}-… sind {_KIND_WORDS[kind][2]}."
        negated = " or ".join(_KIND_WORDS[k][4] for k in expected).replace(" or a ", " or ")
        if resolution.wrong_kind_exists:
            return f"{ref} is {_KIND_WORDS[kind][3]}, not {negated}."
        return f"{ref} is not {negated}: {shape[0]}-… are {_KIND_WORDS[kind][5]}."

    def _not_found_hint(self, text: str, kinds: Collection[Kind]) -> str | None:
        """Nothing similar: say what exists, so the next try can succeed."""
        shape = id_shape(text)
        if shape is not None:
            numbered = {"M": (Kind.MEASURE, Measure.id), "Z": (Kind.GOAL, Goal.id)}
            kind, column = numbered.get(shape[0], (None, None))
            if kind in kinds and column is not None:
                highest = self.session.execute(select(func.max(column))).scalar()
                if highest:
                    return self.de_en(
                        f"Die höchste Nummer ist {shape[0]}-{highest}.",
                        f"The highest number is {shape[0]}-{highest}.",
                    )
        if set(kinds) == {Kind.DEPARTMENT}:
            keys = self.session.execute(select(Department.key).order_by(Department.id)).scalars()
            names = list(keys)
            if names:
                shown = ", ".join(names[:15]) + (", …" if len(names) > 15 else "")
                return self.de_en(f"Ressorts: {shown}", f"Departments: {shown}")
        return None

    def audit(
        self,
        action: str,
        entity_kind: str,
        entity_id: int,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        version: int | None = None,
    ) -> None:
        """Record a change with who made it and the message it came from."""
        self.session.add(
            AuditEntry(
                at=self.now,
                person_id=self.person.id if self.person else None,
                actor=self.incoming.sender_address,
                action=action,
                entity_kind=entity_kind,
                entity_id=entity_id,
                entity_version=version,
                before=before,
                after=after,
                origin_platform=self.incoming.platform,
                origin_room=self.incoming.room_id,
                origin_message_id=self.incoming.message_id,
            )
        )
