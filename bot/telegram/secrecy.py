"""Keeping the bot token out of the logs (it is part of every Bot API URL)."""

from __future__ import annotations

import logging


class TokenRejected(Exception):
    """Telegram does not know the configured bot token."""


class _RedactToken(logging.Filter):
    """Replaces the bot token in a record; attached to the loggers that could print URLs."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg = message.replace(self.token, "<token>")
            record.args = ()
        return True


def protect_token(token: str) -> None:
    """httpx logs each request URL (which holds the token) at INFO, PTB the API URL at DEBUG."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    names = [
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.split(".")[0] in ("telegram", "httpx", "httpcore", "tornado")
    ]
    for name in ["telegram", "httpx", "httpcore", *names]:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactToken) and f.token == token for f in logger.filters):
            logger.addFilter(_RedactToken(token))
