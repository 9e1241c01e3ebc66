"""The configuration's platform sections: [matrix], [telegram] and [email]."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.config_sections import Section


class MatrixConfig(Section):
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


class TelegramConfig(Section):
    token: SecretStr
    base_url: str = "https://api.telegram.org/bot"
    # Where files people send are downloaded from; unset: base_url's …/bot as …/file/bot
    # (https://api.telegram.org/file/bot, or the same on a self-hosted Bot API server).
    file_base_url: str | None = None
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

    @field_validator("file_base_url")
    @classmethod
    def _file_base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (e.g. https://api.telegram.org/file/bot)")
        return value

    @property
    def files_url(self) -> str | None:
        """The file download base: as configured, else derived from base_url."""
        if self.file_base_url:
            return self.file_base_url
        if self.base_url.endswith("/bot"):
            return self.base_url[: -len("bot")] + "file/bot"
        return None

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


class EmailConfig(Section):
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
