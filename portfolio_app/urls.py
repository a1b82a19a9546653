"""URLs of portfolio_app, under /review/ (collab.urls) as before the split, so every
address stays the same; their names are in the namespace "portfolio_app"."""

from .views import analysis, dashboard, todo

app_name = "portfolio_app"
urlpatterns = [
    *todo.urlpatterns,
    *analysis.urlpatterns,
    *dashboard.urlpatterns,
]
