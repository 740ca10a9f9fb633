"""The outbox: one .eml per X-Rmcal-Key, headers completed, the caller's message untouched."""

from __future__ import annotations

from pathlib import Path

from rmcal_providers.local.outbox import mail_slug

from rmcal.provider import (
    ItemFailure,
)
from tests.local.helpers import (
    NOW,
    mail,
    outbox,
    parse_eml,
    provider,
)


def test_send_writes_each_key_once_and_completes_headers(tmp_path: Path) -> None:
    p = provider(tmp_path)
    message = mail("agenda:rmabc:2025-03-19T14:00:00+00:00")
    result = p.send([message, mail("")])
    assert result["agenda:rmabc:2025-03-19T14:00:00+00:00"] is None
    assert isinstance(result["#1"], ItemFailure)
    assert p.send([message]) == {"agenda:rmabc:2025-03-19T14:00:00+00:00": None}
    (path,) = outbox(p)
    assert (
        path.name == f"20250301T090000Z-{mail_slug('agenda:rmabc:2025-03-19T14:00:00+00:00')}.eml"
    )
    stored = parse_eml(path)
    assert stored["Date"].datetime == NOW
    assert stored["Message-ID"].endswith("@example.com>")
    assert message["Message-ID"] is None  # the caller's message is not modified
    assert stored.get_body(("plain",)).get_content() == "Plain text.\n"
    assert path.read_bytes().count(b"\r\n") > 5  # RFC 5322 line endings
