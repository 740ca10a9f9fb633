"""Every class of bad config input, as one named fixture file and the exact line it gives.

The files live in ``tests/fixtures/config/``; each case is grouped under the ``rmcal.config``
module whose rule it exercises, and ``tests/config/test_<module>.py`` runs its group. The table
is one plain module so that one test can check that no fixture file goes unasserted.
"""

from __future__ import annotations

# Fixtures that load cleanly (or whose message is checked on its own): not error cases.
VALID = frozenset(
    {
        "valid_minimal.yaml",
        "merge.yaml",
        "paths.yaml",
        "env_paths.yaml",
        "yaml_anchors.yaml",
        "csv_pairs.yaml",
        "slots_apart.yaml",
        "missing_templates.yaml",  # its message holds an absolute path: tested on its own
    }
)

ERRORS: dict[str, list[tuple[str, str]]] = {
    # the file's structure: unknown or missing keys, shapes, cohorts, provider, paths, clock
    "loader": [
        (
            "unknown_key.yaml",
            "unknown_key.yaml:12: cohorts[0].pairs[0].mentro: unknown key 'mentro'; "
            "did you mean 'mentor'?",
        ),
        (
            "unknown_top_key.yaml",
            "unknown_top_key.yaml:8: defualts: unknown key 'defualts'; did you mean 'defaults'?",
        ),
        (
            "unknown_key_setting_misplaced.yaml",
            "unknown_key_setting_misplaced.yaml:11: cohorts[0].cadence: unknown key 'cadence'; "
            "settings go under settings:",
        ),
        ("missing_key.yaml", "missing_key.yaml:1: programme: missing required key 'purpose'"),
        ("missing_section.yaml", "missing_section.yaml: missing required key 'cohorts'"),
        (
            "missing_pairs.yaml",
            "missing_pairs.yaml:9: cohorts[0]: missing required key 'pairs'; "
            "list the pairs under pairs: or name an HR export with pairs_csv:",
        ),
        (
            "missing_person_name.yaml",
            "missing_person_name.yaml:13: cohorts[0].pairs[0].mentee: missing required key 'name'",
        ),
        ("empty.yaml", "empty.yaml: the file is empty; start from config.example.yaml"),
        ("not_a_mapping.yaml", "not_a_mapping.yaml:1: expected a mapping of sections, got a list"),
        (
            "wrong_type_pairs.yaml",
            "wrong_type_pairs.yaml:11: cohorts[0].pairs: expected a list, got a mapping; "
            "write [a, b] or '- ' lines",
        ),
        (
            "provider_kind_not_text.yaml",
            "provider_kind_not_text.yaml:7: provider.kind: expected text, got a list",
        ),
        (
            "same_person.yaml",
            "same_person.yaml:13: cohorts[0].pairs[0].mentee.email: 'ana@northwind.example' cannot "
            "be both mentor and mentee of a pair",
        ),
        (
            "past_start.yaml",
            "past_start.yaml:10: cohorts[0].start: start date 2026-09-07 is in the past "
            "(today is 2026-11-23); use --force to schedule a cohort that already started",
        ),
        (
            "duplicate_cohort.yaml",
            "duplicate_cohort.yaml:14: cohorts[1].id: duplicate cohort id 'c1' "
            "(first used on line 9)",
        ),
        (
            "bad_cohort_id.yaml",
            "bad_cohort_id.yaml:9: cohorts[0].id: 'spring cohort/2027' is not a usable cohort id; "
            "use letters, digits, '.', '_' and '-', e.g. 2027-spring",
        ),
        (
            "provider_secret.yaml",
            "provider_secret.yaml:12: provider.smtp.password: secrets do not belong in the config "
            "file; name an environment variable with password_env, or a file with password_file",
        ),
        (
            "unset_env_path.yaml",
            "unset_env_path.yaml:8: state: environment variable RMCAL_DATA is not set",
        ),
        # hostile input (issue 10)
        (
            "start_far_future.yaml",
            "start_far_future.yaml:10: cohorts[0].start: start date 9999-12-31 is more than "
            "5 years away (today is 2026-11-23); check the year",
        ),
        (
            "long_path_component.yaml",
            "long_path_component.yaml:6: state: the path component "
            "'state-state-state-state-...' is 303 bytes long, more than 255",
        ),
    ],
    # YAML itself: syntax, tabs, duplicate keys, scalars YAML cannot construct
    "yamlsource": [
        (
            "yaml_syntax.yaml",
            "yaml_syntax.yaml:13: invalid YAML: expected ',' or '}', but got ':' "
            "(while parsing a flow mapping on line 12)",
        ),
        (
            "yaml_tab.yaml",
            "yaml_tab.yaml:10: invalid YAML: found character '\\t' that cannot start any token "
            "(while scanning for the next token); indent with spaces, not tabs",
        ),
        (
            "duplicate_key.yaml",
            "duplicate_key.yaml:11: cohorts[0].start: duplicate key 'start' "
            "(first given on line 10); give each key once",
        ),
        (
            "bad_date.yaml",
            "bad_date.yaml:10: cohorts[0].start: '2027-02-30' is not a valid date "
            "(day is out of range for month)",
        ),
        # hostile input (issue 10)
        (
            "yaml_control_char.yaml",
            "yaml_control_char.yaml:2: the character U+0007 (BEL) at column 13 is not "
            "allowed; remove it; only tabs and line breaks may appear in the file",
        ),
        (
            "yaml_nul.yaml",
            "yaml_nul.yaml:3: the character U+0000 (NUL) at column 19 is not allowed; remove "
            "it; only tabs and line breaks may appear in the file",
        ),
        (
            "yaml_escape_control.yaml",
            "yaml_escape_control.yaml:13: cohorts[0].pairs[0].mentee.name: the character "
            "U+001B (ESCAPE) is not allowed in text: 'Bob\\x1b]8;;https://x.example\\x07'; "
            "remove the escape; text values may hold tabs and line breaks only",
        ),
        (
            "yaml_surrogate.yaml",
            "yaml_surrogate.yaml:12: cohorts[0].pairs[0].mentor.name: the character U+D83D "
            "(half of a surrogate pair, not a character) is not allowed in text: 'Ana "
            "\\ud83d'; remove the escape; text values may hold tabs and line breaks only",
        ),
        (
            "yaml_deep_nesting.yaml",
            "yaml_deep_nesting.yaml:8: values are nested more than 50 levels deep; a config "
            "needs a handful of levels; check the brackets",
        ),
        (
            "yaml_alias_bomb.yaml",
            "yaml_alias_bomb.yaml:9: provider.l4[5][3][0]: aliases expand the file by more "
            "than 10,000 values; an alias is for a small shared block, such as a window; "
            "use fewer",
        ),
        (
            "yaml_merge_cycle.yaml",
            "yaml_merge_cycle.yaml:6: provider: merge keys (<<) refer back to the mapping "
            "that uses them, or nest too deeply",
        ),
    ],
    # one value: types, time zones, e-mails, durations, cadences, slots, windows, URLs
    "values": [
        (
            "wrong_type_sessions.yaml",
            "wrong_type_sessions.yaml:9: defaults.sessions: expected a whole number, got 'six'",
        ),
        (
            "wrong_type_name.yaml",
            "wrong_type_name.yaml:2: programme.name: expected text, got the number '2027'; "
            "put it in quotes",
        ),
        (
            "bad_timezone.yaml",
            "bad_timezone.yaml:13: cohorts[0].pairs[0].mentee.timezone: 'Europe/Londn' is not an "
            "IANA time zone; did you mean 'Europe/London'?",
        ),
        (
            "bad_timezone_case.yaml",
            "bad_timezone_case.yaml:12: cohorts[0].pairs[0].mentor.timezone: 'asia/kolkata' is not "
            "an IANA time zone; did you mean 'Asia/Kolkata'? (names are case-sensitive)",
        ),
        (
            "bad_timezone_abbreviation.yaml",
            "bad_timezone_abbreviation.yaml:5: programme.timezone: 'IST' is not an IANA time zone; "
            "abbreviations are ambiguous and ignore daylight saving; use a city zone such as "
            "'Asia/Kolkata'",
        ),
        (
            "bad_email.yaml",
            "bad_email.yaml:12: cohorts[0].pairs[0].mentor.email: 'ana.northwind.example' is not "
            "an e-mail address",
        ),
        (
            "bad_email_display_name.yaml",
            "bad_email_display_name.yaml:4: programme.organizer.email: "
            "'Reverse Mentoring <RM@Northwind.example>' is not an e-mail address; "
            "give the bare address, 'rm@northwind.example'",
        ),
        (
            "bad_duration.yaml",
            "bad_duration.yaml:9: defaults.duration: '45 mns' is not a duration; "
            "write e.g. 45m, 1h, 1h30m, 90 minutes or a number of minutes",
        ),
        (
            "zero_duration.yaml",
            "zero_duration.yaml:9: defaults.duration: must be more than zero, got '0m'",
        ),
        (
            "negative_duration.yaml",
            "negative_duration.yaml:9: defaults.duration: must be more than zero, got '-30m'",
        ),
        (
            "long_duration.yaml",
            "long_duration.yaml:9: defaults.duration: must be at most 8h, got '9h'",
        ),
        (
            "bad_cadence.yaml",
            "bad_cadence.yaml:9: defaults.cadence: 'twice a month' is not a cadence; use weekly, "
            "every N weeks, fortnightly, monthly, every N months or an RRULE such as "
            "RRULE:FREQ=WEEKLY;INTERVAL=3",
        ),
        (
            "bad_cadence_interval.yaml",
            "bad_cadence_interval.yaml:9: defaults.cadence: 'every 0 weeks' is not a cadence; "
            "the number of weeks must be between 1 and 52",
        ),
        (
            "bad_rrule.yaml",
            "bad_rrule.yaml:9: defaults.cadence: 'RRULE:FREQ=WEEKLY;INTERVAL=3;COUNT=4' is not a "
            "usable RRULE: COUNT not allowed in a cadence rule "
            "(the number of sessions / end date set COUNT and UNTIL)",
        ),
        (
            "bad_rrule_freq.yaml",
            "bad_rrule_freq.yaml:15: cohorts[0].pairs[0].settings.cadence: 'RRULE:FREQ=HOURLY' is "
            "not a usable RRULE: FREQ=HOURLY is not a meeting cadence",
        ),
        (
            "bad_slot.yaml",
            "bad_slot.yaml:14: cohorts[0].pairs[0].slot: 'Wed at 2pm' is not a slot; "
            "write a weekday and a time, e.g. 'Wed 14:00' or 'Wed 14:00 Europe/London'",
        ),
        (
            "bad_slot_timezone.yaml",
            "bad_slot_timezone.yaml:14: cohorts[0].pairs[0].slot: 'Europe/Berln' is not an IANA "
            "time zone; did you mean 'Europe/Berlin'?",
        ),
        (
            "bad_window_days.yaml",
            "bad_window_days.yaml:9: defaults.window.days: 'Mon-Fry' is not a day of the week; "
            "use Mon, Tue, Wed, Thu, Fri, Sat, Sun, a range such as Mon-Fri, or a list [Mon, Wed]",
        ),
        (
            "bad_window_hours.yaml",
            "bad_window_hours.yaml:11: defaults.window.hours: '17:00-09:00' ends before it starts; "
            "a window lies within one day; the end must be later than the start",
        ),
        (
            "bad_feedback_url.yaml",
            "bad_feedback_url.yaml:9: defaults.feedback_form_url: unknown placeholder {sesion}; "
            "did you mean 'session'?",
        ),
        (
            "bad_video.yaml",
            "bad_video.yaml:9: defaults.video: 'teams' is not a video setting; use auto or none",
        ),
        # hostile input (issue 10)
        (
            "name_line_break.yaml",
            "name_line_break.yaml:13: cohorts[0].pairs[0].mentee.name: 'Bob\\nBcc: "
            "all@northwind.example' contains the control character U+000A (LINE FEED); write "
            "it on one line, without control characters",
        ),
        (
            "name_too_long.yaml",
            "name_too_long.yaml:12: cohorts[0].pairs[0].mentor.name: is 239 characters long, "
            "more than 200; shorten it",
        ),
        (
            "name_bidi_override.yaml",
            "name_bidi_override.yaml:13: cohorts[0].pairs[0].mentee.name: 'Bob "
            "\\u202egnp.exe' contains the control character U+202E (RIGHT-TO-LEFT OVERRIDE); "
            "write it on one line, without control characters",
        ),
        (
            "bad_email_double_dot.yaml",
            "bad_email_double_dot.yaml:12: cohorts[0].pairs[0].mentor.email: "
            "'ana..lee@northwind.example' is not an e-mail address; an email address cannot "
            "have two periods in a row",
        ),
        (
            "bad_email_special_domain.yaml",
            "bad_email_special_domain.yaml:4: programme.organizer.email: "
            "'rm@northwind.local' is not an e-mail address; the part after the @-sign is a "
            "special-use or reserved name that cannot be used with email",
        ),
        (
            "bad_timezone_localtime.yaml",
            "bad_timezone_localtime.yaml:5: programme.timezone: 'localtime' is not an IANA "
            "time zone; name the zone itself, e.g. 'Europe/London'; it must not depend on "
            "the machine",
        ),
        (
            "bad_feedback_url_format.yaml",
            "bad_feedback_url_format.yaml:9: defaults.feedback_form_url: placeholder "
            "{pair!r} has a format; write just {pair}",
        ),
        (
            "bad_feedback_url_space.yaml",
            "bad_feedback_url_space.yaml:9: defaults.feedback_form_url: "
            "'https://forms.northwind.example/f?pair={pair}&note=see you' contains a space "
            "or control character; write a space as %20",
        ),
        (
            "bad_rrule_interval.yaml",
            "bad_rrule_interval.yaml:9: defaults.cadence: 'RRULE:FREQ=WEEKLY;INTERVAL=9999' "
            "is not a usable RRULE: INTERVAL=9999 is not between 1 and 52 (at most a year "
            "between sessions with FREQ=WEEKLY)",
        ),
        (
            "bad_rrule_interval_zero.yaml",
            "bad_rrule_interval_zero.yaml:9: defaults.cadence: "
            "'RRULE:FREQ=MONTHLY;INTERVAL=0' is not a usable RRULE: INTERVAL=0 is not "
            "between 1 and 12 (at most a year between sessions with FREQ=MONTHLY)",
        ),
        (
            "bad_rrule_bymonth.yaml",
            "bad_rrule_bymonth.yaml:9: defaults.cadence: 'RRULE:FREQ=YEARLY;BYMONTH=13' is "
            "not a usable RRULE: BYMONTH=13 is not a month (1 to 12)",
        ),
        (
            "bad_rrule_bymonthday.yaml",
            "bad_rrule_bymonthday.yaml:9: defaults.cadence: "
            "'RRULE:FREQ=MONTHLY;BYMONTHDAY=32' is not a usable RRULE: BYMONTHDAY=32 is not "
            "a day of the month (1 to 31, or -1 to -31 from the end)",
        ),
    ],
    # the settings cascade: sessions vs end date, windows shorter than a session, thresholds
    "settings": [
        (
            "sessions_and_end_date.yaml",
            "sessions_and_end_date.yaml:13: cohorts[0].settings.end_date: give either sessions or "
            "end_date, not both; sessions is set on line 12",
        ),
        (
            "end_date_before_start.yaml",
            "end_date_before_start.yaml:9: defaults.end_date: end date 2026-12-31 is before the "
            "cohort starts (2027-01-11)",
        ),
        (
            "window_too_short.yaml",
            "window_too_short.yaml:17: cohorts[0].pairs[0].mentor.window.hours: the window "
            "09:00-09:30 is shorter than one 1h session",
        ),
        (
            "thresholds_conflict.yaml",
            "thresholds_conflict.yaml:9: defaults.thresholds.at_risk_missed: off_track_missed (2) "
            "must be at least at_risk_missed (3)",
        ),
        # hostile input (issue 10)
        (
            "rrule_never.yaml",
            "rrule_never.yaml:9: defaults.cadence: "
            "'RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30' is not a usable cadence: the rule "
            "gives no session within 5 years of 2027-01-11; check the rule's BYMONTH, "
            "BYMONTHDAY, BYDAY and BYSETPOS, or the end date",
        ),
        (
            "end_date_too_far.yaml",
            "end_date_too_far.yaml:9: defaults.end_date: end date 2200-01-01 is more than 5 "
            "years after the cohort starts (2027-01-11); split a longer programme into "
            "cohorts",
        ),
        (
            "sessions_beyond_horizon.yaml",
            "sessions_beyond_horizon.yaml:10: defaults.sessions: 200 sessions do not fit "
            "within 5 years of 2027-01-11 (the last one that fits is session 5, on "
            "2031-01-13), with cadence 'every 12 months'; choose fewer sessions or a shorter "
            "cadence",
        ),
    ],
    # leads and their scopes
    "leads": [
        (
            "unknown_lead.yaml",
            "unknown_lead.yaml:16: cohorts[0].pairs[0].lead: 'leo@northwind.example' is not "
            "a lead; did you mean 'lee@northwind.example'?",
        ),
        (
            "lead_unknown_cohort.yaml",
            "lead_unknown_cohort.yaml:9: programme.leads[0].cohorts[1]: no cohort '2027-sprng'; "
            "did you mean '2027-spring'?",
        ),
        (
            "lead_unknown_pair.yaml",
            "lead_unknown_pair.yaml:9: programme.leads[0].pairs[0]: no pair "
            "'ana@northwind.example/rob@northwind.example'; did you mean "
            "'ana@northwind.example/bob@northwind.example'?",
        ),
        (
            "lead_bad_scope.yaml",
            "lead_bad_scope.yaml:7: programme.leads[0].scope: 'everything' is not a scope; "
            "the only scope is 'all'; to limit a lead, list cohorts: or pairs:",
        ),
        (
            "lead_sees_nothing.yaml",
            "lead_sees_nothing.yaml:7: programme.leads[0]: lead 'lee@northwind.example' sees no "
            "pairs; give cohorts:, pairs: or scope: all, or name the lead in a pair's lead:",
        ),
    ],
    # pairs from an HR export: file and line are the CSV's, the key is the column
    "hrcsv": [
        (
            "csv_bad_timezone.yaml",
            "csv_bad_timezone.csv:3: mentee_timezone: 'America/New_Yrok' is not an IANA time zone; "
            "did you mean 'America/New_York'?",
        ),
        (
            "csv_unknown_column.yaml",
            "csv_unknown_column.csv:1: mentee_timzone: unknown column 'mentee_timzone'; "
            "did you mean 'mentee_timezone'?",
        ),
        (
            "csv_missing_column.yaml",
            "csv_missing_column.csv:1: missing required column 'mentee_name'; "
            "required: mentor_email, mentor_name, mentee_email, mentee_name",
        ),
        (
            "csv_field_count.yaml",
            "csv_field_count.csv:3: the row has 6 fields but the header has 5; "
            "put values that contain the delimiter in double quotes",
        ),
        ("csv_empty_cell.yaml", "csv_empty_cell.csv:3: mentor_name: required value is empty"),
        (
            "csv_missing_file.yaml",
            "csv_missing_file.yaml:11: cohorts[0].pairs_csv: cannot read 'no-such-export.csv': "
            "No such file or directory",
        ),
    ],
    # rules across the pairs of a cohort
    "checks": [
        (
            "duplicate_pair.yaml",
            "duplicate_pair.yaml:16: cohorts[0].pairs[2]: ana@northwind.example and "
            "bob@northwind.example are already a pair in this cohort, at cohorts[0].pairs[0] "
            "(line 12); remove one of the two",
        ),
        (
            "overlapping_slots.yaml",
            "overlapping_slots.yaml:17: cohorts[0].pairs[1].slot: ana@northwind.example would "
            "be in two sessions at once: this slot overlaps Wed 10:00 of cohorts[0].pairs[0] "
            "(line 12) on 2027-01-13; give one of the two pairs another slot, or drop slot: to "
            "let rmcal search",
        ),
        (
            "timezone_conflict.yaml",
            "timezone_conflict.yaml:14: cohorts[0].pairs[1].mentor.timezone: ana@northwind.example "
            "is in Asia/Singapore here but in Asia/Kolkata at cohorts[0].pairs[0] (line 12); give "
            "this person the same timezone everywhere in a cohort",
        ),
        # hostile input (issue 10)
        (
            "slot_rule_never.yaml",
            "slot_rule_never.yaml:17: cohorts[0].pairs[0].slot: Sat 10:00 with cadence "
            "'RRULE:FREQ=YEARLY;BYMONTH=2': the rule gives no session within 5 years of "
            "2027-01-30; choose another slot or cadence, or drop slot: to let rmcal search",
        ),
        (
            "csv_duplicate_pair.yaml",
            "csv_duplicate_pair.csv:3: mentee_email: ana@northwind.example and "
            "bob@northwind.example are already a pair in this cohort, at cohorts[0].pairs[0] "
            "(line 13); remove one of the two",
        ),
    ],
}
