"""The database lease that lets one process serve a platform account (Matrix device,
Telegram poller), on the wall clock: a lease is about processes that live now, maybe on two
machines, which must agree when a crashed holder's lease runs out, whatever date the app is
told it is."""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from bot.bootstrap import App
from storage import locks

log = logging.getLogger("regelkreis.platform")

# A lease outlives a missed renewal or two; a holder that died on another machine frees it
# after LEASE_TTL, one that died on this machine at once (its pid is gone).
LEASE_TTL = timedelta(seconds=30)
LEASE_RENEW_SECONDS = 10.0


def wall_clock() -> datetime:
    """Leases only (see the module's docstring); everything else reads `app.clock`."""
    return datetime.now(UTC)


def _dead_local_holder(holder: str) -> bool:
    """A lease held by a process of this machine that no longer runs (after a crash)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    """The database lease that lets one process serve a platform account."""

    def __init__(self, app: App, name: str) -> None:
        self._uows = app.uows
        self.name = name
        self.holder = locks.new_holder()
        self.held = False

    def take(self) -> str | None:
        """None when this process holds the lease now, else who does."""
        if self.renew():
            return None
        other = locks.holder_of(self._uows, self.name, wall_clock())
        if other is not None and _dead_local_holder(other):
            log.warning("taking over the lease %s of %s, which no longer runs", self.name, other)
            locks.release(self._uows, self.name, other)
            if self.renew():
                return None
            other = locks.holder_of(self._uows, self.name, wall_clock())
        return other or "another process"

    def renew(self) -> bool:
        self.held = locks.acquire(self._uows, self.name, self.holder, wall_clock(), LEASE_TTL)
        return self.held

    def serving(self) -> str | None:
        """The live process that holds the lease now, if any (a send-only run asks)."""
        other = locks.holder_of(self._uows, self.name, wall_clock())
        return None if other is None or _dead_local_holder(other) else other

    def release(self) -> None:
        if self.held:
            self.held = False
            locks.release(self._uows, self.name, self.holder)
