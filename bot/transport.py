"""The Transport contract: a chat platform the bot serves (Matrix, Telegram) in one process."""

from __future__ import annotations

from typing import Protocol

from handlers.ports import Notifier


class TransportTaken(Exception):
    """Another process owns this platform's account (Matrix device, Telegram poller)."""


class Transport(Protocol):
    """Started once, runs until cancelled, stopped on shutdown.

    A transport only translates: platform events become `Incoming`, answered by the
    conversation service (`App.answer`, in a worker thread; bot/platform.py is what the chat
    adapters share), and `Reply` is rendered back.
    """

    platform: str
    notifier: Notifier

    async def start(self) -> None:
        """Log in and take the platform lease; raise TransportTaken if another process has it."""

    async def run(self) -> None:
        """Serve until cancelled (sync loop, long polling or webhook)."""

    async def stop(self) -> None:
        """Release the lease and close connections."""
