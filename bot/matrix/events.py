"""Events the bot acts on: an invite, a command typed or addressed to it, a reaction that
stands for a quick answer, a message it cannot decrypt. Each becomes a conversation call."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import nio
from nio.crypto import decrypt_attachment

from bot.matrix.errors import NETWORK_ERRORS
from bot.matrix.parse import (
    PLATFORM,
    command_text,
    inviter_allowed,
    strip_reply_fallback,
)
from handlers.conversation import is_pick
from handlers.core import Incoming, Reply, ShownVersion
from handlers.i18n import bilingual

if TYPE_CHECKING:
    from bot.matrix.transport import MatrixTransport

log = logging.getLogger("regelkreis.matrix")


class Events:
    """The bot's answers to what a sync brings."""

    def __init__(self, bot: MatrixTransport) -> None:
        self.bot = bot
        self._resend_asked: set[tuple[str, str]] = set()

    async def on_invite(self, room_id: str, info: Any) -> None:
        client = self.bot.client
        inviter = None
        for event in info.invite_state:
            if (
                isinstance(event, nio.InviteMemberEvent)
                and event.state_key == client.user_id
                and event.membership == "invite"
            ):
                inviter = event.sender
        if inviter is not None and (
            inviter_allowed(inviter, self.bot.config.allowed_inviters, self.bot.admins)
            or await self.bot.shared.may_invite(inviter)
        ):
            answer = await client.join(room_id)
            if isinstance(answer, nio.JoinError):
                log.warning("could not join %s (invited by %s): %s", room_id, inviter, answer)
            else:
                log.info("joined %s, invited by %s", room_id, inviter)
            return
        log.warning("rejected the invite to %s from %s: not an allowed inviter", room_id, inviter)
        await client.room_leave(room_id)

    async def on_event(self, room: Any, event: Any) -> None:
        if event.sender == self.bot.client.user_id:
            return
        if event.server_timestamp < self.bot.sync.cutoff_ms():
            return
        try:
            if isinstance(event, nio.MegolmEvent):
                await self.bot.crypto.on_undecryptable(room, event)
            elif isinstance(event, nio.RoomMessageText):
                await self._on_text(room, event)
            elif isinstance(event, (nio.RoomMessageFile, nio.RoomEncryptedFile)):
                await self._on_file(room, event)
            elif event.source.get("type") == "m.reaction":
                await self._on_reaction(room, event)
        except NETWORK_ERRORS:
            raise
        except Exception:  # one bad event must not stop the room; it is logged with its id
            log.exception(
                "Matrix event %s in %s could not be handled", event.event_id, room.room_id
            )

    @staticmethod
    def _is_direct(room: Any) -> bool:
        return int(room.member_count) <= 2

    async def _on_text(self, room: Any, event: Any) -> None:
        client, config = self.bot.client, self.bot.config
        content = event.source.get("content") or {}
        relates = content.get("m.relates_to") or {}
        if relates.get("rel_type") == "m.replace":
            return  # an edit; the original was the command
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        localpart = config.user_id[1:].split(":", 1)[0]
        text = command_text(
            content,
            prefix=config.command_prefix,
            user_id=client.user_id,
            names=(client.user_id, self.bot.display_name or "", localpart),
            is_direct=self._is_direct(room),
        )
        # "A reply with the number picks one": a bare number replying to the bot's list.
        if (
            text is None
            and reply_to
            and is_pick(strip_reply_fallback(event.body))
            and await self._sent_by_me(room.room_id, reply_to)
        ):
            text = strip_reply_fallback(event.body).strip()
        if text is None:
            return
        await self._answer(
            room, event, text, None, reply_to, self._reply_relation(event.event_id, relates)
        )

    async def _on_file(self, room: Any, event: Any) -> None:
        """A file (m.file, encrypted or not): downloaded when it can be a plan, kept for
        `import`. Element sends the file and the text `import` as two events; a caption in
        the file event itself (body beside filename) is answered as a command too."""
        content = event.source.get("content") or {}
        name = str(content.get("filename") or event.body or "plan")
        info = content.get("info") or {}
        size = info.get("size") if isinstance(info.get("size"), int) else None
        caption = event.body if content.get("filename") and event.body != name else None
        text = None
        if caption:
            config = self.bot.config
            localpart = config.user_id[1:].split(":", 1)[0]
            text = command_text(
                {**content, "body": caption},
                prefix=config.command_prefix,
                user_id=self.bot.client.user_id,
                names=(self.bot.client.user_id, self.bot.display_name or "", localpart),
                is_direct=self._is_direct(room),
            )
        data: bytes | None = None
        if self.bot.shared.accepts_file(name, size):
            data = await self._download(event)
        incoming = Incoming(
            platform=PLATFORM,
            room_id=room.room_id,
            sender_id=event.sender,
            text=text or "",
            message_id=event.event_id,
            sender_name=room.user_name(event.sender),
            is_direct=self._is_direct(room),
        )

        async def work() -> None:
            reply = await self.bot.shared.received_file(
                incoming, event.event_id, name, data, size if size is not None else len(data or b"")
            )
            if reply is not None:
                await self._send_answer(room, event, incoming, reply, {})

        await self.bot.shared.in_turn(incoming, work())

    async def _download(self, event: Any) -> bytes | None:
        """The file's bytes, decrypted in an encrypted room; None when that fails."""
        answer = await self.bot.client.download(mxc=event.url)
        if not isinstance(answer, nio.MemoryDownloadResponse):
            log.warning("could not download %s (%s): %s", event.url, event.event_id, answer)
            return None
        body = bytes(answer.body)
        if isinstance(event, nio.RoomEncryptedFile):
            try:
                return bytes(
                    decrypt_attachment(body, event.key["k"], event.hashes["sha256"], event.iv)
                )
            except Exception as error:  # a bad key or hash: the file is unusable, not us
                log.warning("could not decrypt the file of %s: %s", event.event_id, error)
                return None
        return body

    async def _answer(
        self,
        room: Any,
        event: Any,
        text: str,
        shown: ShownVersion | None,
        reply_to: str | None,
        relates_to: dict[str, Any],
    ) -> None:
        """Answer a command event (typed, or a reaction standing for one) once, as a reply.
        `reply_to`: the message it replies to; the core looks up what that one showed."""
        incoming = Incoming(
            platform=PLATFORM,
            room_id=room.room_id,
            sender_id=event.sender,
            text=text,
            message_id=event.event_id,
            shown=shown,
            sender_name=room.user_name(event.sender),
            is_direct=self._is_direct(room),
            reply_to=reply_to,
            sent_at=_sent_at(event),
        )

        async def work() -> None:
            reply = await self.bot.shared.answer(incoming, event.event_id)
            if reply is not None:
                await self._send_answer(room, event, incoming, reply, relates_to)

        # A slow command runs beside the sync loop: a `status` meanwhile is answered at once.
        await self.bot.shared.in_turn(incoming, work())

    async def _send_answer(
        self, room: Any, event: Any, incoming: Incoming, reply: Reply, relates_to: dict[str, Any]
    ) -> None:
        await self.bot.sender.deliver(
            room.room_id,
            reply,
            seed=event.event_id,
            msgtype="m.notice",
            relates_to=relates_to or self._reply_relation(event.event_id, {}),
            mention=event.sender,
            incoming=incoming,
        )

    @staticmethod
    def _reply_relation(event_id: str, relates: dict[str, Any]) -> dict[str, Any]:
        relation: dict[str, Any] = {"m.in_reply_to": {"event_id": event_id}}
        if relates.get("rel_type") == "m.thread":  # stay in the thread the command came from
            relation.update(rel_type="m.thread", event_id=relates.get("event_id"))
            relation["is_falling_back"] = False
        return relation

    async def _sent_by_me(self, room_id: str, event_id: str) -> bool:
        answer = await self.bot.client.room_get_event(room_id, event_id)
        return isinstance(answer, nio.RoomGetEventResponse) and (
            answer.event.sender == self.bot.client.user_id
        )

    async def _on_reaction(self, room: Any, event: Any) -> None:
        relates = (event.source.get("content") or {}).get("m.relates_to") or {}
        target, key = relates.get("event_id"), relates.get("key")
        if relates.get("rel_type") != "m.annotation" or not target or not key:
            return
        found = await self.bot.shared.reaction(room.room_id, target, key)
        if found is None:
            return  # a reaction to anything but a bot message about one measure is just chat
        command, shown = found
        await self._answer(
            room, event, command, shown, None, {"m.in_reply_to": {"event_id": target}}
        )

    async def ask_to_resend(self, room: Any, event: Any) -> None:
        """A command that stayed undecryptable: ask its sender to send it again."""
        # One request per sender and session: a key that is missing is missing for all of
        # that session's messages, and a busy room must not get one notice per message.
        session = (event.sender, event.session_id)
        if session in self._resend_asked:
            return
        if not await self.bot.shared.take(event.event_id, room.room_id):
            return
        self._resend_asked.add(session)
        log.warning(
            "could not decrypt %s from %s in %s (session %s); asked to send again",
            event.event_id,
            event.sender,
            room.room_id,
            event.session_id,
        )
        await self.bot.sender.deliver(
            room.room_id,
            Reply.text("🔒 " + bilingual("matrix.resend")),
            seed=event.event_id,
            msgtype="m.notice",
            relates_to={"m.in_reply_to": {"event_id": event.event_id}},
            mention=event.sender,
        )


def _sent_at(event: Any) -> datetime | None:
    """The homeserver's time of the event (milliseconds since the epoch), aware."""
    stamp = getattr(event, "server_timestamp", None)
    return datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int) else None
