"""Pages of portfolio_app: the PMO dashboard, the monthly analysis PDF and the to-do page."""
