"""Built-in templates, shipped as package data."""
