"""The ``replies:`` section: every mistake names its key before anything is read, and the IMAP
password is only ever named (an environment variable or a file), never given."""

from __future__ import annotations

from pathlib import Path

import pytest
from rmcal_providers.local import LocalProvider
from rmcal_providers.local.reply_settings import ImapSettings, parse_replies

from rmcal.errors import SettingsError
from tests.local.helpers import context

IMAP = {"host": "imap.example.com", "user": "programme@example.com", "password_env": "PW"}


def imap(**change: object) -> dict[str, object]:
    section = {**IMAP, **change}
    return {"imap": {k: v for k, v in section.items() if v is not None}}


@pytest.mark.parametrize(
    ("replies", "key", "words"),
    [
        ("maildir", "replies", "mapping"),
        ({}, "replies", "exactly one of replies.maildir and replies.imap"),
        ({"maildir": "/m", "imap": IMAP}, "replies", "exactly one"),
        ({"imapp": IMAP}, "replies.imapp", "did you mean 'replies.imap'"),
        ({"maildir": 7}, "replies.maildir", "path"),
        ({"imap": "imap.example.com"}, "replies.imap", "mapping"),
        (imap(host=None), "replies.imap.host", "required"),
        (imap(user=" "), "replies.imap.user", "required"),
        (imap(port="993"), "replies.imap.port", "integer"),
        (imap(port=0), "replies.imap.port", "TCP port"),
        (imap(starttls="yes"), "replies.imap.starttls", "true or false"),
        (imap(password_env="not a name"), "replies.imap.password_env", "environment variable"),
        (imap(password_env=None), "replies.imap.password_env", "exactly one"),
        (imap(password_file="pw.txt"), "replies.imap.password_env", "exactly one"),
        (imap(password="s3cret"), "replies.imap.password", "(password_env) or a file"),
        (imap(passwrd_env="PW"), "replies.imap.passwrd_env", "'replies.imap.password_env'"),
        (imap(mailbox=""), "replies.imap.mailbox", "mailbox name"),
        (imap(mailbox="Réponses"), "replies.imap.mailbox", "ASCII"),
        (imap(ca_file="missing-ca.pem"), "replies.imap.ca_file", "does not exist"),
        (imap(mark_seen="no"), "replies.imap.mark_seen", "true or false"),
        (imap(folder="INBOX"), "replies.imap.folder", "unknown setting"),
    ],
)
def test_bad_reply_settings_name_their_key(tmp_path: Path, replies, key: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        LocalProvider({"folder": str(tmp_path / "rm"), "replies": replies}, context(tmp_path))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_imap_defaults_are_tls_on_993_and_the_inbox(tmp_path: Path) -> None:
    settings = parse_replies(imap(), context(tmp_path))
    assert settings is not None and settings.imap == ImapSettings(
        host="imap.example.com", user="programme@example.com", password_env="PW"
    )
    assert settings.imap.port == 993 and not settings.imap.starttls and not settings.imap.mark_seen
    assert settings.where == "imaps://imap.example.com:993/INBOX as programme@example.com"
    starttls = parse_replies(imap(starttls=True), context(tmp_path))
    assert starttls is not None and starttls.imap is not None and starttls.imap.port == 143


def test_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not checked here\n")
    found = parse_replies(
        imap(password_env=None, password_file="secrets/imap", ca_file="ca.pem"), context(tmp_path)
    )
    assert found is not None and found.imap is not None
    assert found.imap.password_file == (tmp_path / "secrets" / "imap").resolve()
    assert found.imap.ca_file == (tmp_path / "ca.pem").resolve()
    maildir = parse_replies({"maildir": "mail/programme"}, context(tmp_path))
    assert maildir is not None and maildir.maildir == (tmp_path / "mail" / "programme").resolve()
    assert parse_replies(None, context(tmp_path)) is None
