"""rmcal core."""
