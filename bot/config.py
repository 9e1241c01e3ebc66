"""Configuration: one TOML file validated with pydantic; secrets may come from the environment."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from storage.models import parse_chat_id

DEFAULT_CONFIG_FILE = Path("regelkreis.toml")

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
ENV_SECRETS = {
    "REGELKREIS_MATRIX_PASSWORD": ("matrix", "password"),
    "REGELKREIS_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "REGELKREIS_TELEGRAM_TOKEN": ("telegram", "token"),
    "REGELKREIS_TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "REGELKREIS_DATABASE_URL": ("database", "url"),
    "REGELKREIS_EMAIL_PASSWORD": ("email", "password"),
}
_HHMM = r"([01]\d|2[0-3]):[0-5]\d"
# The days a weekly digest may go out on (`[reminders] digest = "MON 08:00"`).
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and what is wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MunicipalityConfig(_Section):
    name: str = "Musterstadt"
    timezone: str = "Europe/Berlin"
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


class DatabaseConfig(_Section):
    url: str | None = Field(default=None, description="default: regelkreis.db in data_dir")

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("use sqlite:///path/file.db or postgresql+psycopg://user@host/db")
        return value


class BotConfig(_Section):
    language: Literal["de", "en"] = "de"
    data_dir: Path = Path("data")
    admins: list[str] = Field(default_factory=list)

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


class MatrixConfig(_Section):
    homeserver: str
    user_id: str
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_id: str = "REGELKREIS"
    command_prefix: str = Field(default="!", min_length=1)
    # Users (globs like "@*:example.org") or server names ("example.org") whose invites the
    # bot accepts; admins named in [bot] may always invite it.
    allowed_inviters: list[str] = Field(default_factory=list)
    device_name: str = "Regelkreis"
    # The bot reacts ✅ 🟢 🟡 to its own messages about one measure, so a tap answers.
    quick_reactions: bool = True
    # Direct rooms the bot opens for reminders are end-to-end encrypted.
    encrypt_direct_rooms: bool = True

    @field_validator("allowed_inviters")
    @classmethod
    def _inviters(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry.startswith("@") and ":" not in entry:
                raise ValueError(f"{entry!r}: write @user:server, @*:server or a server name")
        return value

    @field_validator("homeserver")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local test server)")
        return value.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _user(cls, value: str) -> str:
        if not re.match(r"^@[^:\s]+:\S+$", value):
            raise ValueError("must look like @regelkreis:example.org")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> MatrixConfig:
        if not (self.password and self.password.get_secret_value()) and not (
            self.access_token and self.access_token.get_secret_value()
        ):
            raise ValueError(
                "needs password or access_token (or REGELKREIS_MATRIX_PASSWORD / "
                "REGELKREIS_MATRIX_ACCESS_TOKEN in the environment)"
            )
        return self


class TelegramConfig(_Section):
    token: SecretStr
    base_url: str = "https://api.telegram.org/bot"
    allowed_adders: list[int] = Field(default_factory=list)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not re.match(r"^\d+:[A-Za-z0-9_-]{10,}$", value.get_secret_value()):
            raise ValueError(
                "is not a bot token from BotFather (123456:ABC…); or set REGELKREIS_TELEGRAM_TOKEN"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (e.g. https://api.telegram.org/bot)")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be the public https:// address Telegram posts updates to")
        return value

    @model_validator(mode="after")
    def _webhook_secret(self) -> TelegramConfig:
        # Without the secret anyone who finds the webhook address could inject commands.
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if self.webhook_url and not secret:
            raise ValueError("webhook_url needs webhook_secret (1-256 of A-Z a-z 0-9 _ -)")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("webhook_secret may only use A-Z a-z 0-9 _ - (at most 256)")
        return self


# The usual port of each kind of SMTP security: submission, submissions (RFC 8314), plain SMTP.
EMAIL_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class EmailConfig(_Section):
    """`[email]`: the SMTP server reminders go through to people no chat reaches."""

    host: str
    # Default: 587 for starttls, 465 for tls, 25 for none.
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    user: str | None = None
    password: SecretStr | None = None
    sender: str
    timeout: float = Field(default=20, gt=0, le=600)
    # Check the server's certificate (and name); off only for a test server.
    verify: bool = True

    @model_validator(mode="before")
    @classmethod
    def _port_of_security(cls, data: Any) -> Any:
        if isinstance(data, dict) and "port" not in data:
            security = data.get("security", "starttls")
            if isinstance(security, str) and security in EMAIL_PORTS:
                return {**data, "port": EMAIL_PORTS[security]}
        return data

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip()
        if not value or "://" in value or re.search(r"[\s/@]", value):
            raise ValueError("write the server's name, e.g. smtp.stadt.de (no smtp://, no port)")
        return value

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        from bot.email import mailbox

        if mailbox(value) is None:
            raise ValueError(
                f"{value!r} is not one e-mail address; write e.g. "
                '"Regelkreis <regelkreis@stadt.de>" or "regelkreis@stadt.de"'
            )
        return value.strip()

    @field_validator("user")
    @classmethod
    def _user(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @model_validator(mode="after")
    def _credentials(self) -> EmailConfig:
        password = self.password.get_secret_value() if self.password else ""
        if self.user and not password:
            raise ValueError(
                "user needs password (or REGELKREIS_EMAIL_PASSWORD in the environment)"
            )
        if password and not self.user:
            raise ValueError(
                "password (or REGELKREIS_EMAIL_PASSWORD) is set but user is not: name the "
                "account to log in with, or remove the password"
            )
        if self.user and self.security == "none" and self.host.lower() not in _LOOPBACK:
            raise ValueError(
                'security = "none" would send the password unencrypted to '
                f"{self.host}; use starttls or tls (none only for a server on this machine)"
            )
        return self


def _parse_days(value: str) -> tuple[str, str]:
    found = re.match(rf"^({_HHMM})-({_HHMM})$", value.strip())
    if not found:
        raise ValueError("write working hours as HH:MM-HH:MM, e.g. 08:00-17:00")
    start, end = found.group(1), found.group(3)
    if start >= end:
        raise ValueError("the working day must end after it starts")
    return start, end


class RemindersConfig(_Section):
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


class Config(_Section):
    municipality: MunicipalityConfig = Field(default_factory=MunicipalityConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    bot: BotConfig = Field(default_factory=BotConfig)
    matrix: MatrixConfig | None = None
    telegram: TelegramConfig | None = None
    # The section's presence enables e-mail as a step of the recipient chain.
    email: EmailConfig | None = None
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    # Where the file was read from; relative data_dir is taken relative to it.
    source: Path | None = Field(default=None, exclude=True)

    @property
    def data_dir(self) -> Path:
        if self.bot.data_dir.is_absolute() or self.source is None:
            return self.bot.data_dir
        return self.source.parent / self.bot.data_dir

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'regelkreis.db').resolve()}"


def _format_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: the configuration is not valid:"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(file)"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown key (see config.example.toml)"
        elif problem["type"] == "missing":
            message = "is required"
        lines.append(f"  - {key}: {message.removeprefix('Value error, ')}")
    return "\n".join(lines)


def load_config(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read and validate the configuration; embedded defaults when there is no file."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    source = "embedded defaults"
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such configuration file") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
    for variable, (section, key) in ENV_SECRETS.items():
        value = env.get(variable)
        # A secret alone does not switch a platform on: only its section in the file does.
        if value and (section == "database" or isinstance(raw.get(section), dict)):
            raw.setdefault(section, {})[key] = value
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_error(error, source)) from None
    return config.model_copy(update={"source": path.resolve() if path else None})
