"""The console chat: the same handlers in a terminal, interactive or scripted line by line."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterable
from typing import TextIO

from bot.bootstrap import App
from bot.outgoing import safe_line
from handlers.core import Incoming, Reply
from handlers.i18n import t
from handlers.ports import Delivery, Recipient
from schedules.delivery import deliver_due

PLATFORM = "console"
PROMPT = "regelkreis> "


def render(reply: Reply) -> str:
    """Plain text with the quick answers as the commands they stand for."""
    text = reply.plain()
    if reply.quick_answers:
        text += "\n↳ " + " · ".join(f"{qa.emoji} {qa.command}" for qa in reply.quick_answers)
    for attachment in reply.attachments:
        text += f"\n📎 {attachment.path}"
    return safe_line(text)


class ConsoleNotifier:
    """Prints the recipient, then the message (PRODUCT.md §3)."""

    platform = PLATFORM

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        self.out.write(f"→ {recipient.name}:\n{render(message)}\n\n")
        self.out.flush()
        return Delivery.delivered(idempotency_key)


class ConsoleChat:
    """One console session acting as one chat identity in one room."""

    def __init__(self, app: App, sender_id: str, room_id: str, out: TextIO) -> None:
        self.app = app
        self.sender_id = sender_id
        self.room_id = room_id
        self.out = out
        self.notifier = ConsoleNotifier(out)
        self._counter = 0

    def ask(self, text: str) -> str:
        self._counter += 1
        incoming = Incoming(
            platform=PLATFORM,
            room_id=self.room_id,
            sender_id=self.sender_id,
            text=text,
            message_id=f"console-{self._counter}",
        )
        reply = self.app.dispatcher.handle(incoming)
        return render(reply)

    def deliver(self) -> None:
        """Print what the bot sends on its own (e.g. the notice to a new assignee)."""
        asyncio.run(deliver_due(self.app.uows, {PLATFORM: self.notifier}, self.app.clock()))

    def run_script(self, lines: Iterable[str]) -> None:
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            self.out.write(self.ask(line) + "\n\n")
            self.out.flush()
            self.deliver()

    def run_interactive(self, stdin: TextIO = sys.stdin) -> None:
        with contextlib.suppress(ImportError):  # not on every platform
            import readline  # noqa: F401  (line editing and history at the prompt)
        # Before anyone writes: the installation's language (`[bot] language`).
        self.out.write(t(self.app.dispatcher.settings.language, "console.banner") + "\n")
        while True:
            try:
                line = input(PROMPT)
            except (EOFError, KeyboardInterrupt):
                self.out.write("\n")
                return
            if line.strip() in ("exit", "quit", "ende"):
                return
            if line.strip():
                self.out.write(self.ask(line) + "\n\n")
                self.deliver()
