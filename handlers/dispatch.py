"""The dispatcher: identifies the sender, enforces roles, runs a handler in a unit of work."""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, Insert, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from handlers.args import ParseError, parse_args
from handlers.commands import OPEN_TO_UNREGISTERED, Access, Command, Registry, fold
from handlers.context import (
    Ambiguous,
    CommandError,
    Context,
    CoreSettings,
    NotFound,
    Refused,
    UsageError,
)
from handlers.core import Incoming, Language, Reply
from handlers.i18n import t
from handlers.ports import Clock, system_clock
from storage.lookup import Kind, NameLookup, Pin
from storage.models import (
    ChatIdentity,
    PendingChoice,
    Person,
    ProcessedMessage,
    Role,
    RoomLink,
)
from storage.uow import UnitOfWorkFactory

log = logging.getLogger("regelkreis.dispatch")

# How long a numbered candidate list waits for its pick.
PICK_EXPIRY = timedelta(minutes=30)
_PICK = re.compile(r"^\s*#?(\d{1,2})\s*\.?\s*$")


def is_pick(text: str) -> bool:
    """A bare number like `2`, `#2` or `2.`: the reply to a numbered candidate list."""
    return _PICK.match(text) is not None


@dataclass
class _Turn:
    """What one message leaves to do after its unit of work: mark an earlier numbered
    list as superseded (a write of its own, once the command's transaction is over)."""

    supersede: bool


class AlreadyHandled(Exception):
    """The message was taken on before (by this or another process)."""


@dataclass
class Claim:
    """A platform message (event id, update id) the bot answers once."""

    platform: str
    message_key: str
    room_id: str | None
    received_at: datetime
    recorded: bool = False

    def insert(self) -> Insert:
        """One Core INSERT: claims run for every message, so they skip the ORM's bookkeeping."""
        return insert(ProcessedMessage).values(
            platform=self.platform,
            message_id=self.message_key,
            room_id=self.room_id,
            received_at=self.received_at,
        )


class Dispatcher:
    """Turns one Incoming into one Reply. Thread-safe: every call has its own unit of work."""

    def __init__(
        self,
        registry: Registry,
        uows: UnitOfWorkFactory,
        settings: CoreSettings,
        *,
        lookup: NameLookup | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.registry = registry
        self.uows = uows
        self.settings = settings
        self.lookup = lookup or NameLookup()
        self.clock = clock

    def handle(self, incoming: Incoming) -> Reply:
        return self._handle_safely(incoming, None)

    def handle_once(self, incoming: Incoming, claim: Claim) -> Reply | None:
        """Answer a platform message at most once across processes and restarts.

        A command that changes something records its claim (ProcessedMessage) in its own
        unit of work, so the change and the claim commit together: a crash in between
        leaves neither, and the redelivered message runs again. Anything else (reads,
        refusals) records the claim after answering. None: the message was taken on before.
        """
        try:
            reply = self._handle_safely(incoming, claim)
        except AlreadyHandled:
            return None
        if not claim.recorded and not self.record_claim(claim):
            return None
        return reply

    def record_claim(self, claim: Claim) -> bool:
        """Take a message on without running it; False if it was taken on before."""
        with self.uows(write=True) as uow:
            try:
                uow.session.execute(claim.insert())
                uow.commit()
            except IntegrityError:
                return False
        claim.recorded = True
        return True

    def _handle_safely(self, incoming: Incoming, claim: Claim | None) -> Reply:
        try:
            return self._handle(incoming, claim)
        except AlreadyHandled:
            raise
        except Exception:  # the last line of defence: never a stack trace in chat
            error_id = uuid.uuid4().hex[:8]
            log.exception(
                "error %s handling %r from %s", error_id, incoming.text, incoming.sender_address
            )
            reply = Reply.text(
                t(self.settings.language, "internal_error", error_id=error_id), outcome="error"
            )
            reply.error_id = error_id
            return reply

    # -- steps ----------------------------------------------------------------------------

    def _handle(self, incoming: Incoming, claim: Claim | None = None) -> Reply:
        text = incoming.text.strip()
        picked = self._apply_pick(incoming, text)
        if isinstance(picked, Reply):
            return picked
        if picked is not None:
            incoming = picked
            text = incoming.text

        found = self.registry.find(text)
        command, args_at = found if found else (None, 0)
        # Another command than a pick: a bare number no longer picks from an earlier list.
        turn = _Turn(supersede=picked is None)
        try:
            return self._run(incoming, text, command, args_at, claim, turn)
        finally:
            if turn.supersede:
                self._supersede_choice(incoming)

    def _run(
        self,
        incoming: Incoming,
        text: str,
        command: Command | None,
        args_at: int,
        claim: Claim | None,
        turn: _Turn,
    ) -> Reply:
        with self.uows(write=bool(command and command.writes)) as uow:
            person, is_admin, room = self._identify(uow.session, incoming)
            turn.supersede = turn.supersede and self._has_open_choice(uow.session, incoming)
            lang = self._language(person, room)
            if (
                person is None
                and not is_admin
                and (command is None or command.key not in OPEN_TO_UNREGISTERED)
            ):
                return self._unregistered(uow.session, incoming, lang)
            if command is None:
                return self._unknown(text, lang)
            if not command.access.allows(person.role if person else None, is_admin):
                if person is None:
                    # An admin named only in the configuration: say how to become a person.
                    roles = (
                        ""
                        if command.access is Access.REGISTERED
                        else t(lang, "with_role", roles=command.access.roles(lang))
                    )
                    return Reply.text(
                        t(
                            lang,
                            "forbidden_admin_only",
                            command=command.name(lang),
                            roles=roles,
                            address=incoming.sender_address,
                        ),
                        outcome="refused",
                    )
                return Reply.text(
                    t(
                        lang,
                        "forbidden",
                        command=command.name(lang),
                        roles=command.access.roles(lang),
                        role=person.role.value,
                    ),
                    outcome="refused",
                )
            context = Context(
                incoming=incoming,
                uow=uow,
                person=person,
                is_admin=is_admin,
                lang=lang,
                now=self.clock(),
                settings=self.settings,
                lookup=self.lookup,
                room=room,
                writes=command.writes,
            )
            if claim is not None and command.writes:
                try:
                    uow.session.execute(claim.insert())
                except IntegrityError:
                    uow.rollback()
                    raise AlreadyHandled from None
            try:
                args = parse_args(text[args_at:], command.options, offset=args_at)
                reply = command.handler(context, args)
                if command.writes:
                    _name_inferred(context, reply)
                    uow.commit()
                    if claim is not None:
                        claim.recorded = True
            except Ambiguous as ambiguous:
                uow.rollback()
                turn.supersede = False  # the new list replaces the old one
                return self._ask_to_pick(incoming, text, ambiguous, lang)
            except CommandError as error:
                uow.rollback()
                return self._error_reply(error, command, lang)
            except ParseError:
                uow.rollback()
                return self._error_reply(
                    UsageError(
                        t(
                            lang,
                            "usage_reason",
                            reason=_unclosed(lang),
                            usage=command.usage_line(lang),
                            example=command.example_line(lang),
                        )
                    ),
                    command,
                    lang,
                    preformatted=True,
                )
            moved = person is not None and person.last_platform != incoming.platform
            person_id = person.id if person is not None else None
        if moved and person_id is not None:
            self._remember_platform(person_id, incoming.platform)
        return reply

    def _identify(
        self, session: Session, incoming: Incoming
    ) -> tuple[Person | None, bool, RoomLink | None]:
        person = session.execute(
            select(Person)
            .join(ChatIdentity)
            .where(
                ChatIdentity.platform == incoming.platform,
                ChatIdentity.user_id == incoming.sender_id,
            )
        ).scalar_one_or_none()
        room = session.execute(
            select(RoomLink).where(
                RoomLink.platform == incoming.platform, RoomLink.room_id == incoming.room_id
            )
        ).scalar_one_or_none()
        is_admin = incoming.sender_address in self.settings.admins or bool(
            person and person.is_admin
        )
        return person, is_admin, room

    def is_admin(self, platform: str, user_id: str) -> bool:
        """An administrator: named in the configuration, or registered with `--admin`
        (adapters ask before they accept an invite or stay in a group)."""
        if f"{platform}:{user_id}" in self.settings.admins:
            return True
        with self.uows() as uow:
            return bool(
                uow.session.execute(
                    select(Person.is_admin)
                    .join(ChatIdentity)
                    .where(ChatIdentity.platform == platform, ChatIdentity.user_id == user_id)
                ).scalar()
            )

    def _language(self, person: Person | None, room: RoomLink | None) -> Language:
        for choice in (person.language if person else None, room.language if room else None):
            if choice in ("de", "en"):
                return choice  # type: ignore[return-value]
        return self.settings.language

    def _unregistered(self, session: Session, incoming: Incoming, lang: Language) -> Reply:
        coordinators = (
            session.execute(
                select(Person.name)
                .where(Person.role == Role.COORDINATION)
                .order_by(Person.id)
                .limit(3)
            )
            .scalars()
            .all()
        )
        contacts = ", ".join(coordinators) if coordinators else t(lang, "contacts_fallback")
        return Reply.text(
            t(lang, "unregistered", address=incoming.sender_address, contacts=contacts),
            outcome="unregistered",
        )

    def _unknown(self, text: str, lang: Language) -> Reply:
        if not text:
            return Reply.text(t(lang, "empty"), outcome="unknown")
        name = text.split()[0]
        typed = fold(name)
        choices: dict[str, str] = {}
        for command in self.registry.commands:
            # Suggestions in the reader's language, from names in that language: the English
            # "field" is no hint for a German "meld".
            spellings = (*command.de, command.ascii) if lang == "de" else command.en
            for spelling in spellings:
                choices.setdefault(fold(spelling), command.name(lang))
        best = process.extract(typed, list(choices), scorer=fuzz.ratio, limit=8, score_cutoff=60)
        # Also offer commands the typed word starts ("ziel" for "zielbaum").
        prefixed = [c for c in choices if typed.startswith(c) or c.startswith(typed)]
        suggestions = list(
            dict.fromkeys([choices[b[0]] for b in best] + [choices[c] for c in prefixed])
        )[:3]
        if not suggestions:
            return Reply.text(t(lang, "unknown_command_plain", name=name), outcome="unknown")
        return Reply.text(
            t(lang, "unknown_command", name=name, suggestions=", ".join(suggestions)),
            outcome="unknown",
        )

    def _error_reply(
        self, error: CommandError, command: Command, lang: Language, *, preformatted: bool = False
    ) -> Reply:
        if isinstance(error, UsageError):
            if preformatted and error.reason:
                return Reply.text(error.reason, outcome="usage")
            key = "usage_reason" if error.reason else "usage"
            return Reply.text(
                t(
                    lang,
                    key,
                    reason=error.reason or "",
                    usage=command.usage_line(lang),
                    example=command.example_line(lang),
                ),
                outcome="usage",
            )
        if isinstance(error, NotFound):
            if error.suggestions:
                suggestions = "; ".join(m.label for m in error.suggestions)
                return Reply.text(
                    t(lang, "not_found_suggest", text=error.text, suggestions=suggestions),
                    outcome="not_found",
                )
            lines = [t(lang, "not_found", text=error.text)]
            if error.hint:
                lines.append(error.hint)
            return Reply.text(*lines, outcome="not_found")
        if isinstance(error, Refused):
            return Reply.text(error.message, outcome="refused")
        raise error

    # -- numbered picks ---------------------------------------------------------------------

    def _ask_to_pick(
        self, incoming: Incoming, text: str, ambiguous: Ambiguous, lang: Language
    ) -> Reply:
        with self.uows(write=True) as uow:
            uow.session.execute(delete(PendingChoice).where(*self._pending_where(incoming)))
            uow.session.add(
                PendingChoice(
                    platform=incoming.platform,
                    room_id=incoming.room_id,
                    sender_id=incoming.sender_id,
                    command_text=text,
                    span_start=ambiguous.start,
                    span_end=ambiguous.end,
                    candidates=[
                        [self.lookup.pick_ref(uow.session, m), m.kind.value, m.id]
                        for m in ambiguous.candidates
                    ],
                    pins=[[p.text, p.kind.value, p.id] for p in incoming.pins],
                    created_at=self.clock(),
                )
            )
            uow.commit()
        lines = [f"{i}. {m.label}" for i, m in enumerate(ambiguous.candidates, start=1)]
        if ambiguous.more:
            lines.append(t(lang, "ambiguous_more", n=ambiguous.more))
        return Reply.text(t(lang, "ambiguous", text=ambiguous.text), *lines, outcome="ambiguous")

    def _apply_pick(self, incoming: Incoming, text: str) -> Incoming | Reply | None:
        """A bare number after a candidate list re-runs the command with that candidate.

        Only right after the list (the sender's previous command in this room) or as a reply
        to the list message, and within PICK_EXPIRY; otherwise the number is no pick at all.
        """
        found = _PICK.match(text)
        if not found:
            return None
        with self.uows(write=True) as uow:
            pending = uow.session.execute(
                select(PendingChoice).where(*self._pending_where(incoming))
            ).scalar_one_or_none()
            if pending is None:
                return None
            replied_to_list = (
                incoming.reply_to is not None and incoming.reply_to == pending.list_message_id
            )
            if pending.superseded and not replied_to_list:
                return None
            if incoming.reply_to is not None and pending.list_message_id and not replied_to_list:
                return None  # a reply to some other message
            if pending.created_at < self.clock() - PICK_EXPIRY:
                # A number long after the list is more likely meant otherwise.
                uow.session.delete(pending)
                uow.commit()
                return None
            number = int(found.group(1))
            if not 1 <= number <= len(pending.candidates):
                person, _is_admin, room = self._identify(uow.session, incoming)
                lang = self._language(person, room)
                return Reply.text(
                    t(lang, "pick_invalid", n=len(pending.candidates)), outcome="usage"
                )
            chosen = pending.candidates[number - 1]
            pins = [Pin(str(p[0]), Kind(p[1]), int(p[2])) for p in pending.pins or []]
            if isinstance(chosen, list):
                replacement = str(chosen[0])
                pins.append(Pin(replacement.strip('"„“'), Kind(chosen[1]), int(chosen[2])))
            else:  # a list written before picks carried their entity
                replacement = str(chosen)
            original = pending.command_text
            span_start, span_end = pending.span_start, pending.span_end
            uow.session.delete(pending)
            uow.commit()
        new_text = original[:span_start] + replacement + original[span_end:]
        return dataclasses.replace(incoming, text=new_text, pins=tuple(pins), reply_to=None)

    def remember_list(self, incoming: Incoming, list_message_id: str) -> None:
        """The platform id of the bot's numbered list, so a reply to it picks (adapters)."""
        with self.uows(write=True) as uow:
            uow.session.execute(
                update(PendingChoice)
                .where(*self._pending_where(incoming))
                .values(list_message_id=list_message_id)
            )
            uow.commit()

    def _has_open_choice(self, session: Session, incoming: Incoming) -> bool:
        return (
            session.execute(
                select(PendingChoice.id).where(
                    *self._pending_where(incoming), PendingChoice.superseded.is_(False)
                )
            ).first()
            is not None
        )

    def _supersede_choice(self, incoming: Incoming) -> None:
        with self.uows(write=True) as uow:
            uow.session.execute(
                update(PendingChoice).where(*self._pending_where(incoming)).values(superseded=True)
            )
            uow.commit()

    @staticmethod
    def _pending_where(incoming: Incoming) -> tuple[ColumnElement[bool], ...]:
        return (
            PendingChoice.platform == incoming.platform,
            PendingChoice.room_id == incoming.room_id,
            PendingChoice.sender_id == incoming.sender_id,
        )

    def _remember_platform(self, person_id: int, platform: str) -> None:
        # Best effort: where a person last wrote decides where reminders go first.
        try:
            with self.uows(write=True) as uow:
                person = uow.session.get(Person, person_id)
                if person is not None:
                    person.last_platform = platform
                    uow.commit()
        except OperationalError:
            log.warning("could not record last platform of person %s", person_id)


def _name_inferred(context: Context, reply: Reply) -> None:
    """A write on a fragment or a typo names what it acted on (PRODUCT.md §2), unless the
    reply names it already (a measure's line shows its id and title)."""
    shown = reply.plain()
    lines = []
    for typed, match in context.inferred:
        if match.label in shown:
            continue
        line = context.de_en(f"„{typed}“ = {match.label}", f"“{typed}” = {match.label}")
        if line not in lines:
            lines.append(line)
    if lines and reply.outcome == "ok":
        reply.add(*lines)


def _unclosed(lang: Language) -> str:
    return (
        "Ein Anführungszeichen ist nicht geschlossen."
        if lang == "de"
        else "A quotation mark is not closed."
    )
