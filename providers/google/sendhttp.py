"""The transport Gmail sends go over: ``requests`` through google-auth's ``AuthorizedSession``.

Why not httplib2, which carries every other Google call: httplib2 re-sends a request once,
POSTs included, when the connection closes before an answer (``Http._conn_request`` treats
``BadStatusLine`` - and ``RemoteDisconnected``, its subclass - on a first try as a stale
keep-alive connection and retries "regardless of the number of RETRIES set"). For
``users.messages.send`` that is a second copy of a mail while rmcal sees one success. The
``httplib2.RETRIES`` knob cannot switch that path off, and a subclass would have to copy and
keep in step a private method. ``requests`` never re-sends a request itself, and the urllib3
retries under it are switched off explicitly (``outcome.without_resends``), so a dropped send
surfaces as an exception that ``outcome.never_sent`` can judge.

Calendar batches that hold a patch go over it too: a repeated patch sets the same values, but
with ``sendUpdates=all`` each one carried out mails the pair another "Updated" invitation (found
by the crash harness under faults, tests/crash/). Reads and inserts stay on httplib2, whose
re-send is harmless there (inserts carry client-chosen ids and answer 409 when repeated).

``RequestsHttp`` is just enough of ``httplib2.Http`` for googleapiclient's
``HttpRequest.execute(http=...)``: the request is still built from the discovery document, and
its answer still becomes an ``HttpError`` the usual way. Token refreshes go over the given
httplib2 transport (``google_auth_httplib2.Request``), so ``ca_bundle`` and ``timeout`` apply to
them as to everything else.
"""

from __future__ import annotations

from typing import Any

import google_auth_httplib2
import httplib2
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession

from ..outcome import without_resends


class _TokenRequest(google_auth_httplib2.Request):
    """A token request over the httplib2 transport, whose own timeout applies.

    ``AuthorizedSession`` passes a per-request ``timeout`` to its token refreshes, which
    google-auth-httplib2 cannot honour and warns about on every refresh.
    """

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Any = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        return super().__call__(url, method=method, body=body, headers=headers, **kwargs)


class RequestsHttp:
    """An ``httplib2.Http`` look-alike over an ``AuthorizedSession`` (no silent re-sends)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        token_transport: Any,
        timeout: float,
        ca_bundle: str | None,
    ) -> None:
        self.session = without_resends(
            AuthorizedSession(credentials, auth_request=_TokenRequest(token_transport))
        )
        self.timeout = timeout
        # Per request: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE in the environment.
        self.verify: bool | str = ca_bundle or True

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        redirections: int = 0,
        connection_type: Any = None,
    ) -> tuple[httplib2.Response, bytes]:
        """One request, as httplib2 would answer it: (response with ``status``, body bytes)."""
        reply = self.session.request(
            method,
            uri,
            data=body,
            headers=headers,
            timeout=self.timeout,
            verify=self.verify,
            allow_redirects=False,
        )
        info: dict[str, str] = {k.lower(): v for k, v in reply.headers.items()}
        info["status"] = str(reply.status_code)
        response = httplib2.Response(info)
        response.reason = reply.reason or ""
        return response, reply.content

    def close(self) -> None:
        self.session.close()
