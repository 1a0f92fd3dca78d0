"""``PeriodPoints``: the latest week and month as counters, the others in dicts — the same
sums as one dict per period, whatever order the weeks and months come in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shequn.engines.scoring import PeriodPoints

ADDS = st.lists(
    st.tuples(st.integers(738_000, 738_030), st.integers(24_280, 24_284), st.integers(-20, 25)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ADDS)
def test_period_points_equal_a_dict_per_period(adds: list[tuple[int, int, int]]) -> None:
    tally = PeriodPoints()
    weeks: dict[int, int] = {}
    months: dict[int, int] = {}
    for week, month, points in adds:
        tally.add(week, month, points)
        weeks[week] = weeks.get(week, 0) + points
        months[month] = months.get(month, 0) + points
    for week in range(737_990, 738_040):
        assert tally.in_week_of(week) == weeks.get(week, 0)
    for month in range(24_270, 24_290):
        assert tally.in_month_of(month) == months.get(month, 0)
    # a week is held once: as the counter or in the dict
    assert tally.week not in tally.weeks and tally.month not in tally.months


def test_going_back_to_an_earlier_week_takes_its_points_out_of_the_dict() -> None:
    tally = PeriodPoints()
    tally.add(738_001, 24_281, 10)
    tally.add(738_008, 24_281, 5)
    tally.add(738_001, 24_281, 1)  # an event out of order
    assert (tally.in_week_of(738_001), tally.in_week_of(738_008)) == (11, 5)
    assert tally.in_month_of(24_281) == 16
