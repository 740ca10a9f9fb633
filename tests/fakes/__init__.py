"""HTTP-level fakes of the platforms rmcal talks to (the core is never faked)."""
