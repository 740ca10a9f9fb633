from datetime import UTC, datetime, timedelta

import pytest

from rmcal.intervals import busy_requests, chunks, clip, merge, windows


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, 1, hour, minute, tzinfo=UTC)


def test_merge_joins_overlapping_and_touching_and_sorts() -> None:
    blocks = [(at(11), at(12)), (at(9), at(10)), (at(10), at(10, 30)), (at(11, 30), at(11, 45))]
    assert merge(blocks) == ((at(9), at(10, 30)), (at(11), at(12)))


def test_merge_of_nothing_is_empty() -> None:
    assert merge([]) == ()


def test_chunks_keep_the_last_short_chunk() -> None:
    assert list(chunks(list("abcde"), 2)) == [["a", "b"], ["c", "d"], ["e"]]
    with pytest.raises(ValueError):
        list(chunks([1], 0))


def test_windows_cover_the_range_without_gaps() -> None:
    start = at(0)
    spans = windows(start, start + timedelta(days=130), timedelta(days=61))
    assert [b - a for a, b in spans] == [timedelta(days=61), timedelta(days=61), timedelta(days=8)]
    assert all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1))
    assert windows(start, start, timedelta(days=1)) == []
    assert windows(start, at(5), None) == [(start, at(5))]


def test_busy_requests_cross_people_and_windows() -> None:
    people = [f"p{i}@example.com" for i in range(45)]
    calls = busy_requests(
        people, at(0), at(0) + timedelta(days=100), people_per_call=20, window=timedelta(days=61)
    )
    assert len(calls) == 3 * 2
    asked = {(p, a) for group, a, _ in calls for p in group}
    assert len(asked) == 45 * 2


def test_clip_drops_what_falls_outside() -> None:
    assert clip([(at(8), at(10)), (at(12), at(13))], at(9), at(12)) == [(at(9), at(10))]
