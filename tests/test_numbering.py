"""Request numbers: XQ + yyyymm + 3 digits, sequential per month, never reused, unique
when many people submit at the same instant (DOMAIN.md §1)."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from collab.numbering import next_number
from requests_app import services
from requests_app.models import CollabRequest
from tests.factories import DepartmentFactory, UserFactory, make_request


def test_format_is_prefix_year_month_and_three_digits(db):
    assert next_number("XQ", on=dt.date(2024, 7, 15)) == "XQ202407001"


def test_numbers_are_sequential_within_a_month_and_restart_the_next(db):
    """Each month counts from 001; going back to an earlier month continues its count."""
    july = [next_number("XQ", on=dt.date(2024, 7, d)) for d in (1, 15, 31)]
    assert july == ["XQ202407001", "XQ202407002", "XQ202407003"]
    assert next_number("XQ", on=dt.date(2024, 8, 1)) == "XQ202408001"
    assert next_number("XQ", on=dt.date(2025, 1, 2)) == "XQ202501001"
    assert next_number("XQ", on=dt.date(2024, 7, 20)) == "XQ202407004"


def test_each_prefix_counts_on_its_own(db):
    on = dt.date(2024, 7, 1)
    assert next_number("XQ", on=on) == "XQ202407001"
    assert next_number("YJ", on=on) == "YJ202407001"
    assert next_number("XQ", on=on) == "XQ202407002"


@pytest.fixture
def people(db):
    dept, other = DepartmentFactory(), DepartmentFactory()
    return UserFactory(department=dept), other


@pytest.mark.django_db
def test_submit_numbers_the_request_in_the_current_month(people):
    initiator, other = people
    req = make_request(initiator=initiator, departments=[other])
    assert req.number is None  # a draft has no number yet
    req = services.request_submit(request=req, by=initiator)
    assert re.fullmatch(rf"XQ{timezone.localdate():%Y%m}\d{{3}}", req.number)


def _seq(number: str) -> int:
    return int(number[-3:])


@pytest.mark.django_db
def test_numbers_are_never_reused(people):
    """A cancelled request keeps its number and the next request gets the next one;
    a resubmission keeps the number it was first given."""
    initiator, other = people
    first = services.request_submit(
        request=make_request(initiator=initiator, departments=[other]), by=initiator
    )
    number = first.number
    services.request_cancel(request=first, by=initiator, reason="方向調整")
    first = CollabRequest.objects.get(pk=first.pk)
    assert first.number == number

    second = services.request_submit(
        request=make_request(initiator=initiator, departments=[other], name="第二件"),
        by=initiator,
    )
    assert second.number != number
    assert second.number[:-3] == number[:-3]
    assert _seq(second.number) == _seq(number) + 1

    # Sent back and resubmitted: the number stays.
    head = UserFactory(department=other)
    other.heads.add(head)
    given = second.number
    services.review_decide(review=second.reviews.get(), by=head, approve=False, comment="請補充")
    services.request_submit(request=CollabRequest.objects.get(pk=second.pk), by=initiator)
    second = CollabRequest.objects.get(pk=second.pk)
    assert (second.review_round, second.number) == (2, given)
    third = services.request_submit(
        request=make_request(initiator=initiator, departments=[other], name="第三件"),
        by=initiator,
    )
    assert _seq(third.number) == _seq(number) + 2


@pytest.mark.django_db
def test_the_database_refuses_a_duplicate_number(people):
    """The unique constraint backs the sequence up: two rows cannot share a number."""
    initiator, other = people
    a = services.request_submit(
        request=make_request(initiator=initiator, departments=[other]), by=initiator
    )
    b = services.request_submit(
        request=make_request(initiator=initiator, departments=[other], name="另一件"),
        by=initiator,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        CollabRequest.objects.filter(pk=b.pk).update(number=a.number)


# --- concurrency ----------------------------------------------------------------------

RACERS = 8


def _race(work, n: int = RACERS) -> list:
    """Run work(i) in n threads released together; each thread has its own connection."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = ("ok", work(i))
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


@pytest.mark.django_db(transaction=True)
def test_people_submitting_at_the_same_instant_get_distinct_numbers():
    """Eight people submit eight requests at once: eight distinct, consecutive numbers."""
    target = DepartmentFactory()
    drafts = []
    for i in range(RACERS):
        initiator = UserFactory(department=DepartmentFactory())
        drafts.append(make_request(initiator=initiator, departments=[target], name=f"需求{i}"))

    def submit(i):
        draft = CollabRequest.objects.select_related("initiator").get(pk=drafts[i].pk)
        return services.request_submit(request=draft, by=draft.initiator).number

    results = _race(submit)
    assert all(kind == "ok" for kind, _value in results), results
    numbers = [value for _kind, value in results]
    assert len(set(numbers)) == RACERS
    assert all(n[:-3] == f"XQ{timezone.localdate():%Y%m}" for n in numbers)
    seqs = sorted(_seq(n) for n in numbers)
    assert seqs == list(range(seqs[0], seqs[0] + RACERS))
    stored = set(CollabRequest.objects.values_list("number", flat=True))
    assert stored == set(numbers)


@pytest.mark.django_db(transaction=True)
def test_first_numbers_of_a_new_month_are_distinct_under_concurrency():
    """The month's counter row does not exist yet when eight callers ask at once; they
    still get 001 to 008, each once."""
    on = dt.date(2031, 1, 6)
    results = _race(lambda i: next_number("XQ", on=on))
    assert all(kind == "ok" for kind, _value in results), results
    assert sorted(value for _kind, value in results) == [
        f"XQ203101{n:03d}" for n in range(1, RACERS + 1)
    ]
