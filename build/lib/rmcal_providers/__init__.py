"""rmcal providers."""
