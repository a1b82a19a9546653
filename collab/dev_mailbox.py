"""Read the e-mails Django's file backend wrote (make run: var/mail/), for /dev/mail/.

Developer-only (collab.dev_views, mounted when DEBUG is on). Each file holds the
messages one backend connection sent: each message as its MIME bytes, then a line of 79
"-" (django/core/mail/backends/filebased.py, write_message). The stdlib `email` package
(policy.default) parses them: subjects and names decoded (Chinese included), the text
and HTML parts, the attachments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

# The backend's separator: "\n" + 79 "-" + "\n", then the next message's first header
# (or the end of the file), so a body line of 79 dashes does not split a message.
SEPARATOR = re.compile(rb"\r?\n-{79}\r?\n(?=\Z|[!-9;-~]+:)")
# The names the file backend gives its files ("20261207-175217-139637412649616.log").
FILE_NAME = re.compile(r"^[\w.-]+\.log$")


@dataclass
class Attachment:
    name: str
    size: int


@dataclass
class Mail:
    """One message of a mailbox file, decoded."""

    file: str
    index: int  # its position in the file, from 0
    subject: str
    sender: str
    to: str
    cc: str
    date: datetime | None
    recipients: frozenset[str]  # the lower-cased addresses of To and Cc
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def has_html(self) -> bool:
        return bool(self.html)


def _addresses(message: EmailMessage, name: str) -> frozenset[str]:
    header = message[name]
    if header is None:
        return frozenset()
    return frozenset(
        address.addr_spec.lower()
        for address in getattr(header, "addresses", ())
        if address.addr_spec
    )


def _content(part) -> str:
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def parse(data: bytes, file: str) -> list[Mail]:
    """Return the messages of one mailbox file, in the order they were written."""
    mails = []
    chunks = [chunk for chunk in SEPARATOR.split(data) if chunk.strip()]
    for index, chunk in enumerate(chunks):
        message = message_from_bytes(chunk.lstrip(b"\r\n"), policy=policy.default)
        date = getattr(message["date"], "datetime", None)
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)  # Django writes "-0000": UTC, RFC 5322 3.3
        attachments = [
            Attachment(
                name=part.get_filename() or part.get_content_type(),
                size=len(part.get_payload(decode=True) or b""),
            )
            for part in message.iter_attachments()
        ]
        mails.append(
            Mail(
                file=file,
                index=index,
                subject=str(message["subject"] or "").strip(),
                sender=str(message["from"] or ""),
                to=str(message["to"] or ""),
                cc=str(message["cc"] or ""),
                date=date,
                recipients=_addresses(message, "to") | _addresses(message, "cc"),
                text=_content(message.get_body(preferencelist=("plain",))),
                html=_content(message.get_body(preferencelist=("html",))),
                attachments=attachments,
            )
        )
    return mails


def files(folder: Path) -> list[Path]:
    """Return the mailbox files in `folder`, newest first."""
    if not folder.is_dir():
        return []
    found = [path for path in folder.glob("*.log") if FILE_NAME.match(path.name)]
    return sorted(found, key=lambda path: (path.stat().st_mtime, path.name), reverse=True)


def visible_to(user, mail: Mail) -> bool:
    """The superuser reads every mail; anyone else only mail addressed to them (To/Cc)."""
    if user.is_superuser:
        return True
    address = (user.email or "").strip().lower()
    return bool(address) and address in mail.recipients


def mails_for(user, folder: Path, *, limit: int = 50) -> list[Mail]:
    """Return the newest `limit` mails of `folder` that `user` may read, newest first."""
    shown: list[Mail] = []
    for path in files(folder):
        for mail in reversed(parse(path.read_bytes(), path.name)):
            if visible_to(user, mail):
                shown.append(mail)
                if len(shown) >= limit:
                    return shown
    return shown


def mail_for(user, folder: Path, file: str, index: int) -> Mail | None:
    """Return message `index` of mailbox file `file` if `user` may read it, else None."""
    if not FILE_NAME.match(file):
        return None
    path = folder / file
    if not path.is_file():
        return None
    mails = parse(path.read_bytes(), file)
    if not 0 <= index < len(mails) or not visible_to(user, mails[index]):
        return None
    return mails[index]


def rewrite_links(text: str, site_url: str, base: str) -> str:
    """Point the links that start with `site_url` at `base` (the server being browsed).

    The mails carry settings.SITE_URL (http://127.0.0.1:8000 by default); a developer
    running `runserver 127.0.0.1:8123` follows them to that server instead. Only whole
    origins are replaced: "http://127.0.0.1:8000" leaves "http://127.0.0.1:80001" alone.
    """
    site = site_url.rstrip("/")
    if not site:
        return text
    pattern = re.compile(re.escape(site) + r"(?![\w-]|[.:]\w)/?")
    return pattern.sub(base.rstrip("/") + "/", text)
