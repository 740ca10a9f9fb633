"""Atomic writes: a crash leaves the old file or the new one, never half, never a stray temp."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rmcal_providers.local.files import atomic_write

from rmcal.provider import (
    ItemFailure,
    Series,
)
from tests.local.helpers import (
    leftovers,
    london,
    provider,
    spec,
)


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "deep" / "file.ics"
    atomic_write(target, b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []

    monkeypatch.undo()
    p = provider(tmp_path)
    s = spec(start=london(2025, 3, 19, 14, 0))
    monkeypatch.setattr(os, "replace", crash)
    result = p.create_series([s])[s.key]
    assert isinstance(result, ItemFailure) and result.retryable
    assert not (p.folder / "calendars" / f"{s.key}.ics").exists()
    assert leftovers(p.folder) == []
    monkeypatch.undo()
    assert isinstance(p.create_series([s])[s.key], Series)
    assert leftovers(p.folder) == []
