"""The warning engine (DOMAIN §4): rules registered by the apps, scanned by Celery beat.

An app registers a RuleSpec from its AppConfig.ready(): what the rule is called, how
often it runs, its default thresholds and recipients, and a scan function that selects
the objects concerned (by state and deadline, on indexes, in a bounded number of
queries) and says who plays which role for each. The engine here knows no app.

A run:
1. asks every active rule of the cadence (daily or hourly) for its hits (its own scan's,
   then those of the extra scans a higher app added with register_extra), and writes
   each hit's text from the rule's message (or the hit's own), translated once per run;
2. writes one WarningItem per (rule, object, period, recipient) with INSERT ... ON
   CONFLICT DO NOTHING and keeps only the rows this run inserted, so a second run, or
   a second beat process at the same moment, sends nothing twice;
3. makes one in-app notification per item and one WarningDigest per person, whose
   e-mail goes through collab.outbox (sent once after commit, retried for days).
"""

from __future__ import annotations

import datetime as dt
import gc
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from . import formats, outbox
from .choices import Role
from .models import (
    Department,
    Notification,
    OutboxMessage,
    User,
    WarningDigest,
    WarningItem,
    WarningRule,
)
from .registry import registry as registry_store

DAILY = "daily"
HOURLY = "hourly"
ROLES = ("responsible", "accountable", "head", "initiator", "pmo")


@dataclass(slots=True)
class Hit:
    """One object a rule found: its id, the people in each role (user ids, as People
    gives them: the engine knows which are active), the values its text reads and its
    link. No model instance: `make bench` scans 100k open tasks.

    A hit of an extra scan (register_extra) is of another model than the rule's: it
    names its model, so that its warning points at that object, and its own message,
    called like RuleSpec.message."""

    object_id: int
    people: dict[str, Sequence[int]]
    values: dict = field(default_factory=dict)
    url: str = ""
    period: str | None = None  # default: the run's day (daily) or hour (hourly)
    model: type[models.Model] | None = None  # default: the rule's
    message: Callable[[int | None], str] | None = None  # default: the rule's


@dataclass(frozen=True)
class RuleSpec:
    """A rule: its code and label, cadence, the model its hits are, its scan, and its
    message: `message(n)` returns the translated format of the text, with %(name)s
    placeholders filled from the hit's values (on one line: a scan flattens what it
    quotes); n is the value named by `count` for a plural text (ngettext), else None.
    It is asked once per run and count."""

    code: str
    label: object  # a lazy translated string
    model: type[models.Model]
    scan: Callable[[WarningRule, dt.datetime], Iterable[Hit]]
    message: Callable[[int | None], str]
    cadence: str = DAILY
    count: str | None = None
    defaults: dict = field(default_factory=dict)


class Finding(NamedTuple):
    """One warning a scan found about one object: its text, link and recipients."""

    rule: str
    content_type_id: int
    object_id: int
    period: str
    text: str
    url: str
    recipients: tuple[int, ...]  # user ids


class Found(NamedTuple):
    """One warning for one person (a row run() records)."""

    rule: str
    content_type_id: int
    object_id: int
    period: str
    recipient: User
    text: str
    url: str

    @property
    def recipient_id(self) -> int:
        return self.recipient.pk


class _Directory:
    """Who is who for one find(): which of the users met so far are active, every
    department's heads (one row per head, read once) and the deputies acting on a day,
    shared by the rules' People, so that each rule adds one query at most (the users it
    has not met). People are ids here: a scan makes no User instances."""

    def __init__(self):
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self._head_ids: dict[int, list[int]] | None = None
        self._deputies: dict[dt.date, object] = {}  # day -> ActingHeads

    def load(self, ids: Iterable[int | None]) -> None:
        missing = set(ids) - self.seen - {None}
        if missing:
            self.seen |= missing
            self.active.update(
                User.objects.filter(pk__in=missing, is_active=True).values_list("pk", flat=True)
            )

    def head_ids(self) -> dict[int, list[int]]:
        if self._head_ids is None:
            self._head_ids = defaultdict(list)
            for department_id, user_id in Department.heads.through.objects.values_list(
                "department_id", "user_id"
            ):
                self._head_ids[department_id].append(user_id)
        return self._head_ids

    def deputies(self, on: dt.date):
        """The deputies acting on `on` (collab.selectors.ActingHeads), read once."""
        from .selectors import ActingHeads

        if on not in self._deputies:
            self._deputies[on] = acting = ActingHeads(on=on)
            ids = acting.all_deputy_ids()  # active, as delegations_active reads them
            self.seen |= ids
            self.active |= ids
        return self._deputies[on]


_directory: ContextVar[_Directory | None] = ContextVar("collab_warnings_directory", default=None)


@contextmanager
def paused_cycle_collection():
    """Pause Python's cyclic garbage collector while a scan builds its rows.

    Over 100k open tasks a scan makes about a million small dicts and tuples, none in
    a reference cycle; with the collector on, its passes over the growing heap took
    longer than the scan itself (`make bench`, Python 3.11). Memory is still freed by
    reference counting; the collector resumes, and catches up, on the way out."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@contextmanager
def _shared_directory():
    token = _directory.set(_Directory())
    try:
        yield
    finally:
        _directory.reset(token)


def _current_directory() -> _Directory:
    return _directory.get() or _Directory()


class People:
    """The people of a scan's hits, as user ids, however many hits: the users, the
    active heads of the departments, and the deputies acting for them on the day
    (collab.selectors.ActingHeads). Within find() the rules share one _Directory; alone,
    a People reads its own (three queries). Each department's heads with their deputies
    are settled once and shared by the hits."""

    def __init__(self, *, users: Iterable[int | None], departments: Iterable[int | None], on):
        directory = _current_directory()
        departments = set(departments) - {None}
        head_ids = directory.head_ids() if departments else {}
        heads_of = {d: head_ids[d] for d in departments if d in head_ids}
        directory.load([*users, *(u for ids in heads_of.values() for u in ids)])
        active = directory.active
        self._deputies = directory.deputies(on) if heads_of else None
        self._active_heads = {
            department_id: [u for u in ids if u in active]
            for department_id, ids in heads_of.items()
        }
        self._heads = {
            department_id: self._with_deputies(department_id, heads)
            for department_id, heads in self._active_heads.items()
        }

    def _with_deputies(self, department_id: int, heads: list[int]) -> tuple[int, ...]:
        deputies = self._deputies.deputy_ids(department_id, heads)
        return tuple(dict.fromkeys([*heads, *deputies]))

    @staticmethod
    def one(user_id: int | None) -> tuple[int, ...]:
        """The user, as a one-element tuple (empty for None)."""
        return () if user_id is None else (user_id,)

    def heads_by_department(self) -> dict[int, tuple[int, ...]]:
        """Each department's active heads and the deputies acting for them."""
        return self._heads

    def heads(self, department_id: int | None, *, but: Iterable[int] = ()) -> tuple[int, ...]:
        """The department's active heads and the deputies acting for them; with `but`,
        the heads of those ids left out, and their deputies with them."""
        if not but:
            return self._heads.get(department_id, ())
        heads = [h for h in self._active_heads.get(department_id, ()) if h not in but]
        return self._with_deputies(department_id, heads) if heads else ()


def link(viewname: str, suffix: str = "") -> Callable[[int], str]:
    """Return pk -> the URL of `viewname` for that pk, reversing once: a scan links
    every hit, and a reverse() per hit cost more than the scan's SQL (`make bench`)."""
    sentinel = 2_147_483_647
    head, _sep, tail = reverse(viewname, args=[sentinel]).rpartition(str(sentinel))
    return lambda pk: f"{head}{pk}{tail}{suffix}"


# The warnings' texts are written in the portal's language (find() and the digests run
# under it: people have no language of their own yet), so a day is formatted once for
# every hit that names it; reading the active language per hit cost more than the
# formatting (`make bench`, the scan of 100k open tasks).
@lru_cache(maxsize=4096)
def _date(value: dt.date) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return formats.short_date(value)


@lru_cache(maxsize=16384)
def _moment(value: dt.datetime) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return formats.short_datetime(value)


def day_text(value: dt.date | dt.datetime | None) -> str:
    """A date as the warnings write it (3月6日); a moment gives its local day."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localdate(value)
    return _date(value)


def moment_text(value: dt.datetime | None) -> str:
    """A moment as the warnings write it, in local time (3月6日 17:30)."""
    return "" if value is None else _moment(value)


_registry: dict[str, RuleSpec] = registry_store["warning_rules"]
_extras: dict[str, list] = registry_store["warning_extras"]


def register(*specs: RuleSpec) -> None:
    """Register an app's rules (its AppConfig.ready)."""
    for spec in specs:
        _registry[spec.code] = spec


def register_extra(code: str, scan: Callable[[WarningRule, dt.datetime], Iterable[Hit]]) -> None:
    """Let a higher app's `scan` find more objects under the rule `code` (its AppConfig.
    ready): the same admin row, thresholds and recipients, one rule. Its hits name their
    own model and message (Hit.model, Hit.message); meetings_app's action items are
    due soon, stale and overdue as tasks are."""
    scans = _extras.setdefault(code, [])
    if scan not in scans:
        scans.append(scan)


def _scans(code: str, spec: RuleSpec, rule: WarningRule, now: dt.datetime) -> Iterable[Hit]:
    """The hits of the rule's own scan, then those of its extra scans."""
    yield from spec.scan(rule, now)
    for scan in _extras.get(code, ()):
        yield from scan(rule, now)


def registry() -> dict[str, RuleSpec]:
    return dict(_registry)


def rules_ensure() -> dict[str, WarningRule]:
    """Create the admin's row of every registered rule with its defaults (once)."""
    existing = {rule.code: rule for rule in WarningRule.objects.all()}
    for code, spec in _registry.items():
        if code not in existing:
            existing[code], _ = WarningRule.objects.get_or_create(code=code, defaults=spec.defaults)
    return existing


def _period(cadence: str, now: dt.datetime) -> str:
    local = timezone.localtime(now)
    return f"{local:%Y-%m-%d}" if cadence == DAILY else f"{local:%Y-%m-%dT%H}"


def _roles(rule: WarningRule) -> tuple[str, ...]:
    """The roles the admin's row of the rule sends to (PMO apart)."""
    wanted = {
        "responsible": rule.to_responsible,
        "accountable": rule.to_accountable,
        "head": rule.to_head,
        "initiator": rule.to_initiator,
    }
    return tuple(role for role, on in wanted.items() if on)


def _recipients(roles: tuple[str, ...], hit: Hit, pmo: list[int], active: set[int]):
    """The active people of the hit in the rule's roles, and the PMO, each once (a
    handful per hit: a list beats a set here, over 100k hits)."""
    people = hit.people
    chosen: list[int] = []
    for role in roles:
        for user in people.get(role, ()):
            if user in active and user not in chosen:
                chosen.append(user)
    for user in pmo:
        if user not in chosen:
            chosen.append(user)
    return tuple(chosen)


@dataclass
class RunResult:
    run: uuid.UUID
    items: list[WarningItem] | list[Found]  # Found rows on a dry run
    digests: list[WarningDigest]

    def by_recipient(self) -> dict[User, list]:
        grouped: dict[User, list] = defaultdict(list)
        for item in self.items:
            grouped[item.recipient].append(item)
        return dict(grouped)


def find(*, now: dt.datetime, cadences: Iterable[str]) -> list[Finding]:
    """Return what the active rules find at `now`: one Finding per object and rule, with
    its text and the people it goes to.

    Per hit only what differs per hit is done: the language, each rule's message (once
    per count), recipients' roles, period and content type are settled once per rule
    (`make bench` runs this over 100k open tasks).
    """
    rules = rules_ensure()
    pmo = list(User.objects.filter(role=Role.PMO, is_active=True).values_list("pk", flat=True))
    findings: list[Finding] = []
    language = translation.override(settings.LANGUAGE_CODE)
    with paused_cycle_collection(), _shared_directory(), language:
        active = _directory.get().active
        for code, spec in _registry.items():
            rule = rules.get(code)
            if spec.cadence not in cadences or rule is None or not rule.is_active:
                continue
            content_type = ContentType.objects.get_for_model(spec.model).pk
            period = _period(spec.cadence, now)
            roles = _roles(rule)
            rule_pmo = pmo if rule.to_pmo else []
            formats: dict[int | None, str] = {}
            own_formats: dict[tuple, str] = {}  # (message, n) of the extra scans' hits
            count = spec.count
            add, new = findings.append, tuple.__new__
            for hit in _scans(code, spec, rule, now):
                recipients = _recipients(roles, hit, rule_pmo, active)
                if not recipients:
                    continue
                n = hit.values[count] if count else None
                if hit.message is None:
                    if n not in formats:
                        formats[n] = spec.message(n)
                    text = formats[n] % hit.values
                else:
                    key = (hit.message, n)
                    if key not in own_formats:
                        own_formats[key] = hit.message(n)
                    text = own_formats[key] % hit.values
                kind = content_type
                if hit.model is not None:
                    kind = ContentType.objects.get_for_model(hit.model).pk  # cached
                # tuple.__new__: a NamedTuple's own __new__ is Python, 190k times over
                add(
                    new(
                        Finding,
                        (code, kind, hit.object_id, hit.period or period, text, hit.url,
                         recipients),
                    )
                )  # fmt: skip
    return findings


def each_recipient(findings: list[Finding]) -> list[Found]:
    """One row per finding and person, with the person (one query)."""
    users = User.objects.in_bulk({u for f in findings for u in f.recipients})
    return [
        Found(f.rule, f.content_type_id, f.object_id, f.period, users[u], f.text, f.url)
        for f in findings
        for u in f.recipients
    ]


def collect(*, now: dt.datetime, cadences: Iterable[str]) -> list[Found]:
    """Return the warnings the active rules find at `now`, one row per person."""
    return each_recipient(find(now=now, cadences=cadences))


def run(
    *, now: dt.datetime | None = None, cadences: Iterable[str] = (DAILY,), dry_run: bool = False
) -> RunResult:
    """Scan, record and (unless dry_run) deliver the warnings due at `now`."""
    now = now or timezone.now()
    run_id = uuid.uuid4()
    found = collect(now=now, cadences=tuple(cadences))
    if dry_run:
        return RunResult(run=run_id, items=found, digests=[])
    items = [
        WarningItem(
            rule=f.rule,
            content_type_id=f.content_type_id,
            object_id=f.object_id,
            period=f.period,
            recipient=f.recipient,
            text=f.text,
            url=f.url,
            run=run_id,
        )
        for f in found
    ]
    # Insert in the order of the unique key: a second run at the same moment then waits
    # on the same first row instead of the two locking each other's rows (deadlock).
    items.sort(key=lambda i: (i.rule, i.content_type_id, i.object_id, i.period, i.recipient_id))
    with transaction.atomic():
        WarningItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=1000)
        mine = list(
            WarningItem.objects.filter(run=run_id).select_related("recipient").order_by("pk")
        )
        grouped: dict[int, list[WarningItem]] = defaultdict(list)
        for item in mine:
            grouped[item.recipient_id].append(item)
        digests = WarningDigest.objects.bulk_create(
            WarningDigest(recipient=rows[0].recipient, run=run_id) for rows in grouped.values()
        )
        notes = Notification.objects.bulk_create(
            Notification(recipient=item.recipient, title=item.text[:200], body="", url=item.url)
            for item in mine
        )
        digest_of = {d.recipient_id: d for d in digests}
        for item, note in zip(mine, notes, strict=True):
            item.digest = digest_of[item.recipient_id]
            item.notification = note
        WarningItem.objects.bulk_update(mine, ["digest", "notification"], batch_size=1000)
        # The digest replaces the per-item e-mails: notifications stay in-app only.
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(emailed_at=timezone.now())
        outbox.enqueue(
            outbox.Draft(
                kind=DIGEST_KIND,
                key=f"{DIGEST_KIND}:{d.pk}",
                params={"digest": d.pk},
                recipient=d.recipient,
            )
            for d in digests
        )
    return RunResult(run=run_id, items=mine, digests=digests)


DIGEST_KIND = "warning_digest"


def digest_build(message: OutboxMessage):
    """The outbox channel: one person's digest e-mail, or None when the person was
    deactivated or has no address."""
    from django.core.mail import EmailMultiAlternatives

    digest = outbox.addressed_row(message, WarningDigest.objects, "digest")
    if digest is None:
        return None
    user = digest.recipient
    items = list(digest.items.order_by("rule", "pk"))
    context = {
        "recipient": user,
        "items": items,
        "site_url": settings.SITE_URL.rstrip("/"),
        "portal_name": settings.PORTAL_NAME,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("emails/warning_digest_subject.txt", context).split())
        text = render_to_string("emails/warning_digest.txt", context)
        html = render_to_string("emails/warning_digest.html", context)
    email = EmailMultiAlternatives(
        subject=settings.EMAIL_SUBJECT_PREFIX + subject, body=text, to=[user.email]
    )
    email.attach_alternative(html, "text/html")
    email.extra_headers["Auto-Submitted"] = "auto-generated"
    email.extra_headers["Message-ID"] = message.message_id
    return email


def digest_delivered(message: OutboxMessage) -> None:
    # Sent, or nobody to send to (deactivated since the scan): either way it is done.
    WarningDigest.objects.filter(pk=message.params["digest"], sent_at__isnull=True).update(
        sent_at=timezone.now()
    )


outbox.register(DIGEST_KIND, build=digest_build, delivered=digest_delivered)
