"""SMTP delivery against a fake server on 127.0.0.1: once per key, queued when refused."""

from __future__ import annotations

import socketserver
from email import policy
from email.parser import BytesParser
from pathlib import Path

from rmcal.provider import (
    ItemFailure,
)
from tests.local.fake_smtp import FakeSmtp
from tests.local.helpers import (
    created,
    london,
    mail,
    outbox,
    parse_eml_bytes,
    smtp_provider,
    spec,
)


def test_smtp_delivers_once_and_invitations_too(tmp_path: Path, smtp_server: FakeSmtp) -> None:
    p = smtp_provider(tmp_path, smtp_server.port)
    assert p.send([mail("agenda:k1", to="Bob <bob@example.com>")]) == {"agenda:k1": None}
    assert p.send([mail("agenda:k1", to="Bob <bob@example.com>")]) == {"agenda:k1": None}
    assert len(smtp_server.received) == 1
    sender, recipients, data = smtp_server.received[0]
    assert (sender, recipients) == ("bounces@example.com", ["bob@example.com"])
    delivered = BytesParser(policy=policy.default).parsebytes(data)
    assert delivered["X-Rmcal-Key"] == "agenda:k1"
    assert smtp_server.logins == ["rmcal"]

    s = spec(start=london(2025, 3, 19, 14, 0))
    created(p, s)
    assert len(smtp_server.received) == 2
    _, recipients, data = smtp_server.received[1]
    assert sorted(recipients) == ["ann@example.com", "bob@example.com"]
    assert b'method="REQUEST"' in data
    assert [c.ok for c in p.check()] == [True, True, True, True]


def test_smtp_failure_is_retryable_and_retried(tmp_path: Path, smtp_server: FakeSmtp) -> None:
    wrong = smtp_provider(tmp_path, smtp_server.port, password="not-it")
    result = wrong.send([mail("agenda:k2")])
    failure = result["agenda:k2"]
    assert isinstance(failure, ItemFailure) and failure.retryable
    assert "refused" in failure.message and "not-it" not in failure.message
    assert len(outbox(wrong)) == 1 and smtp_server.received == []
    (check,) = [c for c in wrong.check() if c.name == "smtp"]
    assert not check.ok and "1 message(s) waiting" in check.detail and "not-it" not in check.detail

    right = smtp_provider(tmp_path, smtp_server.port)
    assert right.send([mail("agenda:k3")]) == {"agenda:k3": None}  # flushes k2 as well
    assert sorted(parse_eml_bytes(d)["X-Rmcal-Key"] for _, _, d in smtp_server.received) == [
        "agenda:k2",
        "agenda:k3",
    ]
    assert right.send([mail("agenda:k2")]) == {"agenda:k2": None}
    assert len(smtp_server.received) == 2 and len(outbox(right)) == 2


def test_smtp_server_down_fails_fast_per_message(tmp_path: Path) -> None:
    with socketserver.TCPServer(("127.0.0.1", 0), socketserver.BaseRequestHandler) as probe:
        port = probe.server_address[1]  # a port nobody listens on once closed
    p = smtp_provider(tmp_path, port)
    result = p.send([mail("a:1"), mail("a:2")])
    assert all(isinstance(r, ItemFailure) and r.retryable for r in result.values())
    assert "cannot reach SMTP server" in result["a:1"].message  # type: ignore[union-attr]
    assert len(outbox(p)) == 2
