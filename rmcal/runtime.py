"""Wiring shared by every command: the clock, the provider, the state file.

Kept out of ``cli`` so that a library caller (a notebook, another tool) can do what a command
does with plain function calls.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from rmcal.errors import ConfigError, SettingsError
from rmcal.model import Config
from rmcal.provider import (
    Attendee,
    KeyValue,
    MemoryKeyValue,
    Provider,
    ProviderContext,
    load_provider_factory,
)

log = logging.getLogger("rmcal")


def parse_now(text: str | None) -> datetime:
    """``--now``/``RMCAL_NOW``: an ISO 8601 moment (a date means its midnight UTC); else the clock.

    Injectable so tests, demos and backfills can walk a cohort's life in seconds.
    """
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{text!r} is not an ISO 8601 date or time",
            key="--now",
            hint="e.g. 2027-01-18T09:00 or 2027-01-18T09:00+01:00",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def open_provider(
    config: Config,
    *,
    kv: KeyValue | None = None,
    env: Mapping[str, str] | None = None,
    echo: Callable[[str], None] = print,
) -> Provider:
    """Build the configured provider; its settings errors point at the config file's lines."""
    try:
        factory = load_provider_factory(config.provider.kind)
    except ConfigError as exc:
        raise ConfigError(
            exc.message,
            file=str(config.path),
            line=config.lines.get("provider.kind") or config.lines.get("provider"),
            key="provider.kind",
            hint=exc.hint,
        ) from exc
    context = ProviderContext(
        config_dir=config.path.parent,
        state_dir=config.state_path.parent,
        organizer=Attendee(config.programme.organizer.email, config.programme.organizer.name),
        programme=config.programme.name,
        timezone=config.programme.timezone,
        log=logging.getLogger(f"rmcal.provider.{config.provider.kind}"),
        env=dict(os.environ if env is None else env),
        kv=kv if kv is not None else MemoryKeyValue(),
        echo=echo,
    )
    try:
        return factory(config.provider.settings, context)
    except SettingsError as exc:
        raise ConfigError(
            exc.message,
            file=str(config.path),
            line=_provider_line(config, exc.key),
            key=f"provider.{exc.key}",
            hint=exc.hint,
        ) from exc


def _provider_line(config: Config, key: str) -> int | None:
    lines = config.lines
    return lines.get(f"provider.{key}") or lines.get("provider")
