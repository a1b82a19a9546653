"""factory_boy factories for the organisation."""

import datetime as dt

import factory
from django.utils import timezone

from collab.choices import Role
from collab.models import Delegation, Department, User


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"d{n}")
    name = factory.Sequence(lambda n: f"部門{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"同事{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    department = factory.SubFactory(DepartmentFactory)
    role = Role.STAFF
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class DelegationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delegation

    head = factory.SubFactory(UserFactory)
    deputy = factory.SubFactory(UserFactory)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))
    reason = "出差"


# --- requests ------------------------------------------------------------------------


def make_request(*, initiator, departments, lead=None, goals=1, **fields):
    """Create a draft request through the service, as the form does."""
    from requests_app import services

    data = {
        "name": fields.pop("name", "新品上市推廣"),
        "background": fields.pop("background", "新產品需要跨部門推廣。"),
        "expected_completion": fields.pop(
            "expected_completion", timezone.localdate() + dt.timedelta(days=60)
        ),
        "priority": fields.pop("priority", "normal"),
        **fields,
    }
    return services.request_save(
        by=initiator,
        data=data,
        departments=[{"department": d, "is_lead": d == lead} for d in departments],
        goals=[
            {"description": f"目標{i}", "metric": "月活躍用戶", "target_value": 15, "unit": "%"}
            for i in range(goals)
        ],
    )
