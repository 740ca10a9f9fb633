"""The ``provider:`` section of a local programme: every mistake names its key, before any
file is touched, and a password is never a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from rmcal_providers.local import LocalProvider

from rmcal.errors import SettingsError
from tests.local.helpers import (
    context,
)


@pytest.mark.parametrize(
    ("settings", "key", "words"),
    [
        ({}, "folder", "required"),
        ({"folder": "/x", "foldr": 1}, "foldr", "did you mean 'folder'"),
        ({"folder": "/x", "smtp": {"host": "h", "port": "25"}}, "smtp.port", "integer"),
        ({"folder": "/x", "smtp": {"host": "h", "port": 70000}}, "smtp.port", "TCP port"),
        ({"folder": "/x", "smtp": {"port": 25}}, "smtp.host", "required"),
        ({"folder": "/x", "smtp": {"host": "h", "starttls": "yes"}}, "smtp.starttls", "true"),
        ({"folder": "/x", "smtp": {"host": "h", "password": "s3cret"}}, "smtp.password", "env"),
        ({"folder": "/x", "smtp": {"host": "h", "user": "u"}}, "smtp.password_env", "required"),
        ({"folder": "/x", "smtp": {"host": "h", "from": "nobody"}}, "smtp.from", "e-mail"),
    ],
)
def test_bad_settings_name_their_key(tmp_path: Path, settings, key: str, words: str) -> None:
    with pytest.raises(SettingsError) as caught:
        LocalProvider(settings, context(tmp_path))
    assert caught.value.key == key
    assert words in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_relative_folder_resolves_against_the_config_folder(tmp_path: Path) -> None:
    made = LocalProvider({"folder": "data"}, context(tmp_path))
    assert made.folder == (tmp_path / "data").resolve()
