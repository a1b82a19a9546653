"""Who may see and do what in review_app. Every view, PDF and admin page asks here,
one module per area; nothing else decides."""
