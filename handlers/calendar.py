"""Working days and local times of a municipality: weekends, public holidays, daylight saving."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Far enough for any offset we plan with (meeting requests are at most 60 working days ahead);
# a loop that walks further has a bug, and must not spin for ever on it.
_MAX_WALK = 400
_LOCK = threading.Lock()


@lru_cache(maxsize=64)
def public_holidays(state: str, year: int) -> frozenset[date]:
    """The public holidays of a German federal state in one year (the `holidays` package)."""
    # The package fills its calendar lazily and is not thread-safe while it does.
    with _LOCK:
        found = holidays.country_holidays("DE", subdiv=state, years=year)
        return frozenset(found.keys())


class WorkCalendar:
    """Working days (Monday–Friday, not a public holiday of the state) and working hours.

    Local times are built with zoneinfo from a date and a wall-clock time, so 08:00 stays
    08:00 on both sides of a daylight-saving switch (the switch is on a Sunday at night).
    """

    def __init__(
        self,
        zone: ZoneInfo,
        state: str,
        start: time = time(8, 0),
        end: time = time(17, 0),
    ) -> None:
        self.zone = zone
        self.state = state
        self.start = start
        self.end = end
        # A sweep asks the same few days and times thousands of times (one per measure).
        self._next: dict[date, date] = {}
        self._moments: dict[tuple[date, time], datetime] = {}

    # -- days ---------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in public_holidays(self.state, day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_holiday(day)

    def on_or_after(self, day: date) -> date:
        """The first working day on or after `day` (a reminder due on a holiday moves here)."""
        found = self._next.get(day)
        if found is not None:
            return found
        candidate = day
        for _ in range(_MAX_WALK):
            if self.is_working_day(candidate):
                self._next[day] = candidate
                return candidate
            candidate += timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_WALK} days of {day}")

    def after(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self.on_or_after(day + timedelta(days=1))

    def before(self, day: date) -> date:
        """The last working day strictly before `day`."""
        for _ in range(_MAX_WALK):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ValueError(f"no working day within {_MAX_WALK} days before {day}")

    def on_or_before(self, day: date) -> date:
        return day if self.is_working_day(day) else self.before(day)

    def working_days_before(self, day: date, count: int) -> date:
        """The `count`-th working day before `day` (1: the working day before it)."""
        for _ in range(count):
            day = self.before(day)
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """How many working days lie in (first, last]; for "in 3 Arbeitstagen"."""
        count, day = 0, first
        while day < last:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def shifted_range(self, first: date, last: date) -> tuple[date, date] | None:
        """The calendar days whose next working day lies in [first, last], as (lo, hi).

        Days map onto working days monotonically, so the answer is one range: from the day
        after the last working day before `first` to the last working day up to `last`.
        """
        if last < first:
            return None
        lo = self.before(first) + timedelta(days=1)
        hi = self.on_or_before(last)
        if hi < first:
            return None
        return lo, hi

    # -- times --------------------------------------------------------------------------

    def at(self, day: date, wall: time) -> datetime:
        """The moment `day` at wall-clock `wall` in the municipality, in UTC."""
        moment = self._moments.get((day, wall))
        if moment is None:
            moment = datetime.combine(day, wall, tzinfo=self.zone).astimezone(UTC)
            self._moments[(day, wall)] = moment
        return moment

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def today(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def in_working_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return self.is_working_day(local.date()) and self.start <= local.time() < self.end

    def next_working_time(self, moment: datetime) -> datetime:
        """`moment` itself inside working hours, else the start of the next working time."""
        if self.in_working_hours(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date()
        if self.is_working_day(day) and local.time() < self.start:
            return self.at(day, self.start)
        return self.at(self.after(day), self.start)
