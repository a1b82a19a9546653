"""Models of portfolio_app: the dispatch log of the monthly collaboration analysis."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AnalysisDispatch(models.Model):
    """The monthly 協作分析報告 sent to the executives: one row per month, so a second
    run of the beat job (or a retry) never sends the same month twice. The report itself
    is rendered from the live data whenever it is opened."""

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month."))
    recipients = models.TextField(_("recipients"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        # The table was created by review_app (migration 0003) and moved here without
        # moving any data (portfolio_app migration 0001): it keeps its name.
        db_table = "review_app_analysisdispatch"
        verbose_name = _("analysis report dispatch")
        verbose_name_plural = _("analysis report dispatches")
        ordering = ["-month"]

    def __str__(self):
        return f"{self.month:%Y-%m}"
