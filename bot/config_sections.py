"""The configuration's own sections: [municipality], [database], [bot] and [reminders].

The platforms' sections are in bot/config_platforms.py, the whole file in bot/config.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from storage.events import DEFAULT_ZONE
from storage.models import parse_chat_id

# The federal states (Länder) for public holidays, as the `holidays` package names them.
STATES = (
    "BB",
    "BE",
    "BW",
    "BY",
    "HB",
    "HE",
    "HH",
    "MV",
    "NI",
    "NW",
    "RP",
    "SH",
    "SL",
    "SN",
    "ST",
    "TH",
)
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
# The days a weekly digest may go out on (`[reminders] digest = "MON 08:00"`).
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI")


class Section(BaseModel):
    """A table of the file: unknown keys are errors, values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MunicipalityConfig(Section):
    name: str = "Musterstadt"
    timezone: str = DEFAULT_ZONE.key
    state: str = Field(default="BB", description="federal state for public holidays")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if value.upper() not in STATES:
            raise ValueError(f"unknown federal state {value!r}; one of {', '.join(STATES)}")
        return value.upper()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseConfig(Section):
    url: str | None = Field(default=None, description="default: regelkreis.db in data_dir")

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        # Only the drivers the program ships: postgresql+psycopg2:// would fail at start
        # with a missing module.
        if value is not None and not value.startswith(
            ("sqlite:", "postgresql:", "postgresql+psycopg:")
        ):
            raise ValueError("use sqlite:///path/file.db or postgresql+psycopg://user@host/db")
        return value


class PrivacyConfig(Section):
    # Processed messages, finished outbox entries and sent-message records are deleted after
    # this many days (docs/privacy.md); at least a week, for the exactly-once answers.
    keep_days: int = Field(default=90, ge=7, le=3650)


class BotConfig(Section):
    language: Literal["de", "en"] = "de"
    data_dir: Path = Path("data")
    admins: list[str] = Field(default_factory=list)
    # Reports, charts and exports under data_dir/generated/ are removed after this many days.
    keep_generated_days: int = Field(default=7, ge=1, le=3650)
    # Commands one person may send per minute on a chat platform; 0 turns the limit off.
    rate_limit: int = Field(default=20, ge=0, le=10_000)

    @field_validator("admins")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        identities = []
        for address in value:
            parsed = parse_chat_id(address)
            if parsed is None:
                raise ValueError(
                    f"{address!r} is not a chat identity; write matrix:@user:server or "
                    "telegram:123456789"
                )
            # Written as the dispatcher compares it ("Matrix:" and "matrix:" are one).
            identities.append(f"{parsed[0]}:{parsed[1]}")
        return identities


def _parse_days(value: str) -> tuple[str, str]:
    found = re.match(rf"^({_HHMM})-({_HHMM})$", value.strip())
    if not found:
        raise ValueError("write working hours as HH:MM-HH:MM, e.g. 08:00-17:00")
    start, end = found.group(1), found.group(3)
    if start >= end:
        raise ValueError("the working day must end after it starts")
    return start, end


class RemindersConfig(Section):
    working_hours: str = "08:00-17:00"
    deadline_days: list[Annotated[int, Field(ge=1, le=365)]] = Field(
        default_factory=lambda: [14, 3]
    )
    meeting_days: list[Annotated[int, Field(ge=1, le=60)]] = Field(default_factory=lambda: [7, 1])
    overdue_repeat_days: int = Field(default=7, ge=1, le=90)
    digest: str = "MON 08:00"
    enabled: bool = True
    # When reminders to people go out; default: the start of the working hours. Rooms may
    # set their own time with `erinnerungen zeit:HH:MM`.
    time: str | None = None
    agenda_days: int = Field(default=1, ge=1, le=30)

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        _parse_days(value)
        return value

    @field_validator("time")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None and not re.match(rf"^{_HHMM}$", value.strip()):
            raise ValueError("write the reminder time as HH:MM, e.g. 08:00")
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _inside_working_hours(self) -> RemindersConfig:
        start, end = self.hours
        # A reminder planned outside the working hours would wait for the next day anyway.
        if self.time is not None and not start <= self.time < end:
            raise ValueError(f"time {self.time} is outside the working hours {start}-{end}")
        digest_time = self.digest.split()[-1]
        if not start <= digest_time < end:
            raise ValueError(f"the digest time {digest_time} is outside the working hours")
        return self

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str) -> str:
        if not re.match(rf"^({'|'.join(WEEKDAYS)})\s+{_HHMM}$", value.strip().upper()):
            raise ValueError(
                "write the digest time as DAY HH:MM with DAY in MON..FRI, e.g. MON 08:00"
            )
        return value.strip().upper()

    @property
    def hours(self) -> tuple[str, str]:
        return _parse_days(self.working_hours)
