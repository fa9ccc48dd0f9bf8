"""Building and sending e-mail: SMTP when ``SMTP_HOST`` is set, else files in ``MAIL_FOLDER``.

The embedded default writes each message to ``<MAIL_FOLDER>/<Message-ID>.eml``: sending the
same message again overwrites the same file, so a retried delivery never shows twice there.

Failures are classified for the caller: :class:`TransientMailError` (connection refused or
lost, timeout, 4xx replies: try again later) and :class:`PermanentMailError` (5xx replies
such as an unknown recipient, or an authentication failure: retrying will not help).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from flask import current_app

from asll.models.base import utcnow

DEFAULT_SMTP_TIMEOUT = 30.0
_QP_UTF8 = Charset("utf-8")
_QP_UTF8.body_encoding = QP  # quoted-printable: 7-bit safe, no relay needs 8BITMIME for French text


class MailError(Exception):
    """Sending failed; ``permanent`` says whether a retry could succeed."""

    permanent = False

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


class TransientMailError(MailError):
    permanent = False


class PermanentMailError(MailError):
    permanent = True


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: tuple[tuple[str, str], ...] = ()


def sender() -> str:
    return current_app.config.get("MAIL_FROM") or "ASLL <no-reply@asll.localhost>"


def sender_domain() -> str:
    address = parseaddr(sender())[1]
    domain = address.rpartition("@")[2]
    return domain or "asll.localhost"


def make_message_id(key: str, nonce: str) -> str:
    """A Message-ID derived from an outbox key (stable for every attempt of that message)."""
    local = re.sub(r"[^A-Za-z0-9.\-]", ".", key).strip(".")
    return f"<asll.{local}.{nonce}@{sender_domain()}>"


def build(mail: OutgoingMail) -> Message:
    """A multipart/alternative message (plain text first, then HTML), UTF-8, 7-bit clean.

    Built with the classic API on purpose: with :class:`email.message.EmailMessage`, Python
    folds a long subject mixing plain and encoded words so that a space between them is lost
    ("Obligation n° 1" arrives as "Obligationn° 1"). :class:`email.header.Header` encodes the
    whole subject as encoded words, which every client decodes back exactly.
    """
    message = MIMEMultipart("alternative")
    name, address = parseaddr(sender())
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = mail.to
    message["Subject"] = Header(mail.subject, "utf-8") if not mail.subject.isascii() else mail.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "fr"
    for header, value in mail.headers:
        message[header] = value
    message.attach(MIMEText(mail.text, "plain", _QP_UTF8))
    message.attach(MIMEText(mail.html, "html", _QP_UTF8))
    return message


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def send(mail: OutgoingMail) -> str:
    """Send one message; return where it went ("smtp" or the file written). Raises :class:`MailError`."""
    message = build(mail)
    if not smtp_configured():
        return _write_to_folder(message, mail.message_id)
    _send_smtp(message)
    return "smtp"


def _write_to_folder(message: Message, message_id: str) -> str:
    folder = Path(current_app.config.get("MAIL_FOLDER") or Path(current_app.instance_path) / "mail")
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9.\-@]", "_", message_id.strip("<>")) + ".eml"
    target = folder / name
    partial = folder / f".{name}.part"
    partial.write_bytes(message.as_bytes())
    partial.replace(target)  # atomic: a reader never sees half a message
    return str(target)


def _send_smtp(message: Message) -> None:
    config = current_app.config
    timeout = float(config.get("SMTP_TIMEOUT") or DEFAULT_SMTP_TIMEOUT)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=timeout) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD", ""))
            refused = smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise _from_codes({code for code, _text in exc.recipients.values()}, exc) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentMailError(f"Authentification SMTP refusée ({exc.smtp_code}).", exc.smtp_code) from exc
    except smtplib.SMTPResponseException as exc:
        raise _from_codes({exc.smtp_code}, exc) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused or lost connection, timeout, TLS failure
        raise TransientMailError(f"Serveur SMTP injoignable : {exc}") from exc
    if refused:  # one recipient only: a partial refusal is a refusal
        raise _from_codes({code for code, _text in refused.values()}, None)


def _from_codes(codes: set[int], exc: Exception | None) -> MailError:
    code = max(codes) if codes else None
    detail = f" : {exc}" if exc is not None else ""
    if code is not None and 500 <= code < 600:
        return PermanentMailError(f"Refus définitif du serveur SMTP ({code}){detail}", code)
    return TransientMailError(f"Refus temporaire du serveur SMTP ({code}){detail}", code)

