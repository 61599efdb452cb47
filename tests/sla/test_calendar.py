"""Business calendars: working time in local wall-clock periods, deadlines as UTC instants.

Fixed cases (split shifts, night shifts, overrides, DST in four zones, the bugs other engines
shipped) and properties over random calendars checked against a minute-by-minute oracle that
reads the spec directly."""
from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sla.calendar import (
    MAX_PERIODS_PER_DAY,
    WEEKDAYS,
    BusinessCalendar,
    CalendarNeverOpen,
    CalendarSpecError,
)

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
ST_JOHNS = ZoneInfo("America/St_Johns")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
WORKWEEK = ("mon", "tue", "wed", "thu", "fri")
OFFICE = {day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in WORKWEEK}  # 7.5 h a day
NINE_TO_FIVE = {day: [["09:00", "17:00"]] for day in WORKWEEK}
ALL_DAY = {day: [["00:00", "24:00"]] for day in WEEKDAYS}


def calendar(weekly, tz="UTC", **extra) -> BusinessCalendar:
    return BusinessCalendar.from_spec({"timezone": tz, "weekly": weekly, **extra})


def local(tz, *fields) -> datetime:
    return datetime(*fields, tzinfo=tz)


# -- weekly hours, overrides, holidays, closures ---------------------------------------------


def test_between_counts_the_periods_and_not_the_lunch_break():
    cal = calendar(OFFICE, "Asia/Shanghai")
    monday = local(SHANGHAI, 2026, 6, 1)
    assert cal.between(monday.replace(hour=8), monday.replace(hour=20)) == 7.5 * H
    assert cal.between(monday.replace(hour=11), monday.replace(hour=14)) == 1.5 * H
    assert cal.between(monday.replace(hour=12, minute=10), monday.replace(hour=13, minute=20)) == timedelta(0)
    assert cal.between(monday, monday + timedelta(days=7)) == 5 * 7.5 * H


def test_split_shift_add_jumps_the_lunch_break():
    cal = calendar(OFFICE, "Asia/Shanghai")
    # 11:30 + 1 h: 30 minutes before lunch, the other 30 after it reopens at 13:30
    due = cal.add(local(SHANGHAI, 2026, 6, 1, 11, 30), H)
    assert due == local(SHANGHAI, 2026, 6, 1, 14, 0)
    # exactly the morning's remainder ends at closing time, not at the reopening
    assert cal.add(local(SHANGHAI, 2026, 6, 1, 11, 30), 30 * MIN) == local(SHANGHAI, 2026, 6, 1, 12, 0)
    # 40 business hours from Monday 09:00: five full days are 37.5 h, the rest is next Monday's
    # morning up to 11:30; one more hour crosses that day's lunch break
    assert cal.add(local(SHANGHAI, 2026, 6, 1, 9), 40 * H) == local(SHANGHAI, 2026, 6, 8, 11, 30)
    assert cal.add(local(SHANGHAI, 2026, 6, 1, 9), 41 * H) == local(SHANGHAI, 2026, 6, 8, 14, 0)


def test_night_shift_is_two_periods_on_consecutive_days():
    cal = calendar({"mon": [["22:00", "24:00"]], "tue": [["00:00", "06:00"]]}, "Europe/Berlin")
    monday = local(BERLIN, 2026, 6, 1)
    assert cal.add(monday.replace(hour=23), 3 * H) == local(BERLIN, 2026, 6, 2, 2)
    assert cal.between(monday.replace(hour=20), monday.replace(hour=20) + 12 * H) == 8 * H
    assert list(cal.periods(monday, monday + timedelta(days=2))) == [
        (local(BERLIN, 2026, 6, 1, 22).astimezone(UTC), local(BERLIN, 2026, 6, 2, 6).astimezone(UTC))]


def test_sparse_weekly_hours_only_tuesdays():
    cal = calendar({"tue": [["10:00", "12:00"]]}, "America/New_York")
    wednesday = local(NEW_YORK, 2026, 6, 3, 9)
    assert cal.next_open(wednesday) == local(NEW_YORK, 2026, 6, 9, 10)
    assert cal.add(wednesday, 3 * H) == local(NEW_YORK, 2026, 6, 16, 11)
    assert cal.between(wednesday, wednesday + timedelta(days=28)) == 8 * H


def test_override_opens_a_sunday_closes_a_weekday_and_beats_a_holiday():
    cal = calendar(NINE_TO_FIVE, "Asia/Shanghai",
                   holidays=["2026-06-03", "2026-06-04"],
                   overrides={"2026-06-07": [["10:00", "12:00"]], "2026-06-02": [], "2026-06-04": [["09:00", "10:00"]]})
    def day(d):
        return cal.between(local(SHANGHAI, 2026, 6, d), local(SHANGHAI, 2026, 6, d + 1))

    assert [day(d) for d in range(1, 8)] == [8 * H, 0 * H, 0 * H, 1 * H, 8 * H, 0 * H, 2 * H]
    # Friday 16:00 + 3 h: one hour on Friday, two on the opened Sunday
    assert cal.add(local(SHANGHAI, 2026, 6, 5, 16), 3 * H) == local(SHANGHAI, 2026, 6, 7, 12)


def test_closures_cut_local_wall_time_across_dates_and_merge():
    cal = calendar(NINE_TO_FIVE, "Europe/Berlin", closures=[
        ["2026-06-01T14:00", "2026-06-02T11:00"], ["2026-06-02T10:00", "2026-06-02T12:00"], ["2026-06-03T00:00", "2026-06-04T00:00"]])
    assert [cal.between(local(BERLIN, 2026, 6, d), local(BERLIN, 2026, 6, d + 1)) for d in (1, 2, 3, 4)] == [5 * H, 5 * H, 0 * H, 8 * H]
    assert cal.add(local(BERLIN, 2026, 6, 1, 13), 2 * H) == local(BERLIN, 2026, 6, 2, 13)
    assert cal.to_spec()["closures"] == [["2026-06-01T14:00", "2026-06-02T12:00"], ["2026-06-03T00:00", "2026-06-04T00:00"]]


def test_a_closure_in_a_repeated_hour_closes_both_occurrences():
    cal = calendar(ALL_DAY, "Europe/Berlin", closures=[["2026-10-25T02:00", "2026-10-25T03:00"]])
    assert cal.between(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == 23 * H


def test_periods_are_half_open():
    cal = calendar(OFFICE, "Asia/Shanghai")
    monday = local(SHANGHAI, 2026, 6, 1)
    assert cal.is_open(monday.replace(hour=9))
    assert not cal.is_open(monday.replace(hour=9) - US)
    assert cal.is_open(monday.replace(hour=12) - US)
    assert not cal.is_open(monday.replace(hour=12))
    assert not cal.is_open(monday.replace(hour=18))
    assert cal.next_open(monday.replace(hour=12)) == monday.replace(hour=13, minute=30)
    assert cal.next_open(monday.replace(hour=10)) == monday.replace(hour=10)
    assert cal.next_open(monday.replace(hour=18)) == monday.replace(day=2, hour=9)


def test_add_zero_is_the_start_even_when_closed_and_between_of_an_empty_span_is_zero():
    cal = calendar(OFFICE, "Asia/Shanghai")
    saturday = local(SHANGHAI, 2026, 6, 6, 3, 7, 11, 5)
    assert cal.add(saturday, timedelta(0)) == saturday
    assert cal.add(saturday, timedelta(0)).tzinfo is UTC
    monday = local(SHANGHAI, 2026, 6, 1, 10)
    assert cal.between(monday, monday) == timedelta(0)
    assert cal.between(monday + H, monday) == timedelta(0)


def test_microseconds_are_kept():
    cal = calendar(NINE_TO_FIVE)
    start = datetime(2026, 6, 1, 16, 59, 59, 999_999, tzinfo=UTC)
    assert cal.add(start, 2 * US) == datetime(2026, 6, 2, 9, 0, 0, 1, tzinfo=UTC)
    assert cal.between(start, datetime(2026, 6, 2, 9, 0, 0, 1, tzinfo=UTC)) == 2 * US


def test_spans_across_many_months_and_years():
    cal = calendar(NINE_TO_FIVE, "Europe/Berlin")
    start = local(BERLIN, 2026, 1, 5, 9)  # a Monday
    assert cal.between(start, start + timedelta(weeks=520)) == 520 * 40 * H
    assert cal.add(start, 520 * 40 * H) == local(BERLIN, 2035, 12, 21, 17)


def test_inputs_must_be_aware_datetimes_and_durations_not_negative():
    cal = calendar(OFFICE)
    naive = datetime(2026, 6, 1, 9)
    aware = datetime(2026, 6, 1, 9, tzinfo=UTC)
    for call in (lambda: cal.between(naive, aware), lambda: cal.between(aware, naive), lambda: cal.add(naive, H),
                 lambda: cal.is_open(naive), lambda: cal.next_open(naive), lambda: cal.periods(aware, naive)):
        with pytest.raises(ValueError, match="aware"):
            call()
    with pytest.raises(ValueError, match="negative"):
        cal.add(aware, -US)
    with pytest.raises(TypeError):
        cal.add(date(2026, 6, 1), H)
    with pytest.raises(TypeError):
        cal.add(aware, 3600)
    with pytest.raises(ValueError, match="2999"):
        cal.add(datetime(2999, 12, 1, tzinfo=UTC), timedelta(days=60))


def test_never_open_calendar_raises_instead_of_looping():
    cal = calendar({}, "Asia/Shanghai", holidays=["2026-01-01"], overrides={"2026-01-02": []})
    start = local(SHANGHAI, 2026, 6, 1)
    started = time.monotonic()
    with pytest.raises(CalendarNeverOpen, match="never open"):
        cal.add(start, US)
    with pytest.raises(CalendarNeverOpen):
        cal.next_open(start)
    assert time.monotonic() - started < 1
    assert isinstance(CalendarNeverOpen("x"), ValueError)
    assert cal.between(start, start + timedelta(days=400)) == timedelta(0)
    assert not cal.is_open(start)
    assert cal.add(start, timedelta(0)) == start


def test_calendar_open_only_by_far_future_overrides_finds_them_then_stops():
    cal = calendar({}, "Asia/Shanghai", overrides={"2031-05-06": [["09:00", "10:00"]], "2027-02-03": [["09:00", "11:00"]]})
    start = local(SHANGHAI, 2026, 6, 1)
    assert cal.next_open(start) == local(SHANGHAI, 2027, 2, 3, 9)
    assert cal.add(start, 2.5 * H) == local(SHANGHAI, 2031, 5, 6, 9, 30)
    with pytest.raises(CalendarNeverOpen, match="2031-05-06"):
        cal.add(start, 3 * H + US)
    with pytest.raises(CalendarNeverOpen):
        cal.next_open(local(SHANGHAI, 2031, 5, 6, 10))


# -- the 24x7 calendar ------------------------------------------------------------------------


def test_always_counts_real_elapsed_time_across_dst():
    cal = BusinessCalendar.always()
    start = local(BERLIN, 2026, 3, 28, 12)
    assert cal.between(start, local(BERLIN, 2026, 3, 29, 12)) == 23 * H
    assert cal.between(local(BERLIN, 2026, 10, 24, 12), local(BERLIN, 2026, 10, 25, 12)) == 25 * H
    assert cal.add(start, 24 * H) == local(BERLIN, 2026, 3, 29, 13)
    assert cal.add(start, 24 * H) - start == 24 * H
    assert cal.is_open(start) and cal.next_open(start) == start
    assert list(cal.periods(start, start + timedelta(days=90))) == [(start, start + timedelta(days=90))]


def test_always_has_a_spec_form():
    assert BusinessCalendar.always().to_spec() == {"always": True}
    assert BusinessCalendar.from_spec({"always": True}) == BusinessCalendar.always()
    assert BusinessCalendar.from_spec(BusinessCalendar.always().to_spec()) == BusinessCalendar.always()


# -- daylight saving time ---------------------------------------------------------------------


@pytest.mark.parametrize("tz, spring, autumn", [
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("America/Sao_Paulo", date(2018, 11, 4), date(2018, 2, 17)),  # Brazil: at midnight, DST until 2019
])
def test_dst_days_count_their_real_length(tz, spring, autumn):
    zone = ZoneInfo(tz)
    full = calendar(ALL_DAY, tz)
    office = calendar({day: [["09:00", "18:00"]] for day in WEEKDAYS}, tz)

    def length(cal, day):
        return cal.between(datetime.combine(day, datetime.min.time(), zone),
                           datetime.combine(day + timedelta(days=1), datetime.min.time(), zone))

    assert length(full, spring) == 23 * H
    assert length(full, autumn) == 25 * H
    assert length(full, spring + timedelta(days=1)) == 24 * H
    assert length(office, spring) == length(office, autumn) == 9 * H


def test_a_period_across_the_spring_forward_gap_loses_the_missing_hour():
    cal = calendar({"sun": [["01:00", "04:00"]]}, "Europe/Berlin")  # 02:00 -> 03:00 on 2026-03-29
    assert cal.between(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == 2 * H
    assert cal.between(local(BERLIN, 2026, 3, 22), local(BERLIN, 2026, 3, 23)) == 3 * H
    assert cal.add(local(BERLIN, 2026, 3, 29, 1, 30), H) == local(BERLIN, 2026, 3, 29, 3, 30)
    gap_only = calendar({"sun": [["02:00", "03:00"]]}, "Europe/Berlin")
    assert gap_only.between(local(BERLIN, 2026, 3, 29), local(BERLIN, 2026, 3, 30)) == timedelta(0)
    assert gap_only.next_open(local(BERLIN, 2026, 3, 29)) == local(BERLIN, 2026, 4, 5, 2)


def test_the_repeated_fall_back_hour_counts_twice():
    cal = calendar({"sun": [["01:00", "04:00"]]}, "Europe/Berlin")  # 03:00 -> 02:00 on 2026-10-25
    assert cal.between(local(BERLIN, 2026, 10, 25), local(BERLIN, 2026, 10, 26)) == 4 * H
    first_0230 = local(BERLIN, 2026, 10, 25, 2, 30)
    # (an aware datetime with fold=1 never equals one in another zone: compare in UTC)
    assert cal.add(local(BERLIN, 2026, 10, 25, 1, 30), 2 * H) == first_0230.replace(fold=1).astimezone(UTC)
    assert cal.add(local(BERLIN, 2026, 10, 25, 1, 30), 2 * H) - first_0230 == H


def test_brazil_date_that_starts_at_one_in_the_morning():
    cal = calendar({"sat": [["20:00", "24:00"]], "sun": [["00:00", "02:00"]]}, "America/Sao_Paulo")
    # 2018-11-04: clocks jump from 00:00 to 01:00, so Sunday has only 01:00-02:00
    sunday = datetime(2018, 11, 4, 3, 0, tzinfo=UTC)  # 01:00 local, the first instant of the date
    assert sunday.astimezone(SAO_PAULO).hour == 1
    assert cal.between(local(SAO_PAULO, 2018, 11, 3, 12), local(SAO_PAULO, 2018, 11, 4, 12)) == 5 * H
    assert cal.add(local(SAO_PAULO, 2018, 11, 3, 23, 30), H) == sunday + 30 * MIN
    assert cal.next_open(local(SAO_PAULO, 2018, 11, 3, 12)) == local(SAO_PAULO, 2018, 11, 3, 20)


def test_a_fall_back_across_midnight_splits_a_date_and_still_counts_it():
    # St. John's, 2009-11-01 00:01 -> 2009-10-31 23:01: the date 1 Nov begins, then 31 Oct
    # returns for 59 minutes (across both a local and a UTC month boundary)
    cal = calendar(ALL_DAY, "America/St_Johns")
    oct31, nov1, nov2 = (local(ST_JOHNS, 2009, m, d) for m, d in ((10, 31), (11, 1), (11, 2)))
    assert cal.between(oct31, nov2) == 49 * H
    only_saturday = calendar({"sat": [["00:00", "24:00"]]}, "America/St_Johns")
    assert only_saturday.between(oct31, nov2) == 24 * H + 59 * MIN
    assert len(list(only_saturday.periods(oct31, nov2))) == 2
    assert not only_saturday.is_open(datetime(2009, 11, 1, 2, 30, 30, tzinfo=UTC))  # 00:00:30 on 1 Nov


# -- the bugs other engines shipped ------------------------------------------------------------


def test_frappe_helpdesk_2075_ticket_on_a_closed_day_starts_counting_at_the_next_opening():
    cal = calendar(NINE_TO_FIVE, "Asia/Shanghai")
    saturday = local(SHANGHAI, 2026, 6, 6, 10, 15)
    assert not cal.is_open(saturday)
    assert cal.next_open(saturday) == local(SHANGHAI, 2026, 6, 8, 9)
    assert cal.add(saturday, 2 * H) == local(SHANGHAI, 2026, 6, 8, 11)


def test_chatwoot_13392_friday_1630_plus_one_business_hour_is_monday_0930():
    cal = calendar(NINE_TO_FIVE, "America/New_York")
    assert cal.add(local(NEW_YORK, 2026, 5, 29, 16, 30), H) == local(NEW_YORK, 2026, 6, 1, 9, 30)


def test_frappe_helpdesk_3776_deadlines_are_utc_instants_shown_in_any_zone():
    cal = calendar(OFFICE, "Asia/Shanghai")
    raised = local(SHANGHAI, 2026, 6, 1, 17)
    due = cal.add(raised, 2 * H)
    assert due.tzinfo is UTC
    assert due == datetime(2026, 6, 2, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
    for viewer in ("America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata"):
        shown = due.astimezone(ZoneInfo(viewer))
        assert shown == due and shown.astimezone(SHANGHAI).strftime("%a %H:%M") == "Tue 10:00"
        # the same instant given in a viewer's zone gives the same deadline
        assert cal.add(raised.astimezone(ZoneInfo(viewer)), 2 * H) == due


def test_results_do_not_depend_on_the_server_time_zone():
    spec = {"timezone": "Europe/Berlin", "weekly": OFFICE, "holidays": ["2026-10-26"],
            "overrides": {"2026-10-25": [["00:00", "24:00"]]}, "closures": [["2026-10-27T09:00", "2026-10-27T10:00"]]}
    start = local(BERLIN, 2026, 10, 23, 15)

    def battery():
        cal = BusinessCalendar.from_spec(spec)
        return (cal.add(start, 20 * H), cal.between(start, start + timedelta(days=9)), cal.next_open(start + timedelta(days=1)),
                cal.is_open(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)), list(cal.periods(start, start + timedelta(days=5))))

    baseline = battery()
    saved = os.environ.get("TZ")
    try:
        for server_zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati", "Europe/Berlin"):
            os.environ["TZ"] = server_zone
            time.tzset()
            assert battery() == baseline, server_zone
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


# -- the spec ---------------------------------------------------------------------------------


def test_to_spec_is_normalised_and_round_trips():
    cal = calendar({"fri": [["13:00", "17:00"], ["08:00", "12:00"]], "mon": []}, "Asia/Shanghai",
                   holidays=["2026-10-02", "2026-10-01", "2026-10-01"], overrides={"2026-10-10": [["09:00", "24:00"]]})
    spec = cal.to_spec()
    assert spec == {
        "timezone": "Asia/Shanghai",
        "weekly": {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [], "sun": []},
        "holidays": ["2026-10-01", "2026-10-02"],
        "overrides": {"2026-10-10": [["09:00", "24:00"]]},
        "closures": [],
    }
    again = BusinessCalendar.from_spec(spec)
    assert again == cal and hash(again) == hash(cal) and again.to_spec() == spec
    assert cal != calendar({"fri": [["08:00", "12:00"]]}, "Asia/Shanghai")
    spec["holidays"].append("2030-01-01")  # a copy: the calendar is immutable
    assert cal.to_spec()["holidays"] == ["2026-10-01", "2026-10-02"]
    assert cal.timezone == SHANGHAI


OK = {"timezone": "UTC", "weekly": {}}


@pytest.mark.parametrize("spec, field", [
    ([], "spec"),
    ({**OK, "weekley": {}}, "spec"),
    ({"weekly": {}}, "timezone"),
    ({"timezone": "UTC"}, "weekly"),
    ({**OK, "timezone": "Asia/Shangai"}, "timezone"),
    ({**OK, "timezone": "localtime"}, "timezone"),
    ({**OK, "timezone": "../etc/passwd"}, "timezone"),
    ({**OK, "timezone": 8}, "timezone"),
    ({**OK, "weekly": []}, "weekly"),
    ({**OK, "weekly": {"monday": []}}, "weekly"),
    ({**OK, "weekly": {"mon": "09:00-18:00"}}, "weekly.mon"),
    ({**OK, "weekly": {"mon": [["9:00", "12:00"]]}}, "weekly.mon[0]"),
    ({**OK, "weekly": {"mon": [["09:00", "12:60"]]}}, "weekly.mon[0]"),
    ({**OK, "weekly": {"mon": [["\u0660\u0669:00", "12:00"]]}}, "weekly.mon[0]"),  # Arabic-Indic digits
    ({**OK, "weekly": {"mon": [["24:00", "24:00"]]}}, "weekly.mon[0]"),
    ({**OK, "weekly": {"tue": [["08:00", "09:00"], ["12:00", "09:00"]]}}, "weekly.tue[1]"),
    ({**OK, "weekly": {"mon": [["09:00", "09:00"]]}}, "weekly.mon[0]"),
    ({**OK, "weekly": {"mon": [["09:00", "12:00", "13:00"]]}}, "weekly.mon[0]"),
    ({**OK, "weekly": {"mon": [["13:00", "18:00"], ["09:00", "13:30"]]}}, "weekly.mon"),
    ({**OK, "weekly": {"mon": [[f"{h:02d}:00", f"{h:02d}:30"] for h in range(MAX_PERIODS_PER_DAY + 1)]}}, "weekly.mon"),
    ({**OK, "holidays": "2026-10-01"}, "holidays"),
    ({**OK, "holidays": ["2026-10-01", "2026-02-30"]}, "holidays[1]"),
    ({**OK, "holidays": ["2026-1-1"]}, "holidays[0]"),
    ({**OK, "holidays": ["1800-01-01"]}, "holidays[0]"),
    ({**OK, "holidays": [20261001]}, "holidays[0]"),
    ({**OK, "overrides": []}, "overrides"),
    ({**OK, "overrides": {"2026-13-01": []}}, "overrides"),
    ({**OK, "overrides": {"2026-10-10": [["09:00"]]}}, "overrides.2026-10-10[0]"),
    ({**OK, "overrides": {"2026-10-10": None}}, "overrides.2026-10-10"),
    ({**OK, "closures": [["2026-10-01T12:00", "2026-10-01T09:00"]]}, "closures[0]"),
    ({**OK, "closures": [["2026-10-01 09:00", "2026-10-01T12:00"]]}, "closures[0]"),
    ({**OK, "closures": [["2026-10-01T09:00"]]}, "closures[0]"),
    ({**OK, "closures": [["2026-10-01T09:00", "2026-10-01T24:00"]]}, "closures[0]"),
    ({**OK, "holidays": ["2026-01-01"] * 5001}, "holidays"),
    ({"always": True, "timezone": "UTC"}, "always"),
    ({"always": False}, "always"),
])
def test_bad_specs_name_the_bad_field(spec, field):
    with pytest.raises(CalendarSpecError) as caught:
        BusinessCalendar.from_spec(spec)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert isinstance(caught.value, ValueError)


# -- properties over random calendars ---------------------------------------------------------

# (zone, date) near which random calendars and instants are drawn: DST changes (Brazil's at
# midnight, St. John's across midnight, Lord Howe's half hour), Samoa's skipped 30 Dec 2011,
# and ordinary dates, including month and year ends
FOCUS = [
    ("Europe/Berlin", date(2026, 3, 29)), ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)), ("America/New_York", date(2026, 11, 1)),
    ("America/Sao_Paulo", date(2018, 11, 4)), ("America/Sao_Paulo", date(2018, 2, 17)),
    ("America/St_Johns", date(2009, 11, 1)), ("America/St_Johns", date(2009, 3, 8)),
    ("Australia/Lord_Howe", date(2026, 4, 5)), ("Australia/Lord_Howe", date(2026, 10, 4)),
    ("Pacific/Apia", date(2011, 12, 30)), ("UTC", date(2026, 6, 15)), ("Asia/Shanghai", date(2026, 10, 1)),
    ("Asia/Kolkata", date(2026, 12, 31)), ("Asia/Shanghai", date(2027, 2, 28)),
]


def hhmm(quarters: int) -> str:
    return f"{quarters // 4:02d}:{quarters % 4 * 15:02d}"


@st.composite
def day_periods(draw):
    edges = sorted(draw(st.sets(st.integers(0, 96), max_size=2 * 3)))
    return [[hhmm(a), hhmm(b)] for a, b in zip(edges[::2], edges[1::2])]


@st.composite
def specs(draw):
    zone, focus = draw(st.sampled_from(FOCUS))
    nearby = st.integers(-12, 12).map(lambda n: (focus + timedelta(days=n)).isoformat())
    spec = {
        "timezone": zone,
        "weekly": draw(st.dictionaries(st.sampled_from(WEEKDAYS), day_periods(), max_size=7)),
        "holidays": draw(st.lists(nearby, max_size=4)),
        "overrides": draw(st.dictionaries(nearby, day_periods(), max_size=3)),
    }
    closures = []
    for _ in range(draw(st.integers(0, 2))):
        start = datetime.combine(focus, datetime.min.time()) + timedelta(minutes=15 * draw(st.integers(-300, 300)))
        end = start + timedelta(minutes=15 * draw(st.integers(1, 200)))
        closures.append([start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")])
    spec["closures"] = closures
    return spec, focus


def instants(focus: date, *, minutes_only: bool = False):
    base = datetime.combine(focus, datetime.min.time(), UTC)
    if minutes_only:
        return st.integers(-4 * 1440, 4 * 1440).map(lambda n: base + n * MIN)
    return st.integers(-4 * 86_400_000_000, 4 * 86_400_000_000).map(lambda n: base + n * US)


def oracle_between(spec, a: datetime, b: datetime) -> timedelta:
    """Working minutes in [a, b) (both on whole UTC minutes), read straight from the spec: the
    minute starting at t works when its local time is in a period of its local date. Every
    zone here has whole-minute offsets changing on whole minutes, so minutes are exact."""
    zone = ZoneInfo(spec["timezone"])
    worked, t = 0, a
    while t < b:
        wall = t.astimezone(zone)
        day, clock = wall.date().isoformat(), wall.strftime("%H:%M")
        periods = spec["overrides"].get(day)
        if periods is None:
            periods = [] if day in spec["holidays"] else spec["weekly"].get(WEEKDAYS[wall.weekday()], [])
        stamp = f"{day}T{clock}"
        if any(s <= clock < e for s, e in periods) and not any(s <= stamp < e for s, e in spec["closures"]):
            worked += 1
        t += MIN
    return worked * MIN


@st.composite
def calendar_and_span(draw):
    spec, focus = draw(specs())
    a = draw(instants(focus, minutes_only=True))
    return spec, a, a + draw(st.integers(0, 2 * 1440)) * MIN


@settings(max_examples=150, deadline=None)
@given(calendar_and_span())
def test_between_matches_the_minute_by_minute_oracle(case):
    spec, a, b = case
    cal = BusinessCalendar.from_spec(spec)
    assert cal.between(a, b) == oracle_between(spec, a, b)


@st.composite
def calendar_start_duration(draw):
    spec, focus = draw(specs())
    return spec, draw(instants(focus)), draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)))


@settings(max_examples=200, deadline=None)
@given(calendar_start_duration())
def test_add_is_the_earliest_instant_with_that_much_business_time(case):
    spec, start, duration = case
    cal = BusinessCalendar.from_spec(spec)
    try:
        due = cal.add(start, duration)
    except CalendarNeverOpen:
        # only a calendar without weekly hours runs out, and then it really has too little
        assert not any(spec["weekly"].values())
        assert cal.between(start, datetime(2030, 1, 1, tzinfo=UTC)) < duration
        return
    assert due.tzinfo is UTC and due >= start
    assert cal.between(start, due) == duration
    if duration:
        assert cal.between(start, due - US) == duration - US  # working time just occurred
        assert cal.is_open(due - US)
    else:
        assert due == start


@st.composite
def calendar_and_three_instants(draw):
    spec, focus = draw(specs())
    a, b, c = sorted(draw(st.lists(instants(focus), min_size=3, max_size=3)))
    return spec, a, b, c


@settings(max_examples=200, deadline=None)
@given(calendar_and_three_instants())
def test_between_is_additive_monotone_and_bounded_by_elapsed_time(case):
    spec, a, b, c = case
    cal = BusinessCalendar.from_spec(spec)
    ab, bc, ac = cal.between(a, b), cal.between(b, c), cal.between(a, c)
    assert ab + bc == ac
    assert timedelta(0) <= ab <= ac and bc <= ac
    assert ac <= c - a
    assert cal.between(c, a) == timedelta(0)
    assert sum((end - start for start, end in cal.periods(a, c)), timedelta(0)) == ac


@settings(max_examples=150, deadline=None)
@given(calendar_and_span())
def test_is_open_next_open_and_periods_agree(case):
    spec, a, b = case
    cal = BusinessCalendar.from_spec(spec)
    spans = list(cal.periods(a, b))
    for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
        assert s1 < e1 < s2 < e2  # ordered, disjoint, maximal
    for start, end in spans:
        assert cal.is_open(start) and cal.is_open(end - US) and cal.between(start, end) == end - start
        assert not cal.is_open(start - US) or start == a
    if any(spec["weekly"].values()) or cal.between(a, b):
        opened = cal.next_open(a)
        assert cal.is_open(opened) and cal.between(a, opened) == timedelta(0)
        assert spans == [] or opened == spans[0][0]
