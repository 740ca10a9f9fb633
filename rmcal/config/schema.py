"""A JSON Schema of the config file, generated from the loader's own key tables.

Why: an editor with a YAML language server completes keys and flags a ``mentro:`` while the
admin types, long before ``rmcal validate``. Why generated: a schema written by hand drifts
from the loader; this one takes every mapping and its keys from ``KEY_TABLES`` (the tables the
loader checks every mapping against), so a key the loader learns appears here, and
``tests/config/test_schema.py`` fails until the published ``docs/rmcal-config.schema.json`` is
regenerated::

    python -m rmcal.config.schema > docs/rmcal-config.schema.json

The schema checks shape (keys, nesting, required keys, value types); the loader stays the judge
of values (time zones, durations, cadences, dates in the future), with its one-line errors.
Provider settings are open: each provider has its own keys (see its docs page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rmcal.config.loader import KEY_TABLES

SCHEMA_ID = "https://rmcal.example/schemas/rmcal-config.schema.json"

# Mappings that reuse another one's key table (the loader checks them with the same table).
SAME_AS = {
    "cohorts[].settings": "defaults",
    "cohorts[].settings.window": "defaults.window",
    "cohorts[].settings.digest": "defaults.digest",
    "cohorts[].settings.thresholds": "defaults.thresholds",
    "cohorts[].pairs[].settings": "defaults",
    "cohorts[].pairs[].settings.window": "defaults.window",
    "cohorts[].pairs[].settings.digest": "defaults.digest",
    "cohorts[].pairs[].settings.thresholds": "defaults.thresholds",
    "cohorts[].pairs[].mentee": "cohorts[].pairs[].mentor",
    "cohorts[].pairs[].mentor.window": "defaults.window",
    "cohorts[].pairs[].mentee.window": "defaults.window",
}

# Keys the loader requires (``Node.require``), by the path of their mapping.
REQUIRED = {
    "": ("programme", "provider", "cohorts"),
    "programme": ("name", "purpose", "organizer", "timezone"),
    "programme.organizer": ("email",),
    "programme.leads[]": ("email", "name"),
    "cohorts[]": ("id", "start"),
    "cohorts[].pairs[]": ("mentor", "mentee"),
    "cohorts[].pairs[].mentor": ("email", "name"),
}

_TEXT = {"type": "string", "minLength": 1}
_EMAIL = {"type": "string", "format": "email", "description": "an e-mail address"}
_ZONE = {"type": "string", "description": "an IANA time zone, e.g. Europe/London"}
_DURATION = {
    "type": ["string", "integer"],
    "description": "a duration: 45m, 1h30m, 24h, 2 days (a bare number is minutes)",
}
_WHOLE = {"type": "integer", "minimum": 1}
_DATE = {"type": "string", "description": "a date, YYYY-MM-DD"}
_STRINGS = {"type": "array", "items": {"type": "string"}}

# The value of every key that is not itself a mapping, by its mapping's path and its name.
LEAVES: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "": {
        "state": {**_TEXT, "description": "path of the SQLite state file"},
    },
    "programme": {
        "name": {**_TEXT, "description": "the programme's name, in invites and e-mails"},
        "purpose": {**_TEXT, "description": "what insight the programme seeks"},
        "timezone": {**_ZONE, "description": "IANA zone for anyone who gives none"},
        "templates": {**_TEXT, "description": "a folder whose *.j2 files override built-ins"},
    },
    "programme.organizer": {
        "email": {**_EMAIL, "description": "the mailbox that owns every invite and e-mail"},
        "name": _TEXT,
    },
    "programme.leads[]": {
        "email": _EMAIL,
        "name": _TEXT,
        "timezone": _ZONE,
        "cohorts": {**_STRINGS, "description": "the cohort ids this lead sees"},
        "pairs": {**_STRINGS, "description": "pair ids, or 'mentor@x/mentee@y', this lead sees"},
        "scope": {"const": "all", "description": "this lead sees every pair"},
    },
    "defaults": {
        "cadence": {
            "type": "string",
            "description": "weekly, every 2 weeks, every N weeks, monthly, or RRULE:...",
        },
        "sessions": {**_WHOLE, "maximum": 200},
        "end_date": _DATE,
        "duration": _DURATION,
        "video": {
            "enum": ["auto", "none", True, False, "yes", "no", "off"],
            "description": "auto adds a video link where the provider can; none never",
        },
        "agenda_lead": _DURATION,
        "feedback_delay": _DURATION,
        "feedback_form_url": {
            "type": "string",
            "description": "http(s) URL; {pair}, {session} and {cohort} are filled in",
        },
    },
    "defaults.window": {
        "days": {
            "type": ["string", "array"],
            "description": "weekdays read in each person's zone, e.g. Mon-Fri or [Mon, Wed]",
        },
        "hours": {"type": "string", "description": "HH:MM-HH:MM in each person's zone"},
    },
    "defaults.digest": {
        "weekday": {"type": "string", "description": "Mon ... Sun, in each lead's zone"},
        # YAML 1.1 tools read an unquoted 08:00 as a number; the loader takes it as written.
        "time": {"type": ["string", "integer"], "description": "HH:MM"},
    },
    "defaults.thresholds": {
        "at_risk_missed": {**_WHOLE, "maximum": 52},
        "off_track_missed": {**_WHOLE, "maximum": 52},
        "confirmed_share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
    },
    "cohorts[]": {
        "id": {"type": ["string", "integer"], "description": "letters, digits, . _ -"},
        "start": {"type": "string", "description": "YYYY-MM-DD, or 'next Monday' (any weekday)"},
        "pairs_csv": {**_TEXT, "description": "an HR export with the cohort's pairs"},
    },
    "cohorts[].pairs[]": {
        "focus": _TEXT,
        "slot": {"type": "string", "description": "a fixed slot, e.g. 'Wed 14:00 Europe/London'"},
        "lead": _EMAIL,
    },
    "cohorts[].pairs[].mentor": {
        "email": _EMAIL,
        "name": _TEXT,
        "timezone": _ZONE,
    },
    "matching": {
        "min_overlap": _DURATION,
        "management_chain": {
            "type": ["string", "integer"],
            "description": "all, or how many levels up nobody may be paired with",
        },
        "shared_language": {"type": "boolean"},
    },
    "matching.weights": {
        key: {"type": "number", "minimum": 0} for key in KEY_TABLES["matching.weights"]
    },
}

PROVIDER = {
    "type": "object",
    "description": "the calendar and mail platform; the other keys are that provider's settings",
    "properties": {
        "kind": {
            "type": "string",
            "description": "local, microsoft, google, or an installed plugin",
            "examples": ["local", "microsoft", "google"],
        }
    },
    "required": ["kind"],
    "additionalProperties": True,
}


def _table(path: str) -> tuple[str, ...]:
    return KEY_TABLES[SAME_AS.get(path, path)]


def _leaf(path: str, key: str) -> Mapping[str, Any]:
    table = SAME_AS.get(path, path)
    try:
        return LEAVES[table][key]
    except KeyError:
        raise KeyError(f"the schema has no type for {table}.{key}: add it to LEAVES") from None


def _mapping(path: str) -> dict[str, Any]:
    """The schema of the mapping at ``path`` (``[]`` marks list items), children included."""
    properties: dict[str, Any] = {}
    for key in _table(path):
        child = f"{path}.{key}" if path else key
        if child == "provider":
            properties[key] = PROVIDER
        elif child in KEY_TABLES or child in SAME_AS:
            properties[key] = _mapping(child)
        elif f"{child}[]" in KEY_TABLES:
            properties[key] = {"type": "array", "items": _mapping(f"{child}[]")}
        else:
            properties[key] = dict(_leaf(path, key))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    required = REQUIRED.get(SAME_AS.get(path, path))
    if required:
        schema["required"] = list(required)
    return schema


def config_schema() -> dict[str, Any]:
    """The whole schema (draft 2020-12), deterministic for a given set of key tables."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "rmcal programme config",
        "description": "One reverse-mentoring programme: see docs/config.md for every key.",
        **_mapping(""),
    }


def schema_text() -> str:
    """The published file's exact text."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
