"""Forms of portfolio_app's pages. They parse input; the selectors and services decide."""
