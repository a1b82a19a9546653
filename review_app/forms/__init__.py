"""Forms of review_app's pages, one module per area. They parse input; the services decide."""
