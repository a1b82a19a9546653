"""Reads of portfolio_app (HackSoft styleguide: selectors): the dashboard's counts and
lists, and the monthly analysis built on them. Both start from the permission-filtered
querysets of the lower apps, so a viewer only ever counts what they may see."""
