"""``rmcal.match.run``: the whole matching of a cohort, rule by rule and reason by reason."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from rmcal.match.history import history
from rmcal.match.run import match_people
from rmcal.model import MatchRules, MatchWeights, Pair, Person, pair_id
from rmcal.store import SeriesRow
from tests.match.helpers import NINE_TO_FIVE, SETTINGS, cohort, config, people, person
from tests.zones import LONDON, NEW_YORK, SYDNEY


def names(result) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return sorted((p.mentor.name, p.mentee.name) for p in result.pairs)


def reasons(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {u.person.name: u.reason for u in result.unmatched}


def run(*rows, rules: MatchRules | None = None, **kwargs):  # type: ignore[no-untyped-def]
    target = kwargs.pop("target", cohort())
    programme = kwargs.pop("programme", config(target, rules=rules))
    return match_people(programme, target, people(*rows), **kwargs)


def test_the_score_is_the_documented_sum() -> None:
    # Topics: 2 of the 3 wanted; departments differ; 2 levels apart (of 3); 40 h/week (>= 5).
    ana = person(
        "Ana", "mentor", topics=("AI tools", "Gaming", "Video"), department="Data", level=1
    )
    bob = person("Bob", "mentee", topics=("ai  tools", "video", "law"), department="Legal", level=3)
    result = run(ana, bob)
    (pair,) = result.pairs
    assert pair.terms == pytest.approx(
        {"topics": 2 / 3, "department": 1.0, "generation": 2 / 3, "overlap": 1.0}
    )
    assert pair.score == round(3 * 2 / 3 + 1 + 2 / 3 + 1, 2)
    assert pair.why == (
        "shared: ai  tools, video; 40 h/week overlap in both windows; different departments; "
        "mentee 2 seniority levels above"
    )
    heavy = MatchRules(weights=MatchWeights(topics=0, department=0, generation=0, overlap=2))
    assert run(ana, bob, rules=heavy).pairs[0].score == 2.0


def test_topics_decide_between_otherwise_equal_partners() -> None:
    ana = person("Ana", "mentor", topics=("gaming",))
    cy = person("Cy", "mentor", topics=("law",))
    bob = person("Bob", "mentee", topics=("law",))
    dee = person("Dee", "mentee", topics=("gaming",))
    assert names(run(ana, cy, bob, dee)) == [("Ana", "Dee"), ("Cy", "Bob")]


def test_nobody_is_paired_with_anyone_up_or_down_their_line() -> None:
    # Ana reports to Max (not in the programme), who reports to Bob: Ana and Bob are in one chain.
    ana = person("Ana", "mentor", manager="max@x.example", topics=("law",))
    max_ = person("Max", "none", manager="bob@x.example")
    bob = person("Bob", "mentee", topics=("law",))
    result = run(ana, max_, bob)
    assert result.pairs == ()
    assert reasons(result) == {
        "Ana": "every mentee with overlapping hours is in their management chain",
        "Bob": "every mentor with overlapping hours is in their management chain",
    }
    # One level only: Max is kept apart from Ana, but Bob (two levels up) is not.
    assert names(run(ana, max_, bob, rules=MatchRules(management_chain=1))) == [("Ana", "Bob")]


def test_a_shared_language_is_required_unless_someone_lists_none() -> None:
    ana = person("Ana", "mentor", languages=frozenset({"german"}))
    bob = person("Bob", "mentee", languages=frozenset({"english", "japanese"}))
    assert reasons(run(ana, bob))["Ana"] == "no mentee with overlapping hours who speaks german"
    assert names(run(ana, bob, rules=MatchRules(shared_language=False))) == [("Ana", "Bob")]
    silent = person("Bob", "mentee")
    assert names(run(ana, silent)) == [("Ana", "Bob")]


def test_too_few_shared_hours_leave_someone_unmatched_with_the_reason() -> None:
    ana = person("Ana", "mentor", LONDON)
    bob = person("Bob", "mentee", SYDNEY)  # 09:00-17:00 in Sydney is the London night
    result = run(ana, bob)
    assert result.pairs == ()
    assert reasons(result)["Bob"] == (
        "no mentor with overlapping hours (needs 1 h/week in both windows and a session time "
        "that fits both at every session; Australia/Sydney Mon,Tue,Wed,Thu,Fri 09:00-17:00)"
    )
    # London and New York share 3 h a day: 15 h a week passes 10 h, not 16 h.
    cy = person("Cy", "mentee", NEW_YORK)
    assert names(run(ana, cy, rules=MatchRules(min_overlap=timedelta(hours=10)))) == [("Ana", "Cy")]
    assert run(ana, cy, rules=MatchRules(min_overlap=timedelta(hours=16))).pairs == ()


def test_earlier_pairs_and_avoid_lists_are_never_made() -> None:
    ana, bob = person("Ana", "mentor"), person("Bob", "mentee")
    spring = cohort(
        "spring",
        pairs=(
            Pair(
                "spring",
                Person("bob@x.example", "Bob", LONDON),  # roles swapped: still the same two
                Person("ana@x.example", "Ana", LONDON),
                SETTINGS,
            ),
        ),
    )
    autumn = cohort()
    result = run(ana, bob, target=autumn, programme=config(spring, autumn))
    assert result.pairs == ()
    assert reasons(result)["Ana"] == (
        "every remaining mentee was their partner in an earlier cohort or is on an avoid list"
    )
    avoiding = person("Bob", "mentee", avoid=frozenset({"ana@x.example"}))
    assert run(ana, avoiding).pairs == ()


def test_earlier_pairs_are_found_in_the_state_file() -> None:
    ana, bob = person("Ana", "mentor"), person("Bob", "mentee")
    rows = [
        SeriesRow(
            "k1", "2026", pair_id("2026", "ana@x.example", "bob@x.example"), "l", "1", None, "ended"
        ),
        SeriesRow("k2", "2026", "someone-else-abc123", "local", "2", None, "active"),
        # The cohort being matched again: its own earlier pairs are not "earlier cohorts".
        SeriesRow(
            "k3",
            "autumn",
            pair_id("autumn", "ana@x.example", "bob@x.example"),
            "l",
            "3",
            None,
            "active",
        ),
    ]
    found = history(config(), "autumn", [ana, bob], rows[1:])
    assert not found.earlier
    found = history(config(), "autumn", [ana, bob], rows)
    assert found.earlier == {frozenset({"ana@x.example", "bob@x.example"})}
    assert run(ana, bob, series=rows).pairs == ()


def test_hyphenated_addresses_are_found_in_pair_ids() -> None:
    ana = person("Ana-Maria", "mentor")
    bob = person("Bob-Lee", "mentee")
    row = SeriesRow("k", "c0", pair_id("c0", ana.email, bob.email), "local", "1", None, "active")
    assert history(config(), "autumn", [ana, bob], [row]).earlier == {
        frozenset({ana.email, bob.email})
    }


def test_places_opt_outs_and_pairs_already_in_the_cohort() -> None:
    ana = person("Ana", "mentor", capacity=2)
    bob, cy, dee = person("Bob", "mentee"), person("Cy", "mentee"), person("Dee", "mentee")
    eve = person("Eve", "mentor", opt_out=True)
    fay = person("Fay", "mentor", capacity=0)
    result = run(ana, bob, cy, dee, eve, fay)
    assert len(result.pairs) == 2 and all(p.mentor.name == "Ana" for p in result.pairs)
    assert reasons(result) == {
        "Eve": "opted out",
        "Fay": "capacity 0: takes no pair this round",
        next(iter({"Bob", "Cy", "Dee"} - {p.mentee.name for p in result.pairs})): (
            "capacity exhausted: the one possible mentor has no place left"
        ),
    }
    # A pair already written under the cohort's pairs: uses one of Ana's two places.
    inline = Pair(
        "autumn", Person(ana.email, "Ana", LONDON), Person(bob.email, "Bob", LONDON), SETTINGS
    )
    target = cohort(pairs=(inline,))
    again = run(ana, bob, cy, dee, target=target, programme=config(target))
    assert len(again.pairs) == 1 and again.pairs[0].mentee.name in {"Cy", "Dee"}


def test_the_result_does_not_depend_on_row_order() -> None:
    rng = random.Random(7)
    zones = [LONDON, NEW_YORK, "Europe/Berlin", "Asia/Kolkata"]
    topics = ["ai", "video", "law", "data", "games"]
    rows = []
    for index in range(24):
        role = "mentor" if index % 2 else "mentee"
        rows.append(
            person(
                f"P{index:02d}",
                role,
                rng.choice(zones),
                window=NINE_TO_FIVE,
                topics=tuple(rng.sample(topics, 2)),
                department=rng.choice(["a", "b", "c"]),
                level=float(rng.randint(1, 3) + (3 if role == "mentee" else 0)),
            )
        )
    first = run(*rows)
    rng.shuffle(rows)
    second = run(*rows)
    assert [(p.mentor.email, p.mentee.email, p.score) for p in first.pairs] == [
        (p.mentor.email, p.mentee.email, p.score) for p in second.pairs
    ]
    assert len(first.pairs) == 12


def test_age_bands_explain_the_generation_term() -> None:
    ana = person("Ana", "mentor", level=1.8, age_band="18-24")
    bob = person("Bob", "mentee", level=4.5, age_band="45-54")
    (pair,) = run(ana, bob).pairs
    assert pair.terms["generation"] == pytest.approx(2.7 / 3)
    assert pair.why.endswith("age bands 18-24 and 45-54")
