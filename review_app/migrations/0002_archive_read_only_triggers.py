"""PostgreSQL triggers that make an archived case (歸檔) read-only in the database itself.

The services refuse first and the models (requests_app.models.CaseRecord) refuse
save() and delete(); these triggers also refuse what bypasses the models: queryset
update() and delete(), bulk_create, many-to-many changes and raw SQL.

One generic plpgsql function guards every case table. Its trigger arguments say how
to reach the request from a row: the row's column, then (table, column) hops, e.g.
review_app_acceptanceverdict: acceptance_id → review_app_taskacceptance.task_id →
tasks_app_task.request_id. INSERT checks the new row, DELETE the old one and UPDATE
both (a row cannot be moved into or out of an archived case). The request's own row
has its own trigger: nothing changes or deletes it once it is archived (archiving
itself is the update that sets the flag, from a row that was not archived).

django-guardian's object-permission tables are access control, not case content: they
stay writable (collab.services.user_sync_access keeps working). review_app_archiveentry
is the knowledge base's index card of the case, not its content.

tests/test_review_archive_readonly.py checks that every CaseRecord model and its
many-to-many tables carry the trigger with the path below, so a new case model needs a
migration adding it. SQLite (local development without PostgreSQL) gets nothing.
"""

from django.db import migrations

FUNCTION = "case_refuse_archived"
REQUEST_FUNCTION = "case_refuse_archived_request"
TRIGGER = "case_archived_read_only"

# table → [column of the row, then (table, column) hops ending on the request's id]
GUARDED = {
    # requests_app
    "requests_app_requestdepartment": ["request_id"],
    "requests_app_goal": ["request_id"],
    "requests_app_milestone": ["request_id"],
    "requests_app_resourceneed": ["request_id"],
    "requests_app_attachment": ["request_id"],
    "requests_app_attachmentversion": ["attachment_id", "requests_app_attachment", "request_id"],
    "requests_app_departmentreview": ["request_id"],
    "requests_app_requestevent": ["request_id"],
    # tasks_app
    "tasks_app_breakdown": ["request_id"],
    "tasks_app_breakdownsignature": ["breakdown_id", "tasks_app_breakdown", "request_id"],
    "tasks_app_task": ["request_id"],
    "tasks_app_task_supporting_departments": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_task_depends_on": ["from_task_id", "tasks_app_task", "request_id"],
    "tasks_app_taskassignment": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_progressupdate": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_duedatechange": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_taskdeliverable": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_taskcomment": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_taskcomment_mentions": [
        "taskcomment_id",
        "tasks_app_taskcomment",
        "task_id",
        "tasks_app_task",
        "request_id",
    ],
    "tasks_app_collabask": ["task_id", "tasks_app_task", "request_id"],
    "tasks_app_taskevent": ["task_id", "tasks_app_task", "request_id"],
    # review_app
    "review_app_taskacceptance": ["task_id", "tasks_app_task", "request_id"],
    "review_app_acceptanceverdict": [
        "acceptance_id",
        "review_app_taskacceptance",
        "task_id",
        "tasks_app_task",
        "request_id",
    ],
    "review_app_finalacceptance": ["request_id"],
    "review_app_finalsignature": ["final_id", "review_app_finalacceptance", "request_id"],
    "review_app_retrospective": ["request_id"],
    "review_app_retrospectiveaction": [
        "retrospective_id",
        "review_app_retrospective",
        "request_id",
    ],
    "review_app_departmentcontribution": [
        "retrospective_id",
        "review_app_retrospective",
        "request_id",
    ],
    "review_app_feedbackinvitation": ["request_id"],
    "review_app_feedback": ["request_id"],
    "review_app_feedback_departments": ["feedback_id", "review_app_feedback", "request_id"],
}

CREATE_FUNCTIONS = """
CREATE OR REPLACE FUNCTION case_refuse_archived() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    candidate jsonb;
    candidates jsonb[];
    ref text;
    hop integer;
BEGIN
    IF TG_OP = 'INSERT' THEN
        candidates := ARRAY[to_jsonb(NEW)];
    ELSIF TG_OP = 'DELETE' THEN
        candidates := ARRAY[to_jsonb(OLD)];
    ELSE
        candidates := ARRAY[to_jsonb(OLD), to_jsonb(NEW)];
    END IF;
    FOREACH candidate IN ARRAY candidates LOOP
        ref := candidate ->> TG_ARGV[0];
        hop := 1;
        WHILE ref IS NOT NULL AND hop < TG_NARGS LOOP
            EXECUTE format(
                'SELECT (%I)::text FROM %I WHERE id = ($1)::bigint', TG_ARGV[hop + 1], TG_ARGV[hop]
            ) INTO ref USING ref;
            hop := hop + 2;
        END LOOP;
        IF ref IS NOT NULL AND EXISTS (
            SELECT 1 FROM requests_app_collabrequest WHERE id = ref::bigint AND is_archived
        ) THEN
            RAISE EXCEPTION 'case % is archived and read-only: % on % refused',
                ref, TG_OP, TG_TABLE_NAME
                USING HINT = 'An archived case (歸檔) cannot be changed.';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE FUNCTION case_refuse_archived_request() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.is_archived THEN
        RAISE EXCEPTION 'case % is archived and read-only: % on % refused',
            OLD.id, TG_OP, TG_TABLE_NAME
            USING HINT = 'An archived case (歸檔) cannot be changed.';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def guard(schema_editor, guarded: dict[str, list[str]]) -> None:
    """Put the read-only trigger on each table of `guarded` (table → the row's column,
    then (table, column) hops ending on the request's id). The later migrations that
    guard a new app's tables call this (0004, 0008, 0009)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table, path in guarded.items():
        arguments = ", ".join(_literal(part) for part in path)
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE OR DELETE ON {quote(table)} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}({arguments})",
            params=None,
        )


def unguard(schema_editor, guarded) -> None:
    """Take the read-only trigger off each table of `guarded`."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table in guarded:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quote(table)}", params=None)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    # params=None: the SQL holds "%" (format(), RAISE) that must not be read as parameters.
    schema_editor.execute(CREATE_FUNCTIONS, params=None)
    guard(schema_editor, GUARDED)
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON "
        f"{quote('requests_app_collabrequest')} FOR EACH ROW EXECUTE FUNCTION {REQUEST_FUNCTION}()",
        params=None,
    )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table in [*GUARDED, "requests_app_collabrequest"]:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quote(table)}", params=None)
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()", params=None)
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {REQUEST_FUNCTION}()", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("review_app", "0001_initial"),
        ("requests_app", "0003_collabrequest_archived_at_and_more"),
        ("tasks_app", "0004_taskdeliverable_round_alter_taskevent_kind"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
