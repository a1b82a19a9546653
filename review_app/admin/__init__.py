from . import acceptance, analysis, archive, closing, feedback  # noqa: F401  (registers the admins)
