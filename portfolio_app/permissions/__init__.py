"""Who may see and do what in portfolio_app. Every view, PDF and admin page asks here."""
