"""Exactly one Responsible and one Accountable person per task, held by PostgreSQL.

The partial unique constraints on TaskAssignment stop a second R or A. This deferred
constraint trigger stops a task committed with none: it runs at commit, so a service
may replace a task's RACI rows inside one transaction. SQLite (the local `make run`
database) has no deferred triggers; there the forms and services hold the rule.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION tasks_app_raci_exactly_one() RETURNS trigger AS $$
DECLARE
    t_id bigint;
BEGIN
    IF TG_TABLE_NAME = 'tasks_app_task' THEN
        t_id := NEW.id;
    ELSIF TG_OP = 'DELETE' THEN
        t_id := OLD.task_id;
    ELSE
        t_id := NEW.task_id;
    END IF;
    IF EXISTS (SELECT 1 FROM tasks_app_task WHERE id = t_id) AND (
        (SELECT count(*) FROM tasks_app_taskassignment WHERE task_id = t_id AND role = 'R') <> 1
        OR (SELECT count(*) FROM tasks_app_taskassignment WHERE task_id = t_id AND role = 'A') <> 1
    ) THEN
        RAISE EXCEPTION 'task % must have exactly one Responsible and one Accountable person', t_id
            USING ERRCODE = '23514', CONSTRAINT = 'raci_exactly_one';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER raci_exactly_one_assignment
    AFTER INSERT OR UPDATE OR DELETE ON tasks_app_taskassignment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION tasks_app_raci_exactly_one();

CREATE CONSTRAINT TRIGGER raci_exactly_one_task
    AFTER INSERT ON tasks_app_task
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION tasks_app_raci_exactly_one();
"""

DROP = """
DROP TRIGGER IF EXISTS raci_exactly_one_task ON tasks_app_task;
DROP TRIGGER IF EXISTS raci_exactly_one_assignment ON tasks_app_taskassignment;
DROP FUNCTION IF EXISTS tasks_app_raci_exactly_one();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("tasks_app", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
