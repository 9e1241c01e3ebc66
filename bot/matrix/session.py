"""The bot's device: its session file next to the crypto store, and logging in as the same
device every time (the saved session, else the access token, else the password)."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import nio

from bot.config import MatrixConfig
from bot.matrix.errors import NETWORK_ERRORS, Backoff, http_status
from bot.platform import CredentialsRejected

log = logging.getLogger("regelkreis.matrix")


class Session:
    """`<store_dir>/session.json`: homeserver, user, device and access token (0600)."""

    def __init__(self, config: MatrixConfig, store_dir: Path) -> None:
        self.config = config
        self.file = store_dir / "session.json"

    def read(self) -> dict[str, str] | None:
        try:
            session = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (
            not isinstance(session, dict)
            or session.get("user_id") != self.config.user_id
            or session.get("homeserver") != self.config.homeserver
        ):
            return None
        return {str(k): str(v) for k, v in session.items()}

    def write(self, device_id: str, access_token: str) -> None:
        session = {
            "homeserver": self.config.homeserver,
            "user_id": self.config.user_id,
            "device_id": device_id,
            "access_token": access_token,
        }
        self.file.write_text(json.dumps(session), encoding="utf-8")
        with contextlib.suppress(OSError):
            self.file.chmod(0o600)

    async def login(self, client: Any, *, stale_token: bool = False) -> str | None:
        """Log `client` in as the bot's device; returns the bot's display name, if any.
        `stale_token`: the homeserver no longer takes the token, so the password it is."""
        config = self.config
        session = None if stale_token else self.read()
        backoff = Backoff()
        while True:
            try:
                if session is not None:
                    client.restore_login(
                        config.user_id, session["device_id"], session["access_token"]
                    )
                elif config.access_token is not None and not stale_token:
                    token = config.access_token.get_secret_value()
                    client.access_token = token
                    whoami = await client.whoami()
                    if isinstance(whoami, nio.WhoamiError):
                        if _passing(whoami):
                            await backoff.wait("Matrix login", _answer(whoami))
                            continue
                        raise CredentialsRejected(
                            f"Matrix: {config.homeserver} refused the access token of "
                            f"{config.user_id} ({_answer(whoami)}): check matrix.access_token "
                            "(or REGELKREIS_MATRIX_ACCESS_TOKEN)"
                        )
                    client.restore_login(config.user_id, whoami.device_id, token)
                    self.write(whoami.device_id, token)
                else:
                    if config.password is None:
                        raise CredentialsRejected(
                            f"Matrix: the access token of {config.user_id} is no longer valid "
                            "and no password is set: set matrix.password or a new "
                            "matrix.access_token"
                        )
                    answer = await client.login(
                        config.password.get_secret_value(), device_name=config.device_name
                    )
                    if isinstance(answer, nio.LoginError):
                        if _passing(answer):
                            await backoff.wait("Matrix login", _answer(answer))
                            continue
                        raise CredentialsRejected(
                            f"Matrix: {config.homeserver} refused the login of "
                            f"{config.user_id} ({_answer(answer)}): check matrix.password "
                            "(or REGELKREIS_MATRIX_PASSWORD)"
                        )
                    self.write(answer.device_id, answer.access_token)
                if client.should_upload_keys:
                    await client.keys_upload()
                break
            except NETWORK_ERRORS as error:
                await backoff.wait("Matrix login", error)
        display_name = None
        with contextlib.suppress(*NETWORK_ERRORS):
            name = await client.get_displayname(config.user_id)
            display_name = getattr(name, "displayname", None)
        log.info("Matrix: logged in as %s, device %s", client.user_id, client.device_id)
        return display_name


def _passing(answer: Any) -> bool:
    """A refusal that says nothing about the credentials: rate limited, or the homeserver
    (or the proxy before it) failing for now. Trying again, like a network error."""
    status = http_status(answer)
    return answer.status_code == "M_LIMIT_EXCEEDED" or status is None or status >= 500


def _answer(answer: Any) -> str:
    return f"{answer.status_code or http_status(answer)}: {answer.message}"
