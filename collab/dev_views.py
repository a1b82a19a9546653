from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import render


def mailbox(request):
    """Show the e-mails the file backend wrote under EMAIL_FILE_PATH, newest first."""
    if not (settings.DEBUG and request.user.is_staff):
        raise PermissionDenied
    folder = Path(getattr(settings, "EMAIL_FILE_PATH", "") or "")
    files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)[:50]
    messages = [{"name": f.name, "body": f.read_text(errors="replace")} for f in files]
    return render(request, "collab/dev_mailbox.html", {"messages": messages, "folder": folder})
