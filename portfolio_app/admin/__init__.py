from . import analysis  # noqa: F401  (registers the admin)
