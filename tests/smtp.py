"""A real SMTP server on 127.0.0.1 for the e-mail tests, built on aiosmtpd.

It runs in its own thread (aiosmtpd's Controller), listens on a port the system picks, keeps
every message it accepts, and answers RCPT or DATA with a chosen code when a test wants a
failure. With a TLS context it offers STARTTLS (or speaks TLS from the first byte, `implicit`),
and with `accounts` it requires AUTH LOGIN/PLAIN after STARTTLS.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope and the parsed mail."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    login: str | None

    @property
    def message(self) -> EmailMessage:
        # As a mail program reads it: lines end with \n, not the wire's \r\n.
        data = self.data.replace(b"\r\n", b"\n")
        return message_from_bytes(data, policy=policy.default)


@dataclass
class Handler:
    """aiosmtpd's handler: collects messages, or refuses with `rcpt_reply` / `data_reply`."""

    received: list[Received] = field(default_factory=list)
    # e.g. "450 4.2.1 Mailbox busy, try later" or "550 5.1.1 No such user"
    rcpt_reply: str | None = None
    data_reply: str | None = None
    # The goodbye, e.g. "421 4.3.2 Shutting down" after the message was accepted.
    quit_reply: str = "221 Bye"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        content = envelope.original_content or b""
        login = session.auth_data.login.decode() if session.auth_data is not None else None
        with self.lock:
            self.received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content), login)
            )
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self.quit_reply


class _AnyPortController(Controller):
    """aiosmtpd's Controller, listening on a free port the system chooses (port 0)."""

    def _create_server(self) -> Any:
        async def create() -> asyncio.AbstractServer:
            server = await self.loop.create_server(
                self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
            )
            # The Controller's start-up check connects to self.port: the one just bound.
            self.port = server.sockets[0].getsockname()[1]
            return server

        return create()


class SmtpServer:
    """A running test server: `host`, `port`, `received`; `rcpt_reply`, `data_reply` and
    `quit_reply` choose answers; `handler` is aiosmtpd's handler behind it."""

    def __init__(self, controller: Controller, handler: Handler) -> None:
        self._controller = controller
        self._handler = handler
        self.handler = handler
        self.host = "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def rcpt_reply(self) -> str | None:
        return self._handler.rcpt_reply

    @rcpt_reply.setter
    def rcpt_reply(self, value: str | None) -> None:
        self._handler.rcpt_reply = value

    @property
    def data_reply(self) -> str | None:
        return self._handler.data_reply

    @data_reply.setter
    def data_reply(self, value: str | None) -> None:
        self._handler.data_reply = value


@contextmanager
def smtp_server(
    *,
    tls: ssl.SSLContext | None = None,
    implicit: bool = False,
    accounts: dict[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """Run the server while the block runs.

    `tls` offers STARTTLS and requires it before MAIL (or, with `implicit`, the whole
    connection is TLS, as on port 465). `accounts` (user → password) requires AUTH.
    """
    handler = Handler()
    parameters: dict[str, Any] = {}
    if tls is not None and not implicit:
        parameters.update(tls_context=tls, require_starttls=True)
    if accounts is not None:

        def authenticate(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            if not isinstance(data, LoginPassword):
                return AuthResult(success=False, handled=False)
            user, password = data.login.decode(), data.password.decode()
            # handled=False: aiosmtpd answers a failure with 535 itself (else it stays silent).
            return AuthResult(success=accounts.get(user) == password, handled=False, auth_data=data)

        # Implicit TLS is as good as STARTTLS for AUTH; aiosmtpd only knows the latter.
        parameters.update(
            authenticator=authenticate, auth_required=True, auth_require_tls=not implicit
        )
    controller = _AnyPortController(
        handler,
        hostname="127.0.0.1",
        ssl_context=tls if implicit else None,
        server_hostname="smtp.test",
        **parameters,
    )
    controller.start()
    try:
        yield SmtpServer(controller, handler)
    finally:
        controller.stop()


def self_signed(directory: Path, name: str = "localhost") -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for `name` and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context
