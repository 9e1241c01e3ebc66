"""The conversation service: the one door of the core for a chat platform's adapter.

An adapter turns a platform event into an `Incoming`, asks `answer`, sends the reply its
own way, and tells `sent` what the sent message was. It calls nothing else of the core
(besides the `Notifier` it implements): which command a text is, whether it writes, how it
is claimed, what a reply to a bot message refers to — all of that is decided here.

Per platform message there is at most one write transaction before the reply (the claim,
the change, a numbered pick or list) and one after sending, only when the message showed a
measure or a numbered list (`sent`). A console read writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers import plan_chat
from handlers.commands import Command, fold
from handlers.core import Incoming, Language, Reply, ShownVersion
from handlers.dispatch import SILENT, Claim, Dispatcher, is_pick, shown_by
from handlers.ports import Clock
from handlers.views import reaction_command
from storage.models import PendingChoice, SentMessage
from storage.uow import UnitOfWorkFactory

__all__ = ["Claim", "Conversation", "MenuEntry", "is_pick"]


@dataclass(frozen=True)
class MenuEntry:
    """One line of a platform's command menu (Telegram's setMyCommands)."""

    command: str  # ASCII, as platforms require: "status", "faellig"
    description: str


class Conversation:
    """Answers platform messages once and remembers what the bot's messages showed."""

    def __init__(self, dispatcher: Dispatcher, uows: UnitOfWorkFactory, clock: Clock) -> None:
        self._dispatcher = dispatcher
        self._uows = uows
        self._clock = clock

    def answer(self, incoming: Incoming, claim: Claim | None = None) -> Reply | None:
        """The reply to one message, or None when it was taken on before (then nothing is
        sent). With `claim`, a platform message is answered at most once across processes
        and restarts. `incoming.reply_to`, the bot message it replies to, brings that
        message's measure version (a reply to an old message is checked against it) and
        picks from a numbered list."""
        reply = (
            self._dispatcher.handle(incoming)
            if claim is None
            else self._dispatcher.handle_once(incoming, claim)
        )
        # Silence on purpose (an unregistered sender told already today, a second message
        # over the rate limit): nothing is sent.
        return None if reply is not None and reply.outcome == SILENT else reply

    def received_file(
        self,
        incoming: Incoming,
        file_name: str,
        data: bytes | None,
        *,
        size: int,
        claim: Claim | None = None,
    ) -> Reply | None:
        """A file a person sent: kept for `import` (data None when the adapter did not
        download it: no plan, or over `accepts_file`'s limit; `import` then says why).
        `incoming.text` is the file's caption as a command (`import`) or empty; a caption
        is answered like that command typed, else nothing is answered (Element sends the
        file and the text as two events). None: nothing to send."""
        arrival = plan_chat.FileArrival(
            platform=incoming.platform,
            room_id=incoming.room_id,
            sender_id=incoming.sender_id,
            message_id=incoming.message_id,
            file_name=file_name,
            size=size,
            data=data,
        )
        with self._uows(write=True) as uow:
            plan_chat.store_received(
                uow.session, self._dispatcher.settings.data_dir, arrival, self._clock()
            )
            uow.commit()
        caption = incoming.text.strip()
        # A caption that is a command is answered; any other ("der neue Plan") is just chat.
        if caption and self._dispatcher.registry.find(caption) is not None:
            return self.answer(incoming, claim)
        if claim is not None:
            self.take(claim)
        return None

    def accepts_file(self, file_name: str, size: int | None) -> bool:
        """Whether an adapter should download a file: a plan's type, within the limit."""
        return plan_chat.accepts(file_name, size)

    def runs_long(self, incoming: Incoming) -> bool:
        """A command that may take seconds (an import, an export): the adapter answers it
        beside the room's order, so messages sent meanwhile are not held up."""
        found = self._dispatcher.registry.find(incoming.text.strip())
        return found is not None and found[0].slow

    def sent(
        self,
        platform: str,
        room_id: str,
        message_ids: Sequence[str],
        reply: Reply,
        *,
        incoming: Incoming | None = None,
        edited: bool = False,
    ) -> None:
        """What a sent bot message showed: its measure and version (a reply, button or
        reaction to it then carries that version) and, for a numbered list answering
        `incoming`, its id (a reply to the list picks from it). One write, none when the
        message showed neither. `edited`: the messages existed before (an edit)."""
        listed = reply.outcome == "ambiguous" and incoming is not None and message_ids
        if reply.subject is None and not listed:
            return
        with self._uows(write=True) as uow:
            if reply.subject is not None:
                self._remember(uow.session, platform, room_id, message_ids, reply, edited)
            if listed and incoming is not None:
                uow.session.execute(
                    update(PendingChoice)
                    .where(
                        PendingChoice.platform == incoming.platform,
                        PendingChoice.room_id == incoming.room_id,
                        PendingChoice.sender_id == incoming.sender_id,
                    )
                    .values(list_message_id=message_ids[0])
                )
            uow.commit()

    def _remember(
        self,
        session: Session,
        platform: str,
        room_id: str,
        message_ids: Sequence[str],
        reply: Reply,
        edited: bool,
    ) -> None:
        subject = reply.subject
        assert subject is not None
        now: datetime = self._clock()
        values = {
            "measure_id": subject.measure_id,
            "measure_version": subject.version,
            "sent_at": now,
        }
        for message_id in message_ids:
            where = (
                SentMessage.platform == platform,
                SentMessage.room_id == room_id,
                SentMessage.message_id == message_id,
            )
            if edited:
                changed = session.execute(update(SentMessage).where(*where).values(**values))
                if getattr(changed, "rowcount", 0):
                    continue
            try:
                with session.begin_nested():
                    session.execute(
                        insert(SentMessage).values(
                            platform=platform, room_id=room_id, message_id=message_id, **values
                        )
                    )
            except IntegrityError:
                pass  # a resend that got the same message id: it shows the same

    def reaction(
        self, platform: str, room_id: str, message_id: str, emoji: str
    ) -> tuple[str, ShownVersion] | None:
        """The command a reaction to a bot message stands for, with the version the message
        showed; None when it showed no measure or the emoji is no quick answer."""
        with self._uows() as uow:
            shown = shown_by(uow.session, platform, room_id, message_id)
        if shown is None:
            return None
        command = reaction_command(emoji, shown.measure_id)
        return (command, shown) if command is not None else None

    def take(self, claim: Claim) -> bool:
        """Take a platform event on that is not a message to answer (a membership change,
        an invite); False if it was taken on before."""
        return self._dispatcher.record_claim(claim)

    def may_invite(self, platform: str, user_id: str) -> bool:
        """Whether this platform user administers Regelkreis (configuration or `--admin`):
        adapters ask before they accept an invite or stay in a group."""
        return self._dispatcher.is_admin(platform, user_id)

    def menu(self, lang: Language) -> list[MenuEntry]:
        """The listed commands for a platform's menu in `lang`, in the registry's order,
        each once, named in lowercase ASCII with underscores (the registry reads `_` as a
        space, so `/ziel_neu` is `ziel neu`)."""
        entries: list[MenuEntry] = []
        seen: set[str] = set()
        for command in self._dispatcher.registry.commands:
            name = _menu_name(command, lang)
            if not command.listed or not name or name in seen:
                continue
            seen.add(name)
            entries.append(MenuEntry(name, command.help_line(lang)))
        return entries


def _menu_name(command: Command, lang: Language) -> str:
    if lang == "de":
        return command.ascii
    return re.sub(r"[^a-z0-9_]", "", fold(command.en[0]).replace(" ", "_"))[:32]
