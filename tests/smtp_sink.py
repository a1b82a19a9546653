"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping every message it accepts.

    sink = SmtpSink()            # picks a free port; nothing listens yet
    sink.start()                 # the port now answers SMTP
    ...                          # point EMAIL_HOST / EMAIL_PORT at sink.host / sink.port
    sink.wait_for(3)             # poll until 3 messages arrived (fails after a timeout)
    sink.stop()                  # the port is closed again; start() reopens the same port

The messages are parsed with the modern e-mail API (email.policy.default), so headers
come back decoded (Subject in Chinese, To as an address) and get_body() finds the text
and HTML parts. `refuse(address, times)` makes the server answer 451 (try again later)
to the next `times` deliveries to that address, as a mail server under load does.
"""

from __future__ import annotations

import email
import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """Return a TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Received:
    """One accepted delivery: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class _Handler:
    """aiosmtpd handler: accept everything, except the deliveries we were told to refuse."""

    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink._take_refusal(address):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.sink._record(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message,
            )
        )
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 whose received messages the test can read."""

    def __init__(self, port: int | None = None, host: str = HOST):
        self.host = host
        self.port = port or free_port(host)
        self._controller: Controller | None = None
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._refusals: dict[str, int] = {}

    # --- life cycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpSink:
        """Listen on the sink's port (the same one after every stop)."""
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Close the port: connections are refused until start() again."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- behaviour --------------------------------------------------------------------

    def refuse(self, address: str, times: int = 1) -> None:
        """Answer 451 to the next `times` deliveries to `address`."""
        with self._lock:
            self._refusals[address.lower()] = times

    def _take_refusal(self, address: str) -> bool:
        with self._lock:
            left = self._refusals.get(address.lower(), 0)
            if left:
                self._refusals[address.lower()] = left - 1
            return bool(left)

    def _record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    # --- what arrived -----------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages delivered to `address` (by envelope recipient)."""
        address = address.lower()
        return [r.message for r in self.received if address in (a.lower() for a in r.rcpt_tos)]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Poll until at least `count` messages arrived; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return self.messages
            time.sleep(0.02)
        raise AssertionError(
            f"The SMTP sink received {len(self.received)} messages in {timeout:.0f}s, "
            f"expected {count}."
        )
