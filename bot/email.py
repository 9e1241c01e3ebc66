"""E-mail as a Notifier: reminders to people no chat reaches (PRODUCT.md §3, docs/email.md).

The standard library does the work: `email.message.EmailMessage` builds a plain-text and an
HTML part, `smtplib` sends it in a worker thread (`asyncio.to_thread`), one connection per
message. What the server answers decides the Delivery: 2xx delivered, 4xx and network trouble
temporary, 5xx permanent.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import html
import logging
import re
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from typing import TYPE_CHECKING

from handlers.core import Language, Reply
from handlers.i18n import t
from handlers.ports import Delivery, DeliveryStatus, Recipient

if TYPE_CHECKING:
    from bot.config import Config, EmailConfig

log = logging.getLogger(__name__)

PLATFORM = "email"
SUBJECT_PREFIX = "Regelkreis"
SUBJECT_LIMIT = 120
# The dot-atom of RFC 5322 in ASCII: what every mail server takes without SMTPUTF8.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")


def email_address(text: str) -> str | None:
    """`text` as one bare e-mail address (`eva.ernst@stadt.de`), normalised; else None.

    The local part is ASCII (what every server accepts), the domain may be written with
    umlauts and is stored in its ASCII form (`müllheim.de` → `xn--mllheim-n2a.de`), lower-case.
    """
    text = text.strip()
    if not text or len(text) > 254 or re.search(r"[\s<>,;]", text):
        return None
    local, at, domain = text.rpartition("@")
    if not at or not local or len(local) > 64 or not _LOCAL.fullmatch(local):
        return None
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        return None
    return f"{local}@{domain}"


def mailbox(text: str) -> Address | None:
    """`Regelkreis <regelkreis@stadt.de>` or a bare address as one mailbox; else None."""
    if "\r" in text or "\n" in text or len(getaddresses([text])) != 1:
        return None
    name, raw = parseaddr(text)
    address = email_address(raw) if raw else None
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    return Address(display_name=name.strip(), username=local, domain=domain)


def subject_of(reply: Reply) -> str:
    """`Regelkreis: <the first heading>`, or `Regelkreis` for a reply without one."""
    for block in reply.blocks:
        if block.heading and block.heading.strip():
            heading = " ".join(block.heading.split())
            subject = f"{SUBJECT_PREFIX}: {heading}"
            if len(subject) > SUBJECT_LIMIT:
                subject = subject[: SUBJECT_LIMIT - 1].rstrip() + "…"
            return subject
    return SUBJECT_PREFIX


def message_id(idempotency_key: str, recipient_address: str, domain: str) -> str:
    """The same outbox entry to the same address always gets the same Message-ID."""
    seed = f"{idempotency_key}\n{recipient_address.lower()}".encode()
    return f"<{hashlib.sha256(seed).hexdigest()[:32]}.regelkreis@{domain}>"


@functools.cache
def _command_language() -> dict[str, Language]:
    """Every command name, folded, with its language; names both languages share are left out."""
    from handlers.commands import fold
    from handlers.registry import build_registry

    names: dict[str, set[Language]] = {}
    for command in build_registry().commands:
        for name in command.de:
            names.setdefault(fold(name), set()).add("de")
        for name in command.en:
            names.setdefault(fold(name), set()).add("en")
    return {name: next(iter(langs)) for name, langs in names.items() if len(langs) == 1}


def frame_language(reply: Reply, default: Language) -> Language:
    """The language of the few words the mail adds around the reply.

    A reply does not say its language, but its quick answers are commands in the recipient's
    language (`erledigt M-12` or `done M-12`): the first whose command name is German or
    English only decides; without such an answer, the installation's language (`[bot]
    language`).
    """
    from handlers.commands import fold

    known = _command_language()
    for answer in reply.quick_answers:
        words = fold(answer.command).split()
        for count in range(len(words), 0, -1):
            lang = known.get(" ".join(words[:count]))
            if lang is not None:
                return lang
    return default


def plain_text(reply: Reply, lang: Language) -> str:
    parts = [reply.plain()]
    if reply.quick_answers:
        commands = " · ".join(answer.command for answer in reply.quick_answers)
        answer = t(lang, "email.answer")
        parts.append(f"{answer}: {commands}")
    parts.append("-- \n" + t(lang, "email.footer"))
    return "\n\n".join(part for part in parts if part) + "\n"


def html_text(reply: Reply, lang: Language) -> str:
    paragraphs: list[str] = []
    for block in reply.blocks:
        lines = [f"<b>{_escape(block.heading)}</b>"] if block.heading else []
        lines += [_escape(line) for line in block.lines]
        if lines:
            paragraphs.append("<p>" + "<br>\n".join(lines) + "</p>")
    if reply.quick_answers:
        commands = " · ".join(
            f"<code>{html.escape(answer.command)}</code>" for answer in reply.quick_answers
        )
        answer = html.escape(t(lang, "email.answer"))
        paragraphs.append(f"<p>{answer}: {commands}</p>")
    footer = html.escape(t(lang, "email.footer"))
    paragraphs.append(f'<p style="color:#666666">{footer}</p>')
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8"></head>\n'
        "<body>\n" + "\n".join(paragraphs) + "\n</body>\n</html>\n"
    )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


class EmailNotifier:
    """Sends a Reply as an e-mail to `Recipient.address` (the person's e-mail address)."""

    platform = PLATFORM

    def __init__(self, config: EmailConfig, *, language: Language = "de") -> None:
        self.config = config
        self.language = language
        sender = mailbox(config.sender)
        # EmailConfig has checked the sender already; this guards a hand-made config.
        if sender is None:
            raise ValueError(f"email.sender {config.sender!r} is not an e-mail address")
        self.sender = sender

    @classmethod
    def from_config(cls, config: Config) -> EmailNotifier | None:
        """The notifier when the configuration has an `[email]` section, else None."""
        if config.email is None:
            return None
        return cls(config.email, language=config.bot.language)

    def compose(
        self, recipient: Recipient, message: Reply, *, idempotency_key: str
    ) -> EmailMessage:
        """The mail `send` delivers: multipart/alternative (plain and HTML), files attached."""
        address = email_address(recipient.address)
        if address is None:
            raise ValueError(f"{recipient.address!r} is not an e-mail address")
        lang = frame_language(message, self.language)
        local, _, domain = address.rpartition("@")
        mail = EmailMessage()
        mail["Subject"] = subject_of(message)
        mail["From"] = self.sender
        name = " ".join(recipient.name.split())
        mail["To"] = Address(display_name=name, username=local, domain=domain)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(idempotency_key, address, self.sender.domain)
        # Out-of-office replies and auto-responders leave an automatic message alone (RFC 3834).
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(plain_text(message, lang))
        mail.add_alternative(html_text(message, lang), subtype="html")
        for attachment in message.attachments:
            data = attachment.path.read_bytes()
            maintype, _, subtype = attachment.mime_type.partition("/")
            params: dict[str, str] = {}
            if maintype == "text" and _is_utf8(data):
                # Our exports (CSV, ICS, HTML) are UTF-8: say so, else it reads as ASCII.
                params["charset"] = "utf-8"
            mail.add_attachment(
                data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                filename=attachment.path.name,
                params=params,
            )
        return mail

    async def send(self, recipient: Recipient, message: Reply, *, idempotency_key: str) -> Delivery:
        address = email_address(recipient.address)
        if address is None:
            return Delivery.permanent(f"{recipient.address!r} is not an e-mail address")
        try:
            mail = self.compose(recipient, message, idempotency_key=idempotency_key)
        except OSError as error:
            # An attachment that cannot be read now will not be readable on a retry either.
            return Delivery.permanent(f"attachment cannot be read: {error}")
        except ValueError as error:
            return Delivery.permanent(f"the message cannot be built: {error}")
        delivery = await asyncio.to_thread(self._deliver, mail, address)
        if delivery.status is DeliveryStatus.DELIVERED:
            log.info("e-mail to %s delivered as %s", recipient, delivery.message_id)
        else:
            log.warning(
                "e-mail to %s not delivered (%s): %s",
                recipient,
                delivery.status.value,
                delivery.detail,
            )
        return delivery

    async def check(self) -> str | None:
        """Connect, secure, log in and quit: None when that works, else what went wrong."""
        delivery = await asyncio.to_thread(self._deliver, None, "")
        return None if delivery.status is DeliveryStatus.DELIVERED else delivery.detail

    # -- in the worker thread ---------------------------------------------------------------

    def _deliver(self, mail: EmailMessage | None, address: str) -> Delivery:
        config = self.config
        where = f"SMTP {config.host}:{config.port}"
        try:
            smtp = self._connect()
            try:
                if mail is not None:
                    smtp.send_message(mail, from_addr=self.sender.addr_spec, to_addrs=[address])
            finally:
                _quit(smtp)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = next(iter(error.recipients.values()), (0, b""))
            return self._answer(where, code, text)
        except smtplib.SMTPResponseException as error:
            return self._answer(where, error.smtp_code, error.smtp_error)
        except smtplib.SMTPNotSupportedError as error:
            # STARTTLS or AUTH not offered: the configuration does not fit this server.
            return Delivery.permanent(self._clean(f"{where}: {error}"))
        except smtplib.SMTPServerDisconnected as error:
            return Delivery.temporary(self._clean(f"{where}: disconnected: {error}"))
        except ssl.SSLCertVerificationError as error:
            return Delivery.temporary(
                self._clean(f"{where}: the server's certificate is not trusted: {error}")
            )
        except (smtplib.SMTPException, OSError) as error:
            # Connection refused, timeout, name not found, TLS handshake: maybe later.
            reason = str(error) or type(error).__name__
            return Delivery.temporary(self._clean(f"{where}: {reason}"))
        if mail is None:
            return Delivery.delivered()
        return Delivery.delivered(message_id=str(mail["Message-ID"]))

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        context = self._tls_context()
        smtp: smtplib.SMTP
        if config.security == "tls":
            smtp = smtplib.SMTP_SSL(
                config.host,
                config.port,
                local_hostname=_local_hostname(),
                timeout=config.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                config.host, config.port, local_hostname=_local_hostname(), timeout=config.timeout
            )
        try:
            smtp.ehlo()
            if config.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.user:
                password = config.password.get_secret_value() if config.password else ""
                smtp.login(config.user, password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.config.verify:
            # Only for a test server or a relay with a self-signed certificate (docs/email.md).
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _answer(self, where: str, code: int, text: bytes | str) -> Delivery:
        said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        detail = self._clean(f"{where}: {code} {' '.join(said.split())}".rstrip())
        if code >= 500:
            return Delivery.permanent(detail)
        return Delivery.temporary(detail)

    def _clean(self, detail: str) -> str:
        """Never let the password into a log line or a Delivery, whatever a server echoes."""
        password = self.config.password.get_secret_value() if self.config.password else ""
        return detail.replace(password, "***") if password else detail


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; once the server has accepted the message, nothing here undoes that."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


@functools.cache
def _local_hostname() -> str:
    """The name the bot greets the server with (EHLO), looked up once, not per message."""
    return socket.getfqdn() or "localhost"
