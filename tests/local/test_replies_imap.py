"""Replies read over IMAP from a real Dovecot (``tests/local/dovecot.py``): TLS, read-only.

The same client fixtures as the Maildir tests, delivered with APPEND into a mailbox of their
own per test. What must hold on a real server: TLS (implicit and STARTTLS) with a verified
certificate, a mailbox that stays exactly as it was (no \\Seen, nothing removed) unless
``mark_seen`` says otherwise, only new UIDs read, and every failure one line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rmcal.errors import AuthError, ProviderError
from rmcal.provider import MemoryKeyValue, Response
from tests.local import dovecot as dovecot_helper
from tests.local.dovecot import PASSWORD, Dovecot
from tests.local.helpers import NOW, created, london, spec
from tests.local.reply_builder import (
    CLIENTS,
    OTHERS,
    fixtures,
    imip_reply,
    reply_provider,
    responses,
)


def test_replies_are_read_over_tls_and_the_mailbox_stays_as_it_was(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    box = dovecot.new_mailbox("Calendar Replies")  # a name with a space: quoted on the wire
    dovecot.deliver(box, *fixtures(*CLIENTS, *OTHERS))
    flags = dovecot.flags(box)
    p = reply_provider(tmp_path, MemoryKeyValue(), {"imap": dovecot.settings(box)}, PASSWORD)
    key = created(p, spec(start=london(2025, 3, 19, 14, 0))).key

    report = p.read_replies(NOW)

    assert report is not None and report.examined == 9
    assert report.source == f"imaps://127.0.0.1:{dovecot.port}/{box} as programme@example.com"
    applied = [(o.attendee, o.response, o.source) for o in report.outcomes if o.applied]
    assert applied == [
        ("bob@example.com", Response.ACCEPTED, f"{box} UID 1"),
        ("ann@example.com", Response.ACCEPTED, f"{box} UID 2"),
        ("bob@example.com", Response.DECLINED, f"{box} UID 3"),
        ("ann@example.com", Response.TENTATIVE, f"{box} UID 4"),
    ]
    assert len([o for o in report.outcomes if not o.applied]) == 4
    bob, ann = responses(p, key, "bob@example.com"), responses(p, key, "ann@example.com")
    assert bob.pop("04-02") is Response.DECLINED and set(bob.values()) == {Response.ACCEPTED}
    assert ann.pop("04-09") is Response.TENTATIVE and set(ann.values()) == {Response.ACCEPTED}
    assert dovecot.flags(box) == flags  # EXAMINE and BODY.PEEK: not one \\Seen, nothing gone
    assert all("\\Seen" not in found for found in flags.values())


def test_only_messages_above_the_last_uid_are_read(tmp_path: Path, dovecot: Dovecot) -> None:
    box = dovecot.new_mailbox("only-new")
    dovecot.deliver(box, *fixtures("plain_mail.eml", "gmail_accept_series.eml"))
    kv = MemoryKeyValue()
    p = reply_provider(tmp_path, kv, {"imap": dovecot.settings(box)}, PASSWORD)
    series = created(p, spec(start=london(2025, 3, 19, 14, 0)))
    first = p.read_replies(NOW)
    assert first is not None and (first.examined, len(first.outcomes)) == (2, 1)
    # "UID SEARCH UID 3:*" answers UID 2 (the highest) when nothing is newer: not news.
    quiet = p.read_replies(NOW)
    assert quiet is not None and (quiet.examined, quiet.outcomes) == (0, ())
    late = imip_reply(
        uid=series.provider_id,
        attendee="bob@example.com",
        partstat="DECLINED",
        stamp=NOW,
        session=london(2025, 4, 16, 14, 0),
    )
    dovecot.deliver(box, late)
    news = p.read_replies(NOW)
    assert news is not None and news.examined == 1
    assert [(o.applied, o.source) for o in news.outcomes] == [(True, f"{box} UID 3")]
    assert responses(p, series.key, "bob@example.com")["04-16"] is Response.DECLINED


def test_a_recreated_mailbox_is_read_again_and_reports_nothing_twice(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    box = dovecot.new_mailbox("recreated")
    messages = fixtures("outlook_decline_one_session.eml", "reply_to_another_meeting.eml")
    dovecot.deliver(box, *messages)
    p = reply_provider(tmp_path, MemoryKeyValue(), {"imap": dovecot.settings(box)}, PASSWORD)
    created(p, spec(start=london(2025, 3, 19, 14, 0)))
    first = p.read_replies(NOW)
    assert first is not None and len(first.outcomes) == 2
    dovecot.new_mailbox(box)  # a new UIDVALIDITY: UIDs start again at 1
    dovecot.deliver(box, *messages, *fixtures("gmail_accept_series.eml"))
    again = p.read_replies(NOW)
    assert again is not None and again.examined == 3
    assert [(o.attendee, o.applied) for o in again.outcomes] == [("ann@example.com", True)]


def test_mark_seen_flags_only_the_replies_and_never_in_a_dry_run(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    box = dovecot.new_mailbox("mark-seen")
    dovecot.deliver(box, *fixtures("plain_mail.eml", "outlook_decline_one_session.eml"))
    settings = {"imap": dovecot.settings(box, mark_seen=True)}
    p = reply_provider(tmp_path, MemoryKeyValue(), settings, PASSWORD)
    created(p, spec(start=london(2025, 3, 19, 14, 0)))
    dry = p.read_replies(NOW, apply=False)
    assert dry is not None and [o.applied for o in dry.outcomes] == [True]
    assert all("\\Seen" not in found for found in dovecot.flags(box).values())
    real = p.read_replies(NOW)
    assert real is not None and [o.applied for o in real.outcomes] == [True]
    flags = dovecot.flags(box)
    assert "\\Seen" not in flags[1] and "\\Seen" in flags[2]
    assert len(flags) == 2  # nothing removed, even from a mailbox opened for writing


def test_starttls_and_a_password_file_work_too(tmp_path: Path, dovecot: Dovecot) -> None:
    box = dovecot.new_mailbox("starttls")
    dovecot.deliver(box, *fixtures("gmail_accept_series.eml"))
    secret = tmp_path / "imap-password"
    secret.write_text(PASSWORD + "\n")
    section = dovecot.settings(box, starttls=True, port=dovecot.starttls_port)
    del section["password_env"]
    section["password_file"] = str(secret)
    p = reply_provider(tmp_path, MemoryKeyValue(), {"imap": section})
    created(p, spec(start=london(2025, 3, 19, 14, 0)))
    report = p.read_replies(NOW)
    assert report is not None and [o.applied for o in report.outcomes] == [True]
    assert report.source.startswith(f"imap+starttls://127.0.0.1:{dovecot.starttls_port}/")
    (check,) = [c for c in p.check() if c.name == "replies"]
    assert check.ok and check.detail.endswith(": logged in, 1 message(s)")


def test_a_refused_login_is_one_line_without_the_password(tmp_path: Path, dovecot: Dovecot) -> None:
    box = dovecot.new_mailbox("refused")
    p = reply_provider(tmp_path, MemoryKeyValue(), {"imap": dovecot.settings(box)}, "n0t-it")
    with pytest.raises(AuthError) as caught:
        p.read_replies(NOW)
    assert str(caught.value) == (
        f"local: log in to imaps://127.0.0.1:{dovecot.port}/refused as programme@example.com: "
        "the server refused the login; check replies.imap.user and the password"
    )
    (check,) = [c for c in p.check() if c.name == "replies"]
    assert not check.ok and "n0t-it" not in check.detail + str(check.remedy)
    unset = reply_provider(tmp_path, MemoryKeyValue(), {"imap": dovecot.settings(box)})
    with pytest.raises(AuthError, match="environment variable RM_IMAP_PASSWORD is not set"):
        unset.read_replies(NOW)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"ca_file": None}, "certificate is not trusted"),
        ({"mailbox": "No Such Folder"}, "cannot open mailbox 'No Such Folder'"),
        ({"port": "starttls"}, "local: read replies from imaps://"),  # TLS to a plain port
    ],
)
def test_server_problems_are_one_line_provider_errors(
    tmp_path: Path, dovecot: Dovecot, change: dict[str, object], words: str
) -> None:
    section = dovecot.settings("INBOX")
    for name, value in change.items():
        if value is None:
            del section[name]
        else:
            section[name] = dovecot.starttls_port if value == "starttls" else value
    p = reply_provider(tmp_path, MemoryKeyValue(), {"imap": section}, PASSWORD)
    with pytest.raises(ProviderError) as caught:
        p.read_replies(NOW)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value) and PASSWORD not in str(caught.value)


def test_without_dovecot_these_tests_fail_under_ci_and_skip_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dovecot_helper.shutil, "which", lambda name: None)
    monkeypatch.setattr(dovecot_helper.os, "access", lambda path, mode: False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        dovecot_helper.dovecot_binary()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y dovecot-imapd"):
        dovecot_helper.dovecot_binary()
