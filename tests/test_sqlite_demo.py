"""`make run` serves the demo on SQLite: every main page answers there, not only on PostgreSQL.

The suite runs on PostgreSQL; `make run` migrates a SQLite file, seeds the demo and
serves it. A query that only PostgreSQL understands (date arithmetic, AT TIME ZONE) would
pass every other test and answer 500 on the demo. This test runs the demo's own steps
in a subprocess on a fresh SQLite file and fetches the pages each demo role lives on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PAGES = """
import django
django.setup()
from django.test import Client
from django.urls import reverse
from collab.models import User
from requests_app.models import CollabRequest
from requests_app.choices import RequestState
from meetings_app.models import Meeting

case = CollabRequest.objects.filter(state=RequestState.IN_PROGRESS).order_by("pk").first()
closed = CollabRequest.objects.filter(state=RequestState.COMPLETED).order_by("pk").first()
meeting = Meeting.objects.filter(state="filed").order_by("pk").first()
pages = {
    "pmo": [
        "/", reverse("portfolio_app:dashboard"), reverse("portfolio_app:todo"),
        reverse("requests_app:mine") + "?scope=all", reverse("tasks_app:mine"),
        reverse("requests_app:detail", args=[case.pk]), reverse("tasks_app:board", args=[case.pk]),
        reverse("review_app:case", args=[closed.pk]), "/admin/tasks_app/task/?timing=behind",
        "/admin/tasks_app/task/?timing=overdue",
        reverse("meetings_app:mine"), reverse("meetings_app:calendar"),
        reverse("meetings_app:request", args=[meeting.request_id]),
        reverse("meetings_app:detail", args=[meeting.pk]),
        reverse("meetings_app:minutes-pdf", args=[meeting.pk]),
        "/admin/meetings_app/meeting/?minutes=awaiting",
        "/admin/meetings_app/actionitem/?timing=overdue",
    ],
    "tech_head": [reverse("tasks_app:department"), reverse("portfolio_app:todo")],
    "prod_staff": [reverse("meetings_app:mine"), reverse("tasks_app:mine")],
}
failed = []
for username, urls in pages.items():
    client = Client()
    client.force_login(User.objects.get(username=username))
    for url in urls:
        status = client.get(url, HTTP_HOST="127.0.0.1").status_code
        if status != 200:
            failed.append(f"{username} {url} {status}")
print("FAILED:" + ";".join(failed) if failed else "ALL 200")
"""


def _run(args, env, timeout=600):
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_demo_pages_answer_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "collab.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        done = _run([*manage, *step], env)
        assert done.returncode == 0, f"{step}: {done.stderr[-3000:]}"
    done = _run([sys.executable, "-c", PAGES], env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ALL 200"), done.stdout[-3000:] + done.stderr[-3000:]
