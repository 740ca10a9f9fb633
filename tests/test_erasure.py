"""``rmcal.erasure`` on a real state file: what counts as "about" a person or a cohort."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmcal import erasure
from rmcal.store import MailStatus, SeriesRow, Store


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "state.db")
    yield opened
    opened.close()


def test_a_subject_is_one_person_or_one_cohort():
    with pytest.raises(ValueError):
        erasure.Subject()
    with pytest.raises(ValueError):
        erasure.Subject(person="a@x", cohort="c")


def test_a_cohort_takes_its_pairs_rows_and_only_caches_that_name_it_as_a_value(store: Store):
    store.put_series(SeriesRow("rm1", "spring", "ana-bob-1", "local", "id1", None, "active"))
    store.put_series(SeriesRow("rm2", "spring-2", "cy-di-2", "local", "id2", None, "active"))
    store.mark_mail("agenda:rm1:1", MailStatus.SENT, pair_id="ana-bob-1", recipients=["bob@x"])
    store.mark_mail("digest:lead@x:2027-W02", MailStatus.SENT, recipients=["lead@x"])
    store.put("google", "events:primary", '{"rmcal.cohort": "spring"}')
    store.put("google", "events:other", '{"rmcal.cohort": "spring-2"}')
    found = erasure.find(store, erasure.Subject(cohort="spring"), [])
    assert found.pair_ids == {"ana-bob-1"}
    assert found.counts() == {"series": 1, "mail": 1, "snapshots": 0, "feedback": 0, "kv": 1}
    assert erasure.delete(store, found)["kv"] == 1
    assert store.get("google", "events:primary") is None
    assert store.get("google", "events:other") is not None  # "spring-2" is another cohort
    assert [r.key for r in store.mail_rows()] == ["digest:lead@x:2027-W02"]  # leads' digests stay


def test_a_person_is_found_through_the_ledger_even_as_a_lead(store: Store):
    store.mark_mail("agenda:rm1:1", MailStatus.SENT, pair_id="ana-bob-1", recipients=["Bob@X"])
    store.mark_mail("digest:bob@x:2027-W02", MailStatus.SENT, recipients=["bob@x"])
    store.mark_mail("agenda:rm2:1", MailStatus.SENT, pair_id="cy-di-2", recipients=["di@x"])
    found = erasure.find(store, erasure.Subject(person="bob@x"), [])
    assert found.pair_ids == {"ana-bob-1"}
    assert sorted(r["key"] for r in found.rows["mail"]) == ["agenda:rm1:1", "digest:bob@x:2027-W02"]
