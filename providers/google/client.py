"""The organizer's authorised connection to Google, shared by every part of the provider.

Why one object: the httplib2 transport, the credentials, the discovery-built API clients and
the paced callers (``Calls``) are made lazily, at most once, and must be dropped together after
a sign-in or on close. Free/busy, the calendar reads and writes, Gmail and the checks only
borrow them, so none of those modules knows how a request reaches Google. Two choices here are
not the libraries' defaults:

* The clients are built from the discovery documents shipped with google-api-python-client
  (``static_discovery=True``: no discovery fetch at run time) over an explicit
  ``AuthorizedHttp(httplib2.Http(ca_certs, timeout))``, so the CA bundle and timeout are the
  settings' and not whatever environment variable httplib2 happens to read.
* httplib2 is told to try each request once (``single_attempts``): rmcal's own retries decide
  what may be repeated. It still re-sends once after a connection dropped before the answer,
  which reads and inserts survive (client-chosen ids); Gmail sends and batches of patches
  (each one carried out mails the attendees an update) therefore go over
  ``sendhttp.RequestsHttp`` instead, which never re-sends (``mail_http``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build

from rmcal.errors import ProviderError

from ..backoff import Backoff
from . import auth
from .batch import Calls, ErrorContext, Pacer
from .sendhttp import RequestsHttp
from .settings import GoogleSettings

GMAIL_SENDS_PER_MINUTE = 150  # 15,000 quota units per user per minute / 100 units per send


def single_attempts() -> None:
    """Make httplib2 give up on a request whose connection fails instead of trying it again.

    httplib2 reads the module-level ``RETRIES`` on every request and offers no per-connection
    setting, so this is process-wide. With the default (2) a request that fails with "network
    unreachable" is repeated at once, behind rmcal's retry budget. (It does not cover the stale
    keep-alive case: httplib2 re-sends once after ``BadStatusLine`` on a first try whatever
    ``RETRIES`` says; see ``sendhttp`` for why mail does not go over httplib2.)
    """
    # The stubs mark RETRIES Final, but it is httplib2's only knob and is read at call time.
    httplib2.RETRIES = 1  # type: ignore[misc]


def raw_http(settings: GoogleSettings) -> httplib2.Http:
    """The transport under every call, with the CA bundle and timeout made explicit."""
    return httplib2.Http(ca_certs=settings.ca_bundle, timeout=settings.timeout)


class GoogleClient:
    """Transport, credentials, API clients and paced callers for one organizer mailbox."""

    def __init__(
        self,
        settings: GoogleSettings,
        *,
        transport: Any | None,
        credentials: Credentials | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rng: Callable[[], float],
    ) -> None:
        """No network: a service-account key is parsed now, so `rmcal validate` catches it."""
        single_attempts()
        self.settings = settings
        self.transport = transport  # an ``httplib2.Http``-compatible object; built when None
        self.credentials = credentials
        if credentials is None and settings.auth == "service_account":
            self.credentials = auth.build_credentials(settings)
        self.sleep = sleep
        self._clock = clock
        self._rng = rng
        self._http: google_auth_httplib2.AuthorizedHttp | None = None
        self._mail_http: Any | None = None
        self._injected = transport is not None  # a test's mock: mail goes over it as well
        self._services: dict[str, Any] = {}
        self.ctx = ErrorContext(
            calendar_id=settings.calendar_id,
            subject=settings.subject,
            scopes=",".join(settings.scopes),
            client_id=settings.client_id,
        )
        self.calls = Calls(
            batch_uri=settings.batch_uri,
            batch_size=settings.batch_size,
            pacer=Pacer(settings.requests_per_minute, clock=clock, sleep=sleep),
            backoff=self.backoff,
            ctx=self.ctx,
            on_refresh_error=self._refresh_error,
            before_batch=self.fresh_token,
            quiet_http=self.mail_http,
        )
        self.mail_calls = Calls(
            batch_uri=settings.batch_uri,
            batch_size=1,
            pacer=Pacer(GMAIL_SENDS_PER_MINUTE, clock=clock, sleep=sleep),
            backoff=self.backoff,
            ctx=self.ctx,
            on_refresh_error=self._refresh_error,
        )

    def backoff(self) -> Backoff:
        """A fresh retry budget: one per call or batch run, bounded by ``max_retry_seconds``."""
        return Backoff(
            budget=self.settings.max_retry_seconds,
            base=self.settings.retry_base_seconds,
            cap=32.0,
            sleep=self.sleep,
            clock=self._clock,
            rng=self._rng,
        )

    def _refresh_error(self, exc: RefreshError, operation: str) -> ProviderError:
        return auth.explain_refresh_error(exc, self.settings, operation)

    def raw_transport(self) -> Any:
        """The unauthorised transport (token requests go over it too)."""
        if self.transport is None:
            self.transport = raw_http(self.settings)
        return self.transport

    def ensure_credentials(self) -> Credentials:
        """The credentials, built from the settings on first use (may raise AuthError)."""
        if self.credentials is None:
            self.credentials = auth.build_credentials(self.settings)
        return self.credentials

    def authorized(self) -> google_auth_httplib2.AuthorizedHttp:
        if self._http is None:
            self._http = google_auth_httplib2.AuthorizedHttp(
                self.ensure_credentials(), http=self.raw_transport()
            )
        return self._http

    def mail_http(self) -> Any:
        """The transport Gmail sends and calendar patches go over: one that never re-sends
        (``sendhttp``)."""
        if self._mail_http is None:
            if self._injected:
                self._mail_http = self.authorized()
            else:
                self._mail_http = RequestsHttp(
                    self.ensure_credentials(),
                    token_transport=self.raw_transport(),
                    timeout=self.settings.timeout,
                    ca_bundle=self.settings.ca_bundle,
                )
        return self._mail_http

    def fresh_token(self) -> None:
        """Refresh an invalid or expiring token over *our* transport before a batch.

        ``BatchHttpRequest.execute`` refreshes invalid credentials through a brand-new
        ``httplib2.Http()``, which knows neither ``ca_bundle`` nor ``timeout``; a token that is
        already valid avoids that path.
        """
        http = self.authorized()
        if not http.credentials.valid:
            http.credentials.refresh(google_auth_httplib2.Request(self.raw_transport()))

    def service(self, api: str) -> Any:
        """A discovery-built client over the authorised transport, built once per API."""
        if api not in self._services:
            s = self.settings
            name, version, endpoint = {
                "calendar": ("calendar", "v3", s.api_endpoint),
                "gmail": ("gmail", "v1", s.gmail_endpoint),
                "meet": ("meet", "v2", s.meet_endpoint),
                "people": ("people", "v1", s.people_endpoint),
            }[api]
            self._services[api] = build(
                name,
                version,
                http=self.authorized(),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": endpoint},
            )
        return self._services[api]

    @property
    def events(self) -> Any:
        """The Calendar ``events`` collection, the one most calls go through."""
        return self.service("calendar").events()

    def use_credentials(self, credentials: Credentials) -> None:
        """Switch to new credentials (after a sign-in): clients built on the old ones go."""
        self.credentials = credentials
        self._http = None
        self._mail_http = None
        self._services.clear()

    def close(self) -> None:
        """Drop pooled connections (httplib2 keeps them per host, requests per session)."""
        if self.transport is not None and hasattr(self.transport, "close"):
            self.transport.close()  # AuthorizedHttp.close() would only forward to it
        if isinstance(self._mail_http, RequestsHttp):
            self._mail_http.close()
        self._http = None
        self._mail_http = None
        self._services.clear()
