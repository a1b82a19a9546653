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
