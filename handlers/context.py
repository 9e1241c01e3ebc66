"""What a handler gets: the sender, the room, the unit of work, and helpers to resolve and audit."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.args import Args, Token, stray_words, words_after
from handlers.core import Incoming, Language
from handlers.dates import parse_date, take_date
from handlers.i18n import plural, t
from handlers.ports import ReminderRules
from storage.events import DEFAULT_ZONE
from storage.lookup import How, Kind, Match, NameLookup, Resolution, id_shape
from storage.models import AuditEntry, Department, Goal, Measure, Person, Role, RoomLink
from storage.uow import UnitOfWork

# A person shown with their department, as namesakes are: "Max Müller (JA)".
_LABELLED = re.compile(r"(.+?)\s*\(([^()]+)\)")


@dataclass(frozen=True)
class CoreSettings:
    """The parts of the configuration the handlers need, independent of bot/."""

    admins: frozenset[str] = frozenset()  # "matrix:@admin:example.org", "telegram:123"
    language: Language = "de"
    timezone: ZoneInfo = DEFAULT_ZONE
    state: str = "BB"
    municipality: str = "Musterstadt"
    # The platforms that deliver: "matrix", "telegram", "email" as configured; none of the
    # chat ones means the console reaches everyone (storage.reach).
    platforms: frozenset[str] = frozenset()
    # Working hours, offsets and calendar of the reminders; None means the defaults for this
    # municipality's zone and state (see `rules`).
    reminders: ReminderRules | None = None
    # Where files live: received chat files (received/), generated files (generated/: reports,
    # charts, exports), calendar feeds (feeds/).
    data_dir: Path = Path("data")
    # Files under data_dir/generated/ (reports, charts, exports) are pruned after this.
    keep_generated_days: int = 7
    # Commands a sender may send per minute on a chat platform (0: no limit).
    rate_limit: int = 20

    @cached_property
    def rules(self) -> ReminderRules:
        """The reminder rules: as configured, else the defaults for this municipality."""
        if self.reminders is not None:
            return self.reminders
        return ReminderRules(
            zone=self.timezone, state=self.state, language=self.language, platforms=self.platforms
        )


# How each kind is named in a refusal (catalogue keys): with its article; negated, first and
# after the joiner (English drops the repeated article: "not a measure or goal"); plural.
_KIND_WORDS: dict[Kind, tuple[str, str, str, str]] = {
    Kind.MEASURE: (
        "kinds.measure.article",
        "kinds.measure.negated",
        "kinds.measure.negated_next",
        "kinds.measure.many",
    ),
    Kind.GOAL: (
        "kinds.goal.article",
        "kinds.goal.negated",
        "kinds.goal.negated_next",
        "kinds.goal.many",
    ),
    Kind.MEETING: (
        "kinds.meeting.article",
        "kinds.meeting.negated",
        "kinds.meeting.negated_next",
        "kinds.meeting.many",
    ),
    Kind.INDICATOR: (
        "kinds.indicator.article",
        "kinds.indicator.negated",
        "kinds.indicator.negated_next",
        "kinds.indicator.many",
    ),
    Kind.PERSON: (
        "kinds.person.article",
        "kinds.person.negated",
        "kinds.person.negated_next",
        "kinds.person.many",
    ),
    Kind.DEPARTMENT: (
        "kinds.department.article",
        "kinds.department.negated",
        "kinds.department.negated_next",
        "kinds.department.many",
    ),
    Kind.AREA: (
        "kinds.area.article",
        "kinds.area.negated",
        "kinds.area.negated_next",
        "kinds.area.many",
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

    def t(self, key: str, /, **values: object) -> str:
        return t(self.lang, key, **values)

    def plural(self, key: str, n: int, /, **values: object) -> str:
        return plural(self.lang, key, n, **values)

    def resolve(self, text: str, kinds: Collection[Kind], *, start: int = 0, end: int = 0) -> Match:
        """Resolve a reference or raise NotFound / Ambiguous (with the span, for picking) or
        Refused (an id of another kind). `Max Müller (JA)`, the form namesakes are shown in,
        names the person of that department."""
        if Kind.PERSON in kinds:
            labelled = self._labelled_person(text)
            if labelled is not None:
                return labelled
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

    def _labelled_person(self, text: str) -> Match | None:
        shape = _LABELLED.fullmatch(text.strip())
        if shape is None:
            return None
        found = self.session.execute(
            select(Person.id, Person.name, Department.key)
            .join(Department, Person.department_id == Department.id)
            .where(
                func.lower(Person.name) == shape[1].strip().lower(),
                func.upper(Department.key) == shape[2].strip().upper(),
            )
        ).all()
        if len(found) != 1:
            return None
        person_id, name, key = found[0]
        return Match(Kind.PERSON, person_id, f"{name} ({key})")

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
            raise UsageError(self.t("context.stray_words", words=words))

    def _wrong_kind(self, text: str, kinds: Collection[Kind], resolution: Resolution) -> str:
        """`Z-1 ist ein Ziel, keine Maßnahme.` — an id is that id, never something else."""
        shape = id_shape(text)
        # An id (`Z-1`), or a measure's plan number (`nr:3.1`), which names a measure too.
        ref = f"{shape[0]}-{shape[1]}" if shape is not None else text.strip()
        prefix = shape[0] if shape is not None else "M"
        if resolution.unknown_id:
            known = self.t("context.known_ids")
            return self.t("context.unknown_id", text=text.strip(), known=known)
        kind = resolution.wrong_kind
        assert kind is not None
        expected = [k for k in _KIND_WORDS if k in kinds]
        negated = self.t("kinds.joiner").join(
            self.t(_KIND_WORDS[k][1 if i == 0 else 2]) for i, k in enumerate(expected)
        )
        if resolution.wrong_kind_exists:
            return self.t(
                "context.wrong_kind", ref=ref, kind=self.t(_KIND_WORDS[kind][0]), expected=negated
            )
        return self.t(
            "context.wrong_kind_missing",
            ref=ref,
            expected=negated,
            prefix=prefix,
            kinds=self.t(_KIND_WORDS[kind][3]),
        )

    def _not_found_hint(self, text: str, kinds: Collection[Kind]) -> str | None:
        """Nothing similar: say what exists, so the next try can succeed."""
        shape = id_shape(text)
        if shape is not None:
            numbered = {"M": (Kind.MEASURE, Measure.id), "Z": (Kind.GOAL, Goal.id)}
            kind, column = numbered.get(shape[0], (None, None))
            if kind in kinds and column is not None:
                highest = self.session.execute(select(func.max(column))).scalar()
                if highest:
                    return self.t("context.highest_number", prefix=shape[0], highest=highest)
        if set(kinds) == {Kind.DEPARTMENT}:
            keys = self.session.execute(select(Department.key).order_by(Department.id)).scalars()
            names = list(keys)
            if names:
                shown = ", ".join(names[:15]) + (", …" if len(names) > 15 else "")
                return self.t("context.departments_hint", departments=shown)
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


def date_option(ctx: Context, token: Token, args: Args | None = None) -> date:
    """A date option (`frist:`, `beginn:`, `basisdatum:`, `bis:`); `frist:Ende März` and
    `frist:in 2 Wochen` take the words that follow (they are then no longer part of the
    title)."""
    value = None
    if args is not None and not token.quoted:
        following = words_after(args, token)
        found = take_date([token.text, *(w.text for w in following)], ctx.today)
        if found is not None:
            value, used = found
            for word in following[: used - 1]:
                args.words.remove(word)
    if value is None:
        value = parse_date(token.text, ctx.today)
    if value is None:
        raise UsageError(ctx.t("common.not_a_date", text=token.text))
    return value
