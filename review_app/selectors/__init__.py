"""Reads of review_app, one module per area (HackSoft styleguide: selectors).

Each area's reads start from the permission-filtered querysets of its permissions module
and fetch related rows up front, so list pages run a constant number of queries.
"""
