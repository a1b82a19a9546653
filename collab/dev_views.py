"""Developer-only pages, mounted when DEBUG is on (make run): the local mailbox.

/dev/mail/ shows the e-mails the file backend wrote under EMAIL_FILE_PATH, decoded
(collab.dev_mailbox). Each person reads only the mail addressed to them (To/Cc); the
superuser reads everyone's. Both views answer 404 unless DEBUG is on, even if mounted.

The HTML part of a mail is served from its own URL and shown in a sandboxed iframe:
the response's `Content-Security-Policy: sandbox` (and the iframe's sandbox attribute)
give it an opaque origin with no script, so a mail cannot reach the portal's pages,
cookies or session; its inline styles still apply, so the mail looks as it will in a
mail client. Sanitising it (nh3/bleach) instead would strip exactly those styles, and
the portal's own CSP (style-src 'self') would refuse them inline anyway.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from . import dev_mailbox

# The HTML part's own policy (django-csp leaves a response's existing header alone):
# sandboxed without scripts; links open in a new tab outside the sandbox (<base
# target="_blank"> below), since the portal's pages refuse to be framed; inline styles
# and data: images only; framed by the mailbox page only.
HTML_PART_POLICY = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; "
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
)
HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)


def _folder() -> Path:
    return Path(getattr(settings, "EMAIL_FILE_PATH", "") or "")


def _dev_only() -> None:
    if not settings.DEBUG:
        raise Http404


def _links_here(request, text: str) -> str:
    """Links to SITE_URL in a mail point at the server being browsed (any port)."""
    return dev_mailbox.rewrite_links(
        text, getattr(settings, "SITE_URL", ""), request.build_absolute_uri("/")
    )


@never_cache
@require_safe
def mailbox(request):
    """Show the signed-in person's mail (the superuser: everyone's), newest first."""
    _dev_only()
    folder = _folder()
    mails = dev_mailbox.mails_for(request.user, folder)
    for mail in mails:
        mail.text = _links_here(request, mail.text)
    return render(
        request,
        "collab/dev_mailbox.html",
        {"mails": mails, "folder": folder, "sees_all": request.user.is_superuser},
    )


@never_cache
@require_safe
@xframe_options_sameorigin
def mail_html(request, file: str, index: int):
    """Serve the HTML part of one mail, sandboxed, for the mailbox page's iframe."""
    _dev_only()
    mail = dev_mailbox.mail_for(request.user, _folder(), file, index)
    if mail is None or not mail.html:
        raise Http404
    html = _links_here(request, mail.html)
    base = '<base target="_blank">'
    if HEAD.search(html):
        html = HEAD.sub(lambda match: match.group(0) + base, html, count=1)
    else:
        html = base + html
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = HTML_PART_POLICY
    return response
