"""The Matrix transport: start (the account's lease, the device's store), run (log in, then
sync until cancelled), stop, and the Notifier the outbox delivers through."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Any

import nio

from bot.bootstrap import App
from bot.config import MatrixConfig
from bot.matrix.crypto import Crypto
from bot.matrix.events import Events
from bot.matrix.parse import PLATFORM
from bot.matrix.send import Sender
from bot.matrix.session import Session
from bot.matrix.sync import SyncLoop
from bot.platform import ChatNotifier, Platform
from handlers.core import Reply
from handlers.ports import Delivery, Notifier, Recipient

# An undecryptable command waits this long for its room key before asking to send it again.
KEY_WAIT_SECONDS = 5.0


class MatrixNotifier(ChatNotifier):
    """The core's Notifier on Matrix: to a room, or to a person in their direct room."""


class MatrixTransport:
    """One Matrix account served by this process (a database lease makes sure of that)."""

    platform = PLATFORM
    # Events per room in one sync; a longer downtime is filled in from /messages.
    timeline_limit = 50
    key_wait_seconds = KEY_WAIT_SECONDS

    def __init__(
        self,
        app: App,
        config: MatrixConfig,
        *,
        store_dir: Path | None = None,
        send_only: bool = False,
    ) -> None:
        """`send_only`: only the notifier, for `reminders run-due` (see `start`)."""
        self.app = app
        self.config = config
        self.user_id = config.user_id
        self.send_only = send_only
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", config.user_id.lstrip("@"))
        self.store_dir = store_dir or app.config.data_dir / "matrix" / safe
        self.notifier: Notifier = MatrixNotifier(self)
        self.shared = Platform(
            app,
            PLATFORM,
            state_prefix=f"matrix:{config.user_id}:",
            lease=f"matrix:{config.user_id}",
        )
        self.admins = frozenset(app.config.bot.admins)
        self.client: Any = None  # nio.AsyncClient, created in start()
        self.display_name: str | None = None
        # Set once the first sync is handled: the bot answers and the Notifier can send.
        self.ready = asyncio.Event()
        self.session = Session(config, self.store_dir)
        self.sync = SyncLoop(self)
        self.crypto = Crypto(self)
        self.events = Events(self)
        self.sender = Sender(self)

    # -- Transport --------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the lease for this account, then open the device's store (no network yet).

        Send-only (`reminders run-due`): the bot's device and store, but no lease — a bot
        starting meanwhile must not find the account taken. Instead it leaves at once when
        the bot holds the lease (the bot runs and delivers Matrix's reminders itself), and
        asks again before every message it sends.
        """
        account = f"the Matrix account {self.user_id}"
        if self.send_only:
            await self.shared.leave_to_server(account)
        else:
            await self.shared.take_lease(account)
        await self.sync.load()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self.store_dir.chmod(0o700)  # the crypto store and the access token live here
        self.client = nio.AsyncClient(
            self.config.homeserver,
            self.user_id,
            device_id=self.config.device_id,
            store_path=str(self.store_dir),
            config=nio.AsyncClientConfig(
                encryption_enabled=True,
                store_sync_tokens=False,  # the sync token lives in the database
                # nio would retry 429s and connection errors forever; we bound and pace them.
                max_limit_exceeded=0,
                max_timeouts=0,
                request_timeout=30,
            ),
        )

    async def run(self) -> None:
        """Log in, then sync until cancelled, riding out homeserver outages.

        Send-only: log in, sync once to know the rooms, their members and keys (no event is
        handled, answered or claimed, no invite accepted), then wait until cancelled.
        """
        if self.send_only:
            await self.login()
            await self.sync.quietly(first=True)
            await asyncio.Event().wait()
            return
        await self.shared.serve(
            self._serve(), lost=f"lost the lease on the Matrix account {self.user_id}"
        )

    async def _serve(self) -> None:
        await self.login()
        await self.sync.forever()

    async def stop(self) -> None:
        """Close the connection and release the lease."""
        with contextlib.suppress(Exception):
            await self.shared.drain()  # an import in hand still sends its answer
        self.ready.clear()
        if not self.send_only:
            # Send-only keeps no sync token. The session and device stay: they are the
            # bot's own (see docs/reminders.md, "Triggers").
            with contextlib.suppress(Exception):
                await self.sync.flush()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
        await self.shared.release_lease()

    async def login(self, *, stale_token: bool = False) -> None:
        """The same device every time (bot/matrix/session.py), then the stored sync filter."""
        self.display_name = await self.session.login(self.client, stale_token=stale_token)
        await self.sync.upload_filter()

    # -- the Notifier -----------------------------------------------------------------------

    async def wait_ready(self, timeout: float) -> bool:
        """True once the first sync is done (the notifier can send); False after `timeout`."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.ready.wait(), timeout)
        return self.ready.is_set()

    async def notify(self, recipient: Recipient, message: Reply, idempotency_key: str) -> Delivery:
        """Send a message the bot decided on its own (reminders, assignment notices)."""
        if not self.ready.is_set():
            return Delivery.temporary("Matrix is not connected yet")
        if self.send_only and (other := await self.shared.served_by()) is not None:
            # The bot started while `run-due` sends: from now on it delivers.
            return Delivery.temporary(f"the running bot ({other}) serves Matrix now")
        if recipient.kind == "room":
            room_id = recipient.address
        else:
            found = await self.sender.direct_room(recipient.address)
            if isinstance(found, Delivery):
                return found
            room_id = found
        # The version the message shows comes with it (the outbox stores it): reactions on
        # it are refused once the measure changed, like a typed change (PRODUCT.md §1).
        return await self.sender.deliver(
            room_id, message, seed=f"notice|{idempotency_key}", msgtype="m.text"
        )


__all__ = ["MatrixNotifier", "MatrixTransport"]
