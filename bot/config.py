"""Configuration: one TOML file validated with pydantic; secrets may come from the environment.

This module reads the file and the environment and names what is wrong; the sections are in
bot/config_sections.py and bot/config_platforms.py, and are importable from here.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from bot.config_platforms import EMAIL_PORTS, EmailConfig, MatrixConfig, TelegramConfig
from bot.config_sections import (
    STATES,
    WEEKDAYS,
    BotConfig,
    DatabaseConfig,
    MunicipalityConfig,
    PrivacyConfig,
    RemindersConfig,
    Section,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "EMAIL_PORTS",
    "ENV_SECRETS",
    "STATES",
    "WEEKDAYS",
    "BotConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "EmailConfig",
    "MatrixConfig",
    "MunicipalityConfig",
    "RemindersConfig",
    "TelegramConfig",
    "load_config",
]

DEFAULT_CONFIG_FILE = Path("regelkreis.toml")
ENV_SECRETS = {
    "REGELKREIS_MATRIX_PASSWORD": ("matrix", "password"),
    "REGELKREIS_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "REGELKREIS_TELEGRAM_TOKEN": ("telegram", "token"),
    "REGELKREIS_TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "REGELKREIS_DATABASE_URL": ("database", "url"),
    "REGELKREIS_EMAIL_PASSWORD": ("email", "password"),
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and what is wrong."""


class Config(Section):
    municipality: MunicipalityConfig = Field(default_factory=MunicipalityConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    bot: BotConfig = Field(default_factory=BotConfig)
    matrix: MatrixConfig | None = None
    telegram: TelegramConfig | None = None
    # The section's presence enables e-mail as a step of the recipient chain.
    email: EmailConfig | None = None
    reminders: RemindersConfig = Field(default_factory=RemindersConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
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


def _read(path: Path) -> dict[str, Any]:
    """The file's TOML; ConfigError naming what is wrong with the file itself."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a configuration file") from None
    except OSError as error:  # no permission, an unreadable disk
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Where it is, so that the operator finds the byte (often a Latin-1 umlaut).
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[error.start]:02x} in line {line}); "
            "save the file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def load_config(path: Path | None = None, *, environ: dict[str, str] | None = None) -> Config:
    """Read and validate the configuration; embedded defaults when there is no file."""
    env = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    source = "embedded defaults"
    if path is None and DEFAULT_CONFIG_FILE.exists():
        path = DEFAULT_CONFIG_FILE
    if path is not None:
        source = str(path)
        raw = _read(path)
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
