"""Rate limiting per sender: at most N commands a minute, one polite notice per window.

In memory, per process: a limit against a runaway script or a stuck client, not an account
quota, so a restart forgetting it is fine. The console (the operator's terminal, scripts piped
into `regelkreis chat`) and the backlog answered after downtime are not limited.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)
# A message sent this long before it is read is backlog (the bot was down or catching up).
BACKLOG = timedelta(minutes=1)


class Verdict(enum.Enum):
    ALLOW = "allow"
    NOTICE = "notice"  # over the limit: say so once in this window
    SILENT = "silent"  # over the limit, told already


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[datetime]] = {}
        self._told_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def check(self, sender: str, now: datetime, sent_at: datetime | None = None) -> Verdict:
        if self.per_minute <= 0 or (sent_at is not None and now - sent_at > BACKLOG):
            return Verdict.ALLOW
        with self._lock:
            seen = self._seen.setdefault(sender, deque())
            while seen and now - seen[0] >= WINDOW:
                seen.popleft()
            if len(seen) < self.per_minute:
                seen.append(now)
                return Verdict.ALLOW
            told = self._told_until.get(sender)
            if told is not None and now < told:
                return Verdict.SILENT
            self._told_until[sender] = seen[0] + WINDOW
            return Verdict.NOTICE

    def wait_seconds(self, sender: str, now: datetime) -> int:
        """Until the oldest counted command leaves the window."""
        with self._lock:
            seen = self._seen.get(sender)
            if not seen:
                return 0
            return max(1, int((seen[0] + WINDOW - now).total_seconds()) + 1)
