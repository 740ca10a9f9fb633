"""Graph error responses become ProviderErrors a person can act on, and refused batch items
become item failures unless the refusal concerns the whole call."""

from __future__ import annotations

import pytest
from rmcal_providers.microsoft.errors import item_failure, map_error

from rmcal.errors import AuthError, NotFound, PermissionDenied, ProviderError
from rmcal.provider import ItemFailure
from tests.microsoft.helpers import fixture


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        (
            "ErrorAccessDenied",
            PermissionDenied,
            ["Calendars.ReadWrite", "admin consent", "application access policy"],
        ),
        ("MailboxNotEnabledForRESTAPI", NotFound, ["no usable Exchange Online mailbox"]),
        ("ResourceNotFound", NotFound, ["no usable Exchange Online mailbox"]),
        ("ErrorInvalidUser", NotFound, ["no usable Exchange Online mailbox"]),
        ("InvalidAuthenticationToken", AuthError, ["cloud", "rmcal auth login"]),
        ("ErrorItemNotFound", NotFound, ["no longer exists"]),
        ("TimeZoneNotSupportedException", ProviderError, ["time zone"]),
        ("ErrorInvalidIdMalformed", ProviderError, ["id"]),
        ("ServiceUnavailable", ProviderError, ["transient"]),
    ],
)
def test_error_codes_map_to_actionable_messages(code, kind, words):
    case = fixture("errors")[code]
    error = map_error(case["status"], case["body"], "create series", "Calendars.ReadWrite")
    assert type(error) is kind
    text = str(error)
    assert text.startswith("microsoft: create series: ")
    for word in words:
        assert word in text
    assert case["body"]["error"]["innerError"]["request-id"] in (error.detail or "")


def test_a_refused_item_fails_alone_with_the_one_line_reason():
    case = fixture("errors")["ErrorInvalidIdMalformed"]
    failure = item_failure(case["status"], case["body"], "update series", "Calendars.ReadWrite")
    assert failure == ItemFailure(
        "microsoft: update series: Graph did not recognise an event id; the stored id belongs "
        "to another mailbox or was truncated; re-run 'rmcal schedule' so the series is found "
        "again by its tag",
        retryable=False,
    )


def test_a_transient_refusal_is_a_retryable_item_failure():
    case = fixture("errors")["ServiceUnavailable"]
    failure = item_failure(case["status"], case["body"], "create series", "Calendars.ReadWrite")
    assert failure.retryable


@pytest.mark.parametrize(("code", "kind"), [("ErrorAccessDenied", PermissionDenied)])
def test_auth_and_permission_refusals_fail_the_whole_call(code, kind):
    case = fixture("errors")[code]
    with pytest.raises(kind, match=r"Calendars\.ReadWrite"):
        item_failure(case["status"], case["body"], "create series", "Calendars.ReadWrite")


def test_an_expired_token_fails_the_whole_call():
    case = fixture("errors")["InvalidAuthenticationToken"]
    with pytest.raises(AuthError):
        item_failure(case["status"], case["body"], "end series", "Calendars.ReadWrite")
