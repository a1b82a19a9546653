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


def make_head(department, *, admin_groups: bool = True, **fields):
    """A user made head of `department`; with `admin_groups`, also given the admin groups
    that role brings (user_sync_access), as an admin page test needs."""
    from collab.services import user_sync_access

    user = UserFactory(department=department, **fields)
    department.heads.add(user)
    if admin_groups:
        user_sync_access(user)
    return user


def make_role_user(role, **fields):
    """A user of a portal-wide role (PMO, executive, admin) with that role's groups."""
    from collab.services import role_groups_ensure, user_sync_access

    role_groups_ensure()
    user = UserFactory(role=role, **fields)
    user_sync_access(user)
    return user


def make_admin_org(*, mkt, mkt_head, staff, **extra):
    """The cast of the admin tests: marketing (given: the initiator's department, its
    head and a staff member), 技術部 and 運營部 with heads holding their admin groups,
    and a staff member of 運營部. `extra` adds attributes (say the PMO)."""
    from types import SimpleNamespace

    tech = DepartmentFactory(name="技術部")
    ops = DepartmentFactory(name="運營部")
    return SimpleNamespace(
        mkt=mkt,
        tech=tech,
        ops=ops,
        staff=staff,
        mkt_head=mkt_head,
        tech_head=make_head(tech),
        ops_head=make_head(ops),
        ops_staff=UserFactory(department=ops),
        **extra,
    )


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


# --- tasks ---------------------------------------------------------------------------


def make_approved_request(*, initiator, departments, lead=None, pmo, committed="任務甲"):
    """Take a request through submit, every department's 同意 and the PMO's 確認立項.

    Each department commits the lines in `committed`, which become draft tasks.
    """
    from requests_app import services

    req = make_request(initiator=initiator, departments=departments, lead=lead)
    req = services.request_submit(request=req, by=initiator)
    for review in req.reviews.select_related("department"):
        head = review.department.heads.first()
        services.review_decide(review=review, by=head, approve=True, committed_tasks=committed)
    req.refresh_from_db()
    return services.request_confirm(request=req, by=pmo)


def make_mkt_tech_request(*, pmo, committed="任務甲"):
    """Marketing (lead) files a request with tech, each department with a head (no admin
    groups), taken to 已立項 by make_approved_request: the core of many task tests.

    Returns a namespace (request, mkt, tech, mkt_head, tech_head, initiator, pmo) that a
    test extends with the people it needs.
    """
    from types import SimpleNamespace

    mkt, tech = DepartmentFactory(), DepartmentFactory()
    mkt_head = make_head(mkt, admin_groups=False)
    tech_head = make_head(tech, admin_groups=False)
    initiator = UserFactory(department=mkt)
    req = make_approved_request(
        initiator=initiator, departments=[mkt, tech], lead=mkt, pmo=pmo, committed=committed
    )
    return SimpleNamespace(
        request=req,
        mkt=mkt,
        tech=tech,
        mkt_head=mkt_head,
        tech_head=tech_head,
        initiator=initiator,
        pmo=pmo,
    )


def make_task(*, request, responsible, accountable, department=None, by=None, **fields):
    """Add a task to an approved request's breakdown through the service."""
    from tasks_app import services

    start = fields.pop("start_date", timezone.localdate())
    data = {
        "name": fields.pop("name", "撰寫推廣方案"),
        "responsible_department": department or responsible.department,
        "start_date": start,
        "due_at": fields.pop("due_at", services.due_at(start + dt.timedelta(days=10))),
        **fields,
    }
    return services.task_save(
        request=request,
        by=by or request.initiator,
        data=data,
        raci={"R": responsible, "A": accountable},
    )


def make_in_progress_request(*, initiator, departments, pmo, tasks):
    """An approved request whose breakdown holds `tasks` and is signed: 進行中.

    `tasks` is a list of dicts of make_task's keyword arguments (responsible,
    accountable, name, ...). Generated draft tasks are removed first, so the request
    holds exactly these. Returns (request, [tasks]).
    """
    from tasks_app import services as task_services

    req = make_approved_request(initiator=initiator, departments=departments, pmo=pmo)
    for task in list(req.tasks.all()):
        task_services.task_remove(task=task, by=initiator)
    made = [make_task(request=req, **spec) for spec in tasks]
    for link in req.department_links.select_related("department"):
        task_services.breakdown_sign(
            request=req, by=link.department.heads.first(), department=link.department
        )
    req.refresh_from_db()
    return req, [type(t).objects.get(pk=t.pk) for t in made]


def make_completed_request(*, initiator, departments, pmo, tasks):
    """A request taken to 已完成 with its tasks forced to done.

    The tasks' acceptance and the final acceptance are not run here: the tasks are set
    to done in the database and a signed final acceptance row is created, then the
    request is completed through the service (which runs the completion hooks:
    retrospective, feedback invitations). Use it where those earlier steps are not
    what the test is about.
    """
    from django.utils import timezone

    from requests_app import services
    from review_app.choices import FinalOutcome
    from review_app.models import FinalAcceptance
    from tasks_app.models import Task

    req, made = make_in_progress_request(
        initiator=initiator, departments=departments, pmo=pmo, tasks=tasks
    )
    Task.objects.filter(request=req).update(state="done", completed_at=timezone.now())
    FinalAcceptance.objects.create(
        request=req,
        round=1,
        summary="全部成果已交付。",
        opened_by=initiator,
        outcome=FinalOutcome.SIGNED,
        closed_at=timezone.now(),
    )
    req = services.request_complete_unchecked(request=req, by=initiator)
    return req, [Task.objects.get(pk=t.pk) for t in made]
