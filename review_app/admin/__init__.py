from . import acceptance, archive, closing, feedback  # noqa: F401  (registers the admins)
