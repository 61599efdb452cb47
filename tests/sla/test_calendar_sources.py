"""Calendars seeded from the holidays package (China's Golden Week and make-up working days,
provisional years) and closures imported from iCalendar feeds."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.sla.calendar import BusinessCalendar, CalendarSpecError, closures_from_ical, holiday_spec

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
OFFICE = {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}  # 8 h


def at(*fields) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def china_2026():
    return holiday_spec("CN", [2026], timezone="Asia/Shanghai", weekly=OFFICE)


# -- the holidays package ---------------------------------------------------------------------


def test_china_2026_holidays_and_official_make_up_working_days(china_2026):
    spec, report = china_2026
    assert report["provisional_years"] == [] and report["provisional"] == {}
    # the State Council's 2026 schedule: six weekend days are working days (and nothing from
    # other years leaks in: the package also lists cross-year make-up days such as 2001-12-29)
    assert report["makeup_days"] == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    assert spec["overrides"] == {day: [["09:00", "12:00"], ["13:00", "18:00"]] for day in report["makeup_days"]}
    golden_week = [f"2026-10-0{d}" for d in (1, 2, 3, 5, 6, 7)]  # the 4th is a Sunday anyway
    assert set(golden_week) <= set(spec["holidays"])
    assert "2026-10-08" not in spec["holidays"] and "2026-09-30" not in spec["holidays"]
    assert report["holidays"]["2026-10-01"] == "国庆节"  # the country's language, not the server locale's
    assert set(report["holidays"]) == set(spec["holidays"])


def test_golden_week_ticket_is_due_after_the_holiday(china_2026):
    cal = BusinessCalendar.from_spec(china_2026[0])
    # Wednesday 30 Sep 17:00 + 8 h: one hour that day, closed 1-7 Oct, seven on Thursday 8 Oct
    due = cal.add(at(2026, 9, 30, 17), 8 * H)
    assert due == at(2026, 10, 8, 17) and due.tzinfo is UTC
    assert cal.between(at(2026, 9, 30, 17), at(2026, 10, 8, 9)) == H


def test_make_up_weekend_days_count(china_2026):
    cal = BusinessCalendar.from_spec(china_2026[0])
    # Friday 9 Oct 17:00 + 2 h: the make-up Saturday 10 Oct works
    assert cal.add(at(2026, 10, 9, 17), 2 * H) == at(2026, 10, 10, 10)
    # a ticket on Saturday 19 Sep starts counting on the make-up Sunday 20 Sep
    assert cal.next_open(at(2026, 9, 19, 12)) == at(2026, 9, 20, 9)
    assert cal.between(at(2026, 9, 14), at(2026, 9, 21)) == 6 * 8 * H
    assert cal.between(at(2026, 10, 5), at(2026, 10, 12)) == 3 * 8 * H  # Thu, Fri, Sat


def test_years_without_official_data_are_provisional_and_reported():
    spec, report = holiday_spec("CN", [2030, 2026], timezone="Asia/Shanghai", weekly=OFFICE)
    assert report["years"] == [2026, 2030]
    assert report["provisional_years"] == [2030]
    reason = report["provisional"]["2030"]
    assert "2030" in reason and "make-up working days are unknown" in reason and "2026" in reason
    assert not [day for day in report["makeup_days"] if day.startswith("2030")]
    assert "2030-10-01" in spec["holidays"]  # the statutory dates are still there, flagged


def test_a_year_outside_the_package_data_is_provisional():
    spec, report = holiday_spec("CN", [1949], timezone="Asia/Shanghai", weekly=OFFICE)
    assert report["provisional_years"] == [1949]
    assert "no CN data for 1949" in report["provisional"]["1949"]
    assert spec["holidays"] == [] and spec["overrides"] == {}


def test_estimated_dates_make_a_year_provisional():
    weekly = {day: [["08:00", "16:00"]] for day in ("sun", "mon", "tue", "wed", "thu")}
    _, report = holiday_spec("SA", [2024, 2026, 2080], timezone="Asia/Riyadh", weekly=weekly, language="en_US")
    # Saudi Arabia announces its Islamic holidays by moon sighting: the package has the actual
    # dates for past years only, and estimates 2026 as much as 2080
    assert report["provisional_years"] == [2026, 2080]
    assert report["provisional"]["2080"].startswith("estimated dates: 2080-")
    assert "Eid al-Fitr Holiday (estimated)" in report["provisional"]["2026"]


def test_make_up_hours_and_language_can_be_given():
    spec, report = holiday_spec("CN", [2026], timezone="Asia/Shanghai", weekly=OFFICE, makeup_hours=[["10:00", "16:00"]],
                                language="en_US")
    assert spec["overrides"]["2026-10-10"] == [["10:00", "16:00"]]
    assert report["holidays"]["2026-10-01"] == "National Day"


@pytest.mark.parametrize("kwargs, field", [
    ({"country": "XX"}, "country"),
    ({"years": []}, "years"),
    ({"years": [2026.0]}, "years"),
    ({"subdiv": "NOPE"}, "subdiv"),
    ({"weekly": {"sat": [["09:00", "12:00"]]}}, "makeup_hours"),
    ({"makeup_hours": [["18:00", "09:00"]]}, "makeup_hours[0]"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"language": "xx_XX"}, "language"),
    ({"weekly": {"mon": [["09:00", "25:00"]]}}, "weekly.mon[0]"),
])
def test_bad_seeding_arguments(kwargs, field):
    arguments = {"country": "CN", "years": [2026], "timezone": "Asia/Shanghai", "weekly": OFFICE, **kwargs}
    with pytest.raises(CalendarSpecError) as caught:
        holiday_spec(arguments.pop("country"), arguments.pop("years"), **arguments)
    assert caught.value.field == field


# -- iCalendar --------------------------------------------------------------------------------


def feed(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//huifang//test//EN\r\n{body}END:VCALENDAR\r\n"


def lines(*items: str) -> str:
    return "\r\n".join(items)


NATIONAL_DAY = lines("UID:national", "SUMMARY:National Day", "DTSTART;VALUE=DATE:20201001", "DTEND;VALUE=DATE:20201004",
                     "RRULE:FREQ=YEARLY")
MOTHERS_DAY = lines("UID:mothers", "SUMMARY:Mother's Day", "DTSTART;VALUE=DATE:20260510", "TRANSP:TRANSPARENT")
TRAINING = lines("UID:training", "SUMMARY:Training", "DTSTART;TZID=Europe/Berlin:20261102T090000",
                 "DTEND;TZID=Europe/Berlin:20261102T103000")


def test_zammad_390_observances_that_are_not_days_off_do_not_close_time():
    observance = lines("UID:teachers", "SUMMARY:Teachers' Day", "DTSTART;VALUE=DATE:20260910", "TRANSP:TRANSPARENT")
    day_off = lines("UID:dragon", "SUMMARY:Dragon Boat Festival", "DTSTART;VALUE=DATE:20260619", "TRANSP:OPAQUE")
    fragment, report = closures_from_ical(feed(observance, day_off), date(2026, 1, 1), date(2027, 1, 1), "Asia/Shanghai")
    assert fragment == {"holidays": ["2026-06-19"], "closures": []}
    assert [(s["summary"], s["start"]) for s in report["skipped"]] == [("Teachers' Day", "2026-09-10")]
    assert "TRANSPARENT" in report["skipped"][0]["reason"]
    cal = BusinessCalendar.from_spec({"timezone": "Asia/Shanghai", "weekly": OFFICE, **fragment})
    assert cal.between(at(2026, 9, 10), at(2026, 9, 11)) == 8 * H  # Thursday: open
    assert cal.between(at(2026, 6, 19), at(2026, 6, 20)) == timedelta(0)  # Friday: closed


def test_zammad_1362_a_yearly_recurring_holiday_applies_every_year():
    fragment, report = closures_from_ical(feed(NATIONAL_DAY), date(2026, 1, 1), date(2029, 1, 1), "Asia/Shanghai")
    assert fragment["holidays"] == [f"{year}-10-0{d}" for year in (2026, 2027, 2028) for d in (1, 2, 3)]
    assert report["events"] == 3 and report["skipped"] == []
    cal = BusinessCalendar.from_spec({"timezone": "Asia/Shanghai", "weekly": OFFICE, **fragment})
    assert cal.between(at(2028, 10, 2), at(2028, 10, 3)) == timedelta(0)  # a Monday, 8 years after DTSTART


def test_recurrence_exceptions_are_respected():
    skipped_2027 = NATIONAL_DAY + "\r\nEXDATE;VALUE=DATE:20271001"
    fragment, _ = closures_from_ical(feed(skipped_2027), date(2026, 1, 1), date(2028, 1, 1), "Asia/Shanghai")
    assert fragment["holidays"] == ["2026-10-01", "2026-10-02", "2026-10-03"]


def test_all_day_events_are_clipped_to_the_range():
    fragment, _ = closures_from_ical(feed(NATIONAL_DAY), date(2026, 10, 2), date(2026, 10, 3), "Asia/Shanghai")
    assert fragment["holidays"] == ["2026-10-02"]


def test_timed_events_become_closures_in_the_calendar_zone():
    fragment, report = closures_from_ical(feed(TRAINING), date(2026, 11, 1), date(2026, 12, 1), "Asia/Shanghai")
    # 09:00-10:30 in Berlin (CET, +01:00) is 16:00-17:30 in Shanghai
    assert fragment == {"holidays": [], "closures": [["2026-11-02T16:00", "2026-11-02T17:30"]]}
    assert report["closures"] == 1
    cal = BusinessCalendar.from_spec({"timezone": "Asia/Shanghai", "weekly": OFFICE, **fragment})
    assert cal.between(at(2026, 11, 2), at(2026, 11, 3)) == 6.5 * H
    assert cal.add(at(2026, 11, 2, 15, 30), H) == at(2026, 11, 2, 18, 0)


def test_floating_times_are_read_in_the_calendar_zone_and_widened_to_whole_minutes():
    floating = lines("UID:f", "SUMMARY:Stocktake", "DTSTART:20261103T140010", "DURATION:PT1H")
    fragment, _ = closures_from_ical(feed(floating), date(2026, 11, 1), date(2026, 12, 1), ZoneInfo("Asia/Shanghai"))
    assert fragment["closures"] == [["2026-11-03T14:00", "2026-11-03T15:01"]]


def test_cancelled_and_zero_length_events_are_skipped_with_a_reason():
    cancelled = lines("UID:c", "SUMMARY:Offsite", "DTSTART;VALUE=DATE:20261104", "STATUS:CANCELLED")
    instant = lines("UID:z", "SUMMARY:Reminder", "DTSTART:20261105T010000Z")
    fragment, report = closures_from_ical(feed(cancelled, instant, MOTHERS_DAY), date(2026, 1, 1), date(2027, 1, 1), "UTC")
    assert fragment == {"holidays": [], "closures": []}
    assert {s["uid"]: s["reason"] for s in report["skipped"]} == {
        "c": "STATUS:CANCELLED", "z": "zero length", "mothers": "TRANSP:TRANSPARENT: free time (an observance), not a closure"}


@pytest.mark.parametrize("data", [
    b"not a calendar",
    b"",
    feed(lines("UID:x", "DTSTART:2026xx")),
    feed(lines("UID:x", "DTSTART:20260101T000000", "RRULE:FREQ=SOMETIMES")),
    "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;VALUE=DATE:20260101\r\nEND:VEVENT\r\n",
    12345,
])
def test_malformed_ical_is_a_spec_error(data):
    with pytest.raises(CalendarSpecError) as caught:
        closures_from_ical(data, date(2026, 1, 1), date(2027, 1, 1), "UTC")
    assert caught.value.field == "ical"


@pytest.mark.parametrize("start, end, tz, field", [
    (date(2026, 1, 1), date(2026, 1, 1), "UTC", "end"),
    (date(2026, 1, 1), date(2040, 1, 1), "UTC", "end"),
    (datetime(2026, 1, 1, tzinfo=UTC), date(2027, 1, 1), "UTC", "start"),
    (date(2026, 1, 1), date(2027, 1, 1), "Nowhere/Land", "tz"),
    (date(1800, 1, 1), date(1801, 1, 1), "UTC", "start"),
])
def test_bad_ical_ranges(start, end, tz, field):
    with pytest.raises(CalendarSpecError) as caught:
        closures_from_ical(feed(NATIONAL_DAY), start, end, tz)
    assert caught.value.field == field
