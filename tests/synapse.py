"""A real Synapse homeserver for the tests: configured in a temporary folder, on loopback.

Installs nothing: it runs the `matrix-synapse` package of the virtualenv (the `dev` extra)
as `python -m synapse.app.homeserver`, with SQLite, a free port on 127.0.0.1, a shared
registration secret and rate limits raised far above what the tests send. It can be stopped
and started again on the same port and data (the outage test does that).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SERVER_NAME = "musterstadt.de"  # the example municipality's people are @…:musterstadt.de
START_TIMEOUT = 60.0

# High enough that no test meets a limit, except where a test sets one for itself.
_LOTS = {"per_second": 1000, "burst_count": 1000}
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _LOTS,
    "rc_registration": _LOTS,
    "rc_login": {"address": _LOTS, "account": _LOTS, "failed_attempts": _LOTS},
    "rc_joins": {"local": _LOTS, "remote": _LOTS},
    "rc_joins_per_room": _LOTS,
    "rc_invites": {"per_room": _LOTS, "per_user": _LOTS, "per_issuer": _LOTS},
    "rc_room_creation": _LOTS,
    "rc_key_requests": _LOTS,
    "rc_3pid_validation": _LOTS,
    "rc_presence": {"per_user": _LOTS},
    "rc_media_create": _LOTS,
    "rc_delayed_event_mgmt": _LOTS,
    "rc_user_directory": _LOTS,
    "rc_profile": _LOTS,
}


def synapse_problem() -> str | None:
    """Why no homeserver can run here, or None."""
    try:
        import synapse  # noqa: F401
    except ImportError:
        return "matrix-synapse is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


class Synapse:
    """One homeserver process; `start()`/`stop()` may be called repeatedly."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path = folder / "homeserver.yaml"
        self.log_path = folder / "homeserver.log"
        self._write_config()

    # -- set-up -----------------------------------------------------------------------------

    def _write_config(self) -> None:
        import yaml
        from signedjson.key import generate_signing_key, write_signing_keys

        self.folder.mkdir(parents=True, exist_ok=True)
        key_path = self.folder / "signing.key"
        with key_path.open("w") as out:
            write_signing_keys(out, [generate_signing_key("a_test")])
        log_config = self.folder / "log.yaml"
        log_config.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "formatters": {
                        "plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "plain",
                            "filename": str(self.log_path),
                        }
                    },
                    "root": {"level": "INFO", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config: dict[str, Any] = {
            "server_name": SERVER_NAME,
            "pid_file": str(self.folder / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.folder / "homeserver.db")},
            },
            "log_config": str(log_config),
            "media_store_path": str(self.folder / "media_store"),
            "signing_key_path": str(key_path),
            "registration_shared_secret": self.secret,
            "enable_registration": False,
            "report_stats": False,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            **RATE_LIMITS,
        }
        self.config_path.write_text(yaml.safe_dump(config))

    # -- process ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "stderr.log").open("ab"),
            # Its own process group: a Ctrl-C of the test run is not its business.
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Synapse exited at start; see {self.folder}/stderr.log")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Synapse did not answer within {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    # -- client-server and admin API --------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read()!r}") from None

    def register(self, localpart: str, *, admin: bool = False) -> Account:
        """A user registered with the shared secret (the admin API), logged in once."""
        password = f"pw-{localpart}-{secrets.token_hex(4)}"
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        digest = hmac.new(
            self.secret.encode(),
            b"\x00".join(
                p.encode() for p in (nonce, localpart, password, "admin" if admin else "notadmin")
            ),
            hashlib.sha1,
        ).hexdigest()
        answer = self.request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": digest,
            },
        )
        return Account(answer["user_id"], password, answer["access_token"], answer["device_id"])


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One homeserver for the whole test session, stopped at the end."""
    problem = synapse_problem()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the Matrix tests need Synapse: {problem}")
        pytest.skip(problem)
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
