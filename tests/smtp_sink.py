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

Faults of a relay (tests/test_outbox_faults.py):
- `lose_reply(times)`: take the next `times` messages, then drop the connection before
  answering "250", as a relay whose reply is lost on the way;
- `stall(times)`: take the next `times` messages and hold the reply until `release()`
  (a client killed meanwhile never hears it).
Both keep the message, as a relay does once it has the data. `by_message_id()` is what
a relay that drops repeats of a Message-ID (or a mail client that shows one copy) keeps.
"""

from __future__ import annotations

import asyncio
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
        if self.sink._take("lose_reply"):
            server.transport.abort()  # the data is kept; the "250" never leaves
            return "250 Message accepted for delivery"
        if self.sink._take("stall"):
            self.sink._stalled += 1
            while not self.sink._released:
                await asyncio.sleep(0.02)
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
        self._faults: dict[str, int] = {}
        self._stalled = 0
        self._released = False

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

    def lose_reply(self, times: int = 1) -> None:
        """Keep the next `times` messages but drop the connection before the "250"."""
        with self._lock:
            self._faults["lose_reply"] = times

    def stall(self, times: int = 1) -> None:
        """Keep the next `times` messages and hold their "250" until release()."""
        with self._lock:
            self._faults["stall"] = times
            self._released = False

    def release(self) -> None:
        self._released = True

    @property
    def stalled(self) -> int:
        """How many messages have been held so far."""
        return self._stalled

    def _take(self, fault: str) -> bool:
        with self._lock:
            left = self._faults.get(fault, 0)
            if left:
                self._faults[fault] = left - 1
            return bool(left)

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

    def by_message_id(self) -> dict[str, list[Received]]:
        """Every transmission, grouped by the message's Message-ID."""
        grouped: dict[str, list[Received]] = {}
        for received in self.received:
            grouped.setdefault(str(received.message["Message-ID"]), []).append(received)
        return grouped

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
