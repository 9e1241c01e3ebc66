"""The dispatcher: identifies the sender, enforces roles, runs a handler in a unit of work."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rapidfuzz import fuzz, process
from sqlalchemy import (
    ColumnElement,
    Exists,
    Insert,
    ScalarSelect,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

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
from handlers.core import Incoming, Language, Reply, ShownVersion
from handlers.dates import DateOutOfRange
from handlers.i18n import fmt_number, t
from handlers.ports import Clock, system_clock
from handlers.questions import (
    READ_KEYS,
    RememberingLookup,
    closest,
    is_question_word,
    read_question,
)
from handlers.rate_limit import RateLimiter, Verdict
from storage.limits import EARLIEST, LATEST, MESSAGE_LIMIT, OutOfRange, TooLong, clean
from storage.lookup import Kind, NameLookup, Pin
from storage.models import (
    ChatIdentity,
    PendingChoice,
    Person,
    ProcessedMessage,
    Role,
    RoomLink,
    SentMessage,
    UnregisteredNotice,
)
from storage.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("regelkreis.dispatch")

# A reply that is not sent: the adapters send nothing (handlers/conversation.py).
SILENT = "silent"

# How long a numbered candidate list waits for its pick.
PICK_EXPIRY = timedelta(minutes=30)
_PICK = re.compile(r"^\s*#?(\d{1,2})\s*\.?\s*$")


def is_pick(text: str) -> bool:
    """A bare number like `2`, `#2` or `2.`: the reply to a numbered candidate list."""
    return _PICK.match(text) is not None


@dataclass
class _Effects:
    """What one message writes besides a command's own change, gathered while it is
    answered and written together: in the command's transaction when it writes, else in
    one short write after the read (none at all for a console read without a list open)."""

    claim: Claim | None = None
    # Another command than a pick: an earlier numbered list no longer takes a bare number.
    supersede: bool = False
    used_choice: int | None = None  # the pending choice a pick consumed (or that expired)
    new_choice: PendingChoice | None = None  # the numbered list this reply asks from
    moved_to: tuple[int, str] | None = None  # (person id, platform) where they wrote now
    # (platform, room id, day): an unregistered sender was told whom to ask here today.
    noticed: tuple[str, str, date] | None = None
    failed: bool = False  # the command raised an error or a question: its changes are undone

    @property
    def any(self) -> bool:
        return bool(
            (self.claim is not None and not self.claim.recorded)
            or self.supersede
            or self.used_choice is not None
            or self.new_choice is not None
            or self.moved_to is not None
            or self.noticed is not None
        )


@dataclass
class _Ask:
    """A read's numbered list: the reply, and the choice to write with the claim."""

    reply: Reply
    choice: PendingChoice


def _open_choice() -> Exists:
    return (
        select(PendingChoice.id)
        .where(
            PendingChoice.platform == bindparam("platform"),
            PendingChoice.room_id == bindparam("room_id"),
            PendingChoice.sender_id == bindparam("user_id"),
            PendingChoice.superseded.is_(False),
        )
        .exists()
    )


def _room_link() -> ScalarSelect[int | None]:
    return (
        select(RoomLink.id)
        .where(RoomLink.platform == bindparam("platform"), RoomLink.room_id == bindparam("room_id"))
        .scalar_subquery()
    )


# Built once: every message runs them, and building a statement costs more than running it.
_SENDER = (
    select(Person, _room_link(), _open_choice())
    .join(ChatIdentity)
    .where(
        ChatIdentity.platform == bindparam("platform"), ChatIdentity.user_id == bindparam("user_id")
    )
    .options(joinedload(Person.department))
)
_ROOM_AND_CHOICE = select(_room_link(), _open_choice())
_SHOWN = select(SentMessage.measure_id, SentMessage.measure_version).where(
    SentMessage.platform == bindparam("platform"),
    SentMessage.room_id == bindparam("room_id"),
    SentMessage.message_id == bindparam("message_id"),
)


def shown_by(session: Session, platform: str, room_id: str, message_id: str) -> ShownVersion | None:
    """The measure and version a bot message showed, for a reply or reaction to it."""
    row = session.execute(
        _SHOWN, {"platform": platform, "room_id": room_id, "message_id": message_id}
    ).first()
    return ShownVersion(row[0], row[1]) if row is not None else None


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
        # SQLite has one writer: while a slow write (an import) holds it, the small writes
        # a read leaves (its claim, a list) wait in `_deferred` for a thread of their own,
        # so the read is answered at once instead of after the import (see _write_effects).
        self._one_writer = uows.engine.dialect.name == "sqlite"
        self._slow_writes = 0
        self._slow_lock = threading.Lock()
        self._deferred: queue.SimpleQueue[tuple[Incoming, _Effects]] | None = None
        self._limiter = RateLimiter(settings.rate_limit)

    def handle(self, incoming: Incoming) -> Reply:
        return self._handle_safely(incoming, None)

    def handle_once(self, incoming: Incoming, claim: Claim) -> Reply | None:
        """Answer a platform message at most once across processes and restarts.

        The claim (ProcessedMessage) commits in the one write transaction of the message: a
        command that changes something commits it with the change, so a crash in between
        leaves neither and the redelivered message runs again; a read writes it after
        answering. None: the message was taken on before (its reply is not sent).
        """
        try:
            return self._handle_safely(incoming, claim)
        except AlreadyHandled:
            return None

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
            if claim is not None and not claim.recorded and not self.record_claim(claim):
                raise AlreadyHandled from None  # another process answered it meanwhile
            return reply

    # -- steps ----------------------------------------------------------------------------

    def _handle(self, incoming: Incoming, claim: Claim | None = None) -> Reply:
        # Control characters and the bidi overrides go at the door (storage/limits.py): the
        # console would obey an ANSI escape, a title could reverse the text after it, and
        # PostgreSQL cannot store NUL.
        cleaned = clean(incoming.text)
        if cleaned != incoming.text:
            incoming = dataclasses.replace(incoming, text=cleaned)
        text = incoming.text.strip()
        effects = _Effects(claim=claim)
        if len(text) > MESSAGE_LIMIT:
            self._write_effects(incoming, effects)
            return Reply.text(
                t(
                    self.settings.language,
                    "limits.message_too_long",
                    length=fmt_number(len(text), self.settings.language),
                    limit=fmt_number(MESSAGE_LIMIT, self.settings.language),
                ),
                outcome="usage",
            )
        picked = self._apply_pick(incoming, text, effects)
        if isinstance(picked, Reply):
            self._write_effects(incoming, effects)
            return picked
        if picked is not None:
            incoming = picked
            text = incoming.text
        found = self.registry.find(text)
        command, args_at = found if found else (None, 0)
        writes = bool(command and command.writes)
        slow = writes and command is not None and command.slow and self._one_writer
        with self._holding_the_writer(slow), self.uows(write=writes) as uow:
            if incoming.reply_to is not None and incoming.shown is None:
                incoming = dataclasses.replace(
                    incoming,
                    shown=shown_by(
                        uow.session, incoming.platform, incoming.room_id, incoming.reply_to
                    ),
                )
            person, is_admin, room, open_choice = self._identify(uow.session, incoming)
            effects.supersede = picked is None and open_choice
            if person is not None and person.last_platform != incoming.platform:
                effects.moved_to = (person.id, incoming.platform)
            if not writes:
                # Everything a read needs is loaded before its session closes.
                answer = self._run(uow, incoming, text, command, args_at, person, is_admin, room)
            else:
                # One transaction: the claim, the change, the pick and the list together.
                if claim is not None:
                    try:
                        uow.session.execute(claim.insert())
                    except IntegrityError:
                        raise AlreadyHandled from None
                    effects.claim = None  # inserted here; recorded once this commits
                savepoint = uow.session.begin_nested()
                try:
                    answer = self._run(
                        uow, incoming, text, command, args_at, person, is_admin, room, effects
                    )
                except BaseException:
                    savepoint.rollback()
                    raise
                if effects.failed:
                    savepoint.rollback()  # refused or asked back: the command changes nothing
                else:
                    savepoint.commit()
                self._apply_effects(uow.session, incoming, effects)
                uow.commit()
                if claim is not None:
                    claim.recorded = True
                assert isinstance(answer, Reply)  # a write's question went into `effects`
                return answer
        if (
            isinstance(answer, Reply)
            and answer.outcome == "unregistered"
            and incoming.platform != "console"
        ):
            today = self.clock().astimezone(self.settings.timezone).date()
            effects.noticed = (incoming.platform, incoming.room_id, today)
        if isinstance(answer, _Ask):
            effects.new_choice = answer.choice
            effects.supersede = False  # the new list replaces the old one
            answer = answer.reply
        self._write_effects(incoming, effects)
        return answer

    def _run(
        self,
        uow: UnitOfWork,
        incoming: Incoming,
        text: str,
        command: Command | None,
        args_at: int,
        person: Person | None,
        is_admin: bool,
        room: RoomLink | None,
        effects: _Effects | None = None,
        *,
        lookup: NameLookup | None = None,
    ) -> Reply | _Ask:
        """The command's answer. A numbered list comes back as `_Ask` from a read, and goes
        into `effects` in a write."""
        lang = self._language(person, room)
        if person is not None and incoming.platform != "console":
            limited = self._rate_limited(incoming)
            if limited is not None:
                return limited
        if (
            person is None
            and not is_admin
            and (command is None or command.key not in OPEN_TO_UNREGISTERED)
        ):
            return self._unregistered(uow.session, incoming, lang)
        if (
            person is not None
            and not person.active
            and (command is None or command.key not in OPEN_TO_UNREGISTERED)
        ):
            return Reply.text(t(lang, "people.you_are_deactivated"), outcome="refused")
        if command is None:
            return self._question(uow, incoming, text, person, is_admin, room)
        if not command.access.allows(person.role if person else None, is_admin):
            return self._forbidden(command, person, incoming, lang)
        context = Context(
            incoming=incoming,
            uow=uow,
            person=person,
            is_admin=is_admin,
            lang=lang,
            now=self.clock(),
            settings=self.settings,
            lookup=lookup or self.lookup,
            room=room,
            writes=command.writes,
        )
        try:
            args = parse_args(text[args_at:], command.options, offset=args_at)
            reply = command.handler(context, args)
            if command.writes:
                _name_inferred(context, reply)
                uow.session.flush()  # a failing write is an error here, not at commit
            return reply
        except Ambiguous as ambiguous:
            ask = self._ask_to_pick(uow.session, incoming, text, ambiguous, lang)
            if effects is None:
                return ask
            effects.new_choice = ask.choice
            effects.supersede = False
            effects.failed = True
            return ask.reply
        except CommandError as error:
            if effects is not None:
                effects.failed = True
            return self._error_reply(error, command, lang)
        except (TooLong, OutOfRange, DateOutOfRange) as beyond:
            if effects is not None:
                effects.failed = True
            return Reply.text(limit_message(beyond, lang), outcome="usage")
        except ParseError:
            if effects is not None:
                effects.failed = True
            return self._error_reply(
                UsageError(
                    t(
                        lang,
                        "usage_reason",
                        reason=t(lang, "unclosed_quote"),
                        usage=command.usage_line(lang),
                        example=command.example_line(lang),
                    )
                ),
                command,
                lang,
                preformatted=True,
            )

    def _forbidden(
        self, command: Command, person: Person | None, incoming: Incoming, lang: Language
    ) -> Reply:
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

    # -- the message's writes besides the command's own -------------------------------------

    @contextlib.contextmanager
    def _holding_the_writer(self, slow: bool) -> Iterator[None]:
        """Count the slow writes under way in this process (SQLite only; see __init__)."""
        if not slow:
            yield
            return
        with self._slow_lock:
            self._slow_writes += 1
        try:
            yield
        finally:
            with self._slow_lock:
                self._slow_writes -= 1

    def _write_effects(self, incoming: Incoming, effects: _Effects) -> None:
        """One write transaction for a read's claim, pick and list; none if nothing.

        While a slow write of this process holds SQLite's lock, they are written as soon as
        it is free, by one thread in order, and the read's answer goes out now. The price,
        only then: a crash before they land lets that read be answered once more after the
        restart, and a number typed at once may not find a list shown meanwhile.
        """
        if not effects.any:
            return
        if self._slow_writes:
            self._defer(incoming, effects)
            return
        self._write_effects_now(incoming, effects)

    def _defer(self, incoming: Incoming, effects: _Effects) -> None:
        with self._slow_lock:
            if self._deferred is None:
                self._deferred = queue.SimpleQueue()
                threading.Thread(
                    target=self._write_deferred, name="regelkreis-deferred-writes", daemon=True
                ).start()
        assert self._deferred is not None
        self._deferred.put((incoming, effects))

    def _write_deferred(self) -> None:
        assert self._deferred is not None
        while True:
            incoming, effects = self._deferred.get()
            try:
                self._write_effects_now(incoming, effects)
            except AlreadyHandled:
                log.warning("%s was answered by another process as well", incoming.message_id)
            except Exception:
                log.exception("could not record the effects of %r", incoming.text)

    def _write_effects_now(self, incoming: Incoming, effects: _Effects) -> None:
        with self.uows(write=True) as uow:
            self._apply_effects(uow.session, incoming, effects)
            uow.commit()
        if effects.claim is not None:
            effects.claim.recorded = True

    def _apply_effects(self, session: Session, incoming: Incoming, effects: _Effects) -> None:
        claim = effects.claim
        if claim is not None and not claim.recorded:
            try:
                with session.begin_nested():
                    session.execute(claim.insert())
            except IntegrityError:
                raise AlreadyHandled from None
        if effects.used_choice is not None:
            session.execute(delete(PendingChoice).where(PendingChoice.id == effects.used_choice))
        if effects.new_choice is not None:
            session.execute(delete(PendingChoice).where(*self._pending_where(incoming)))
            session.add(effects.new_choice)
        elif effects.supersede:
            session.execute(
                update(PendingChoice).where(*self._pending_where(incoming)).values(superseded=True)
            )
        if effects.noticed is not None:
            platform, room_id, day = effects.noticed
            try:
                with session.begin_nested():
                    session.add(UnregisteredNotice(platform=platform, room_id=room_id, day=day))
            except IntegrityError:
                pass  # another process told them at the same moment: once is enough
        if effects.moved_to is not None:
            # Where a person last wrote decides where reminders go first.
            person_id, platform = effects.moved_to
            session.execute(
                update(Person).where(Person.id == person_id).values(last_platform=platform)
            )

    def _rate_limited(self, incoming: Incoming) -> Reply | None:
        """None, or the answer to a registered person over the limit (docs/operations.md): the
        message is taken on (claimed) but not run. Unregistered senders are silenced by their
        once-a-day notice instead."""
        now = self.clock()
        verdict = self._limiter.check(incoming.sender_address, now, incoming.sent_at)
        if verdict is Verdict.ALLOW:
            return None
        if verdict is Verdict.SILENT:
            return Reply(outcome=SILENT)
        lang = self.settings.language
        return Reply.text(
            t(
                lang,
                "rate_limited",
                limit=self.settings.rate_limit,
                seconds=self._limiter.wait_seconds(incoming.sender_address, now),
            ),
            outcome="refused",
        )

    def _identify(
        self, session: Session, incoming: Incoming
    ) -> tuple[Person | None, bool, RoomLink | None, bool]:
        """The sender, whether they administer, the room's link and whether the sender has
        a numbered list open here: one statement when the sender is registered."""
        values = {
            "platform": incoming.platform,
            "user_id": incoming.sender_id,
            "room_id": incoming.room_id,
        }
        row = session.execute(_SENDER, values).first()
        if row is not None:
            person, room_link_id, open_choice = row
        else:
            person = None
            room_link_id, open_choice = session.execute(_ROOM_AND_CHOICE, values).one()
        room = session.get(RoomLink, room_link_id) if room_link_id is not None else None
        is_admin = incoming.sender_address in self.settings.admins or bool(
            person and person.is_admin
        )
        return person, is_admin, room, bool(open_choice)

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
        """Whom to ask, once per room and day; then silence, so a busy room is not flooded
        by the bot answering every message of someone it does not know."""
        today = self.clock().astimezone(self.settings.timezone).date()
        told = session.scalar(
            select(UnregisteredNotice.id).where(
                UnregisteredNotice.platform == incoming.platform,
                UnregisteredNotice.room_id == incoming.room_id,
                UnregisteredNotice.day == today,
            )
        )
        if told is not None and incoming.platform != "console":
            return Reply(outcome=SILENT)
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

    def _question(
        self,
        uow: UnitOfWork,
        incoming: Incoming,
        text: str,
        person: Person | None,
        is_admin: bool,
        room: RoomLink | None,
    ) -> Reply | _Ask:
        """A sentence that is no command: answered by the read command it asks for, exactly
        as if that was typed, with a last line naming it; else the closest commands."""
        lang = self._language(person, room)
        today = self.clock().astimezone(self.settings.timezone).date()
        lookup = RememberingLookup(self.lookup)
        reading = read_question(text, uow.session, lookup, today) if text else None
        if reading is None:
            return self._unknown(text, lang)
        typed = reading.text(self.registry.get(reading.key).name(lang))
        found = self.registry.find(typed)
        # Only read commands come out of a question: a sentence never changes anything
        # (checked here too, not only by the reader, and not as an assert: -O drops those).
        if reading.key not in READ_KEYS or found is None or found[0].writes:
            log.error("question %r read as %r, which is no read command", text, typed)
            return self._unknown(text, lang)
        command, args_at = found
        answer = self._run(
            uow,
            dataclasses.replace(incoming, text=typed),
            typed,
            command,
            args_at,
            person,
            is_admin,
            room,
            lookup=lookup,
        )
        reply = answer.reply if isinstance(answer, _Ask) else answer
        reply.add(t(lang, "questions.as_command", command=typed))
        return answer

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
        if len(text.split()) > 1:
            # In a sentence the first word is mostly a question word or a greeting: only a
            # close one is taken for a mistyped command ("meld M-1", not "Guten Morgen").
            sentence_like = is_question_word(name)
            mistyped = [
                choices[b[0]] for b in best if b[1] >= 65 and not sentence_like and len(typed) > 3
            ]
            named: list[str] = []
            # A command with a question mark or a full stop ("Wer bin ich?").
            bare = self.registry.find(text.rstrip("?!. "))
            if bare is not None and not bare[0].writes:
                named.append(bare[0].name(lang))
            # A change asked for in a sentence ("Kannst du M-5 auf erledigt setzen?"): the
            # command that does it, named by a word of the sentence, comes closest.
            for word in re.findall(r"[^\W\d_]+", text):
                found = self.registry.find(word)
                if found is not None and fold(word) in map(fold, found[0].de + found[0].en):
                    named.append(found[0].name(lang))
            return self._closest(
                text, name, list(dict.fromkeys(mistyped))[:3], lang, named=named[:3]
            )
        if not suggestions:
            return Reply.text(t(lang, "unknown_command_plain", name=name), outcome="unknown")
        return Reply.text(
            t(lang, "unknown_command", name=name, suggestions=", ".join(suggestions)),
            outcome="unknown",
        )

    def _closest(
        self, text: str, name: str, suggestions: list[str], lang: Language, *, named: list[str]
    ) -> Reply:
        """A sentence read as no question: the commands closest to it, an example each: a
        mistyped command when its first word is close to one, else the commands the
        sentence names, else the read commands its words come closest to."""
        by_name = {c.name(lang): c for c in self.registry.commands}
        commands = [by_name[s] for s in suggestions or named if s in by_name]
        if not suggestions:
            # The commands named and then those its words come closest to: two at least.
            nearest = [self.registry.get(key) for key in closest(text)]
            wanted = 3 if not commands else max(0, 2 - len(commands))
            commands += [c for c in nearest if c not in commands][:wanted]
        heading = (
            t(lang, "questions.unknown_command", name=name)
            if suggestions
            else t(lang, "questions.unknown")
        )
        lines = [
            t(lang, "questions.closest", usage=c.usage_line(lang), example=c.example_line(lang))
            for c in commands[:3]
        ]
        return Reply.text(heading, *lines, t(lang, "questions.all_commands"), outcome="unknown")

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
        self, session: Session, incoming: Incoming, text: str, ambiguous: Ambiguous, lang: Language
    ) -> _Ask:
        choice = PendingChoice(
            platform=incoming.platform,
            room_id=incoming.room_id,
            sender_id=incoming.sender_id,
            command_text=text,
            span_start=ambiguous.start,
            span_end=ambiguous.end,
            candidates=[
                [self.lookup.pick_ref(session, m), m.kind.value, m.id] for m in ambiguous.candidates
            ],
            pins=[[p.text, p.kind.value, p.id] for p in incoming.pins],
            created_at=self.clock(),
        )
        lines = [f"{i}. {m.label}" for i, m in enumerate(ambiguous.candidates, start=1)]
        if ambiguous.more:
            lines.append(t(lang, "ambiguous_more", n=ambiguous.more))
        reply = Reply.text(t(lang, "ambiguous", text=ambiguous.text), *lines, outcome="ambiguous")
        return _Ask(reply, choice)

    def _apply_pick(
        self, incoming: Incoming, text: str, effects: _Effects
    ) -> Incoming | Reply | None:
        """A bare number after a candidate list re-runs the command with that candidate.

        Only right after the list (the sender's previous command in this room) or as a reply
        to the list message, and within PICK_EXPIRY; otherwise the number is no pick at all.
        """
        found = _PICK.match(text)
        if not found:
            return None
        with self.uows() as uow:
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
                effects.used_choice = pending.id
                return None
            number = int(found.group(1))
            if not 1 <= number <= len(pending.candidates):
                person, _is_admin, room, _open = self._identify(uow.session, incoming)
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
            effects.used_choice = pending.id
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

    @staticmethod
    def _pending_where(incoming: Incoming) -> tuple[ColumnElement[bool], ...]:
        return (
            PendingChoice.platform == incoming.platform,
            PendingChoice.room_id == incoming.room_id,
            PendingChoice.sender_id == incoming.sender_id,
        )


def _name_inferred(context: Context, reply: Reply) -> None:
    """A write on a fragment or a typo names what it acted on (PRODUCT.md §2), unless the
    reply names it already (a measure's line shows its id and title)."""
    shown = reply.plain()
    lines = []
    for typed, match in context.inferred:
        if match.label in shown:
            continue
        line = context.t("inferred", typed=typed, label=match.label)
        if line not in lines:
            lines.append(line)
    if lines and reply.outcome == "ok":
        reply.add(*lines)


# The field a too-long text was meant for, as the reply names it (storage column names).
_FIELD_NAMES = {
    "title": "limits.field_title",
    "name": "limits.field_name",
    "description": "limits.field_description",
    "note": "limits.field_note",
    "text": "limits.field_text",
    "quality_target": "limits.field_quality_target",
    "source": "limits.field_source",
    "alias": "limits.field_alias",
    "unit": "limits.field_unit",
    "email": "limits.field_email",
    "body": "limits.field_body",
}


def limit_message(error: TooLong | OutOfRange | DateOutOfRange, lang: Language) -> str:
    """A text longer than its field or a date outside 2000–2100, said with the limit (the
    change is rolled back by the caller). Also the command line's message."""
    if isinstance(error, TooLong):
        field_name = t(lang, _FIELD_NAMES.get(error.column, "limits.field_other"))
        return t(
            lang,
            "limits.too_long",
            field=field_name,
            length=fmt_number(error.length, lang),
            limit=fmt_number(error.limit, lang),
        )
    text = error.text if isinstance(error, DateOutOfRange) else error.value.isoformat()
    return t(
        lang,
        "limits.date_out_of_range",
        text=text,
        earliest=EARLIEST.year,
        latest=LATEST.year,
    )
