"""The Microsoft 365 provider (entry point ``microsoft``): Exchange Online calendars and mail
through Microsoft Graph, tokens through MSAL.

The package re-exports the provider class only, so that the entry point
``rmcal_providers.microsoft:MicrosoftProvider`` stays stable while the modules behind it move.
"""

from .provider import MicrosoftProvider

__all__ = ["MicrosoftProvider"]
