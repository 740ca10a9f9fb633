"""The Google Workspace provider (entry point ``google``): Calendar v3, Gmail v1, Meet v2.

The package re-exports the provider class so that the entry point
``rmcal_providers.google:GoogleProvider`` names a stable place; the modules inside are free to
move. See ``provider.py`` for how the pieces fit together.
"""

from .provider import GoogleProvider

__all__ = ["GoogleProvider"]
