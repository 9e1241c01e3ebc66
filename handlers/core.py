"""The neutral conversation types every transport translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from storage.lookup import Pin

Language = Literal["de", "en"]


@dataclass(frozen=True)
class ShownVersion:
    """The version of a measure that a bot message (or its button) showed."""

    measure_id: int
    version: int


@dataclass(frozen=True)
class Incoming:
    """One message from a person: platform, room, sender, text and message id."""

    platform: str  # "console", "matrix", "telegram"
    room_id: str
    sender_id: str  # the platform's user id, e.g. "@anna:example.org" or "123456789"
    text: str  # the command without prefix, e.g. "melden M-12 70% Träger gefunden"
    message_id: str | None = None
    # Set when the command came from a button/reaction or as a reply to a bot message that
    # showed one measure: the change is refused if the measure changed since.
    shown: ShownVersion | None = None
    sender_name: str | None = None
    is_direct: bool = False
    # The platform id of the message this one replies to (a reply to a numbered list picks).
    reply_to: str | None = None
    # Set by a numbered pick: the chosen candidates, resolved before anything else.
    pins: tuple[Pin, ...] = ()
    # When the platform says it was sent (aware): a message from the backlog answered after
    # downtime is not rate-limited.
    sent_at: datetime | None = None

    @property
    def sender_address(self) -> str:
        return f"{self.platform}:{self.sender_id}"

    @property
    def room_address(self) -> str:
        return f"{self.platform}:{self.room_id}"


@dataclass(frozen=True)
class QuickAnswer:
    """A button or reaction that acts exactly like typing `command`."""

    label: str  # "✅ erledigt"
    command: str  # "erledigt M-12"
    emoji: str  # "✅" — Matrix reacts with it


@dataclass(frozen=True)
class Attachment:
    """A file or image that a reply carries."""

    path: Path
    mime_type: str
    is_image: bool = False
    caption: str | None = None
    # The name the file is posted under (the stored file's name when None).
    file_name: str | None = None
    # An image's size in pixels (Matrix tells clients in the event's `info`).
    width: int | None = None
    height: int | None = None

    @property
    def name(self) -> str:
        return self.file_name or self.path.name


@dataclass(frozen=True)
class Block:
    """A paragraph of a reply: a heading line (bold where the platform has it) and lines."""

    lines: tuple[str, ...]
    heading: str | None = None


@dataclass
class Reply:
    """What a handler answers; transports render it (HTML on Matrix and Telegram, text here)."""

    blocks: list[Block] = field(default_factory=list)
    quick_answers: list[QuickAnswer] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    # The measure this reply is about, with the version shown: replies to it carry that version.
    subject: ShownVersion | None = None
    # "ok", "refused", "usage", "unknown", "ambiguous", "error", "unregistered".
    outcome: str = "ok"
    error_id: str | None = None

    @classmethod
    def text(cls, *lines: str, heading: str | None = None, outcome: str = "ok") -> Reply:
        return cls(blocks=[Block(tuple(lines), heading)], outcome=outcome)

    def add(self, *lines: str, heading: str | None = None) -> Reply:
        self.blocks.append(Block(tuple(lines), heading))
        return self

    def plain(self) -> str:
        """The reply as plain text: headings on their own line, blocks separated by a blank line."""
        parts: list[str] = []
        for block in self.blocks:
            lines = ([block.heading] if block.heading else []) + list(block.lines)
            parts.append("\n".join(lines))
        return "\n\n".join(p for p in parts if p)
