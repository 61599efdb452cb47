"""Business calendars: when a brand (later, a dealer) is working, and deadlines counted in it.

The model
---------
A calendar is a time zone plus *periods* of local wall-clock time, written as a JSON-able spec::

    {
        "timezone": "Asia/Shanghai",
        "weekly": {"mon": [["09:00", "12:00"], ["13:30", "18:00"]], ..., "sat": [["09:00", "12:00"]]},
        "holidays": ["2026-10-01", ...],
        "overrides": {"2026-10-10": [["09:00", "18:00"]]},
        "closures": [["2026-11-03T14:00", "2026-11-03T16:00"]],
    }

* ``weekly``: for each weekday ``mon`` … ``sun``, at most ``MAX_PERIODS_PER_DAY`` half-open
  periods ``["HH:MM", "HH:MM"]`` (``"24:00"`` may end one). A weekday that is missing or ``[]``
  is closed. Lunch breaks are gaps between periods; a night shift is two periods on consecutive
  days (``mon: [["22:00", "24:00"]]`` and ``tue: [["00:00", "06:00"]]``).
* ``holidays``: local dates closed all day.
* ``overrides``: local dates that use their own periods instead of the weekday's; ``[]`` closes
  the date. An override wins over the weekday and over a holiday; it is how China's make-up
  working days (调休: a Saturday or Sunday that is a working day) are written.
* ``closures``: half-open local wall-time ranges ``["YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM"]``
  taken out of whatever the date's periods are (a training afternoon, a timed event imported
  from iCalendar). They may span dates and may overlap; they are merged. Being wall time, a
  closure inside a repeated fall-back hour closes both occurrences of it.
* ``{"always": true}`` (``BusinessCalendar.always()``) is the 24×7 calendar: UTC with every day
  open, so business time is exactly the real elapsed time.

An instant is working time when its local time falls in one of the periods of its local date
(and in no closure). That one rule settles daylight saving time: a period across a spring-forward
gap loses the hour that does not exist (01:00–04:00 over 02:00→03:00 is 2 hours), a fall-back
hour happens twice and counts twice (00:00–24:00 on that date is 25 hours), and a date that
begins at 01:00 (Brazil's midnight transitions) has no 00:00–01:00 to count. Business time is
real elapsed time inside working time, so a calendar open around the clock counts exactly the
elapsed time, and ``between(a, b) <= b - a`` always.

Instants are aware ``datetime`` objects in any zone (naive input raises ``ValueError``);
``add`` and ``next_open`` return aware UTC; nothing reads the server's time zone or clock.
Supported instants and dates lie in the years ``FIRST_YEAR`` … ``LAST_YEAR``.

The engine
----------
Working time is materialised lazily, one UTC calendar month at a time, as sorted UTC intervals
(µs since the epoch) with running totals; each calendar keeps the last ``CACHED_MONTHS`` months.
``between`` and ``add`` are then two bisections plus one step per month crossed, whatever the
span. A month is built by finding the zone's UTC-offset changes inside it (probed every 6
hours and bisected to the second: tzdb has no two offset changes within a day of each other)
and mapping every local date that can reach into the month through each constant-offset
stretch. Blocks are UTC months rather than local ones because a fall-back can cross local
midnight (St. John's moved clocks from 00:01 back to 23:01 until 2010), so the instants of
adjacent local dates may interleave; UTC months partition time whatever the zone does.
Calendars may be shared between threads (a race only builds a month twice).

Searching forward for working time (``add``, ``next_open``) needs no arbitrary horizon: past
the last dated entry only the weekly hours apply, so with weekly hours the search always ends
(it is bounded by ``LAST_YEAR``), and without them working time ends with the last date an
override opens. A search past that raises ``CalendarNeverOpen`` at once, however far in the
future that override is, instead of looping or giving up after a guessed number of years.

Seeding
-------
``holiday_spec`` builds a spec from the ``holidays`` package (public holidays closed; official
make-up working days, where the country has them, as overrides) and reports every year whose
data is not official. ``closures_from_ical`` turns an iCalendar feed into ``holidays`` (all-day
events) and ``closures`` (timed events), skipping free-time (``TRANSP:TRANSPARENT``) and
cancelled events and reporting why. Both packages are imported on use: the calendar itself
needs only the standard library.
"""
from __future__ import annotations

import functools
import inspect
import json
import re
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "CACHED_MONTHS",
    "FIRST_YEAR",
    "LAST_YEAR",
    "MAX_DATED_ENTRIES",
    "MAX_ICAL_DAYS",
    "MAX_PERIODS_PER_DAY",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarNeverOpen",
    "CalendarSpecError",
    "closures_from_ical",
    "holiday_spec",
]

MAX_PERIODS_PER_DAY = 6
MAX_DATED_ENTRIES = 5000  # per list: holidays, overrides, closures (13 years of daily entries)
FIRST_YEAR, LAST_YEAR = 1900, 2999
CACHED_MONTHS = 120
MAX_ICAL_DAYS = 3660  # the longest range closures_from_ical expands recurrences over

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC_KEYS = ("timezone", "weekly", "holidays", "overrides", "closures")

_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_DAY = 86_400 * _SECOND
_US = timedelta(microseconds=1)
_ZERO = timedelta(0)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_FIRST_MONTH, _LAST_MONTH = FIRST_YEAR * 12, LAST_YEAR * 12 + 11
_MIN_US = (date(FIRST_YEAR, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY
_MAX_US = (date(LAST_YEAR + 1, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY
_PROBE_SECONDS = 6 * 3600

_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})T((?:[01][0-9]|2[0-3]):[0-5][0-9])")
# Not time zones a brand can be in: the server's own zone, a tzdb build artefact, "-00".
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


class CalendarSpecError(ValueError):
    """A calendar spec (or a source it is built from) is invalid; `field` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CalendarNeverOpen(ValueError):
    """The calendar has no (or not enough) working time after the given instant."""


# ---------------------------------------------------------------------------------------------
# Spec parsing: JSON values in, normalised tuples out (periods as µs since local midnight,
# dates as `date`, closures as µs of local wall time since 1970-01-01 00:00).


@functools.cache
def _zone_keys() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def _zone(value: Any, field: str = "timezone") -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        value = value.key
    if not isinstance(value, str) or value not in _zone_keys():
        raise CalendarSpecError(field, f"unknown time zone {value!r} (use an IANA name such as 'Asia/Shanghai')")
    return ZoneInfo(value)


def _time(value: Any, field: str, *, end: bool) -> int:
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise CalendarSpecError(field, f"{value!r} is not a time HH:MM (00:00 to 23:59, or 24:00 as an end)")
    if value == "24:00" and not end:
        raise CalendarSpecError(field, "24:00 can only end a period")
    return (int(value[:2]) * 60 + int(value[3:])) * _MINUTE


def _periods(value: Any, field: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, (list, tuple)):
        raise CalendarSpecError(field, 'expected a list of periods [["HH:MM", "HH:MM"], ...]')
    if len(value) > MAX_PERIODS_PER_DAY:
        raise CalendarSpecError(field, f"{len(value)} periods; at most {MAX_PERIODS_PER_DAY} a day")
    periods = []
    for i, period in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(period, (list, tuple)) or len(period) != 2:
            raise CalendarSpecError(where, f'{period!r} is not a period ["HH:MM", "HH:MM"]')
        start, end = _time(period[0], where, end=False), _time(period[1], where, end=True)
        if start >= end:
            raise CalendarSpecError(where, f"start {period[0]} is not before end {period[1]}")
        periods.append((start, end))
    periods.sort()
    for (s1, e1), (s2, e2) in zip(periods, periods[1:]):
        if s2 < e1:
            raise CalendarSpecError(field, f"periods {_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)} overlap")
    return tuple(periods)


def _date(value: Any, field: str) -> date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if FIRST_YEAR <= day.year <= LAST_YEAR:
                return day
            raise CalendarSpecError(field, f"{value} is outside the supported years {FIRST_YEAR}-{LAST_YEAR}")
    raise CalendarSpecError(field, f"{value!r} is not a date YYYY-MM-DD")


def _local(value: Any, field: str) -> int:
    match = _LOCAL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise CalendarSpecError(field, f"{value!r} is not a local time YYYY-MM-DDTHH:MM")
    return _day_number(_date(match[1], field)) * _DAY + _time(match[2], field, end=False)


def _entries(value: Any, field: str, kind: type) -> Any:
    if not isinstance(value, kind):
        raise CalendarSpecError(field, f"expected {'an object' if kind is Mapping else 'a list'}")
    if len(value) > MAX_DATED_ENTRIES:
        raise CalendarSpecError(field, f"{len(value)} entries; at most {MAX_DATED_ENTRIES}")
    return value


def _weekly(value: Any) -> tuple[tuple[tuple[int, int], ...], ...]:
    if not isinstance(value, Mapping):
        raise CalendarSpecError("weekly", 'expected an object such as {"mon": [["09:00", "18:00"]]}')
    for key in value:
        if key not in WEEKDAYS:
            raise CalendarSpecError("weekly", f"unknown weekday {key!r} (use {', '.join(WEEKDAYS)})")
    return tuple(_periods(value.get(day, ()), f"weekly.{day}") for day in WEEKDAYS)


def _closures(value: Any) -> list[tuple[int, int]]:
    spans = []
    for i, closure in enumerate(_entries(value, "closures", list)):
        where = f"closures[{i}]"
        if not isinstance(closure, (list, tuple)) or len(closure) != 2:
            raise CalendarSpecError(where, f'{closure!r} is not ["YYYY-MM-DDTHH:MM", "YYYY-MM-DDTHH:MM"]')
        start, end = _local(closure[0], where), _local(closure[1], where)
        if start >= end:
            raise CalendarSpecError(where, f"start {closure[0]} is not before end {closure[1]}")
        spans.append((start, end))
    return _merge(spans)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of half-open spans, touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _hhmm(us: int) -> str:
    minutes = us // _MINUTE
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _local_text(us: int) -> str:
    return f"{_day(us // _DAY).isoformat()}T{_hhmm(us % _DAY)}"


def _day_number(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


def _day(number: int) -> date:
    return date.fromordinal(number + _EPOCH_ORDINAL)


# ---------------------------------------------------------------------------------------------
# Instants: aware datetimes in, µs since the epoch (UTC) inside, aware UTC out.


def _instant(value: Any, name: str) -> int:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime; {value.isoformat()} has no time zone")
    us = (value - _EPOCH) // _US
    if not _MIN_US <= us < _MAX_US:
        raise ValueError(f"{name} {value.isoformat()} is outside the supported years {FIRST_YEAR}-{LAST_YEAR}")
    return us


def _utc(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _duration(value: Any) -> int:
    if not isinstance(value, timedelta):
        raise TypeError(f"duration must be a timedelta, not {type(value).__name__}")
    if value < _ZERO:
        raise ValueError(f"duration must not be negative, got {value}")
    return value // _US


def _month_of(us: int) -> int:
    """The UTC calendar month holding `us`, as year * 12 + month - 1."""
    day = _day(us // _DAY)
    return day.year * 12 + day.month - 1


def _month_start(month: int) -> int:
    return _day_number(date(month // 12, month % 12 + 1, 1)) * _DAY


def _offset(tz: ZoneInfo, second: int) -> int:
    """The zone's UTC offset (µs) at `second` since the epoch."""
    return (_EPOCH + timedelta(seconds=second)).astimezone(tz).utcoffset() // _US


@functools.lru_cache(maxsize=4096)
def _offset_stretches(tz: ZoneInfo, month: int) -> tuple[tuple[int, int, int], ...]:
    """(start, end, offset) in µs covering the UTC month, the offset constant in each stretch.

    Shared by every calendar in the zone. Offsets are probed every 6 hours and a change is
    bisected to the second (tzdb offsets change on whole seconds, never twice within a day)."""
    lo, hi = _month_start(month) // _SECOND, _month_start(month + 1) // _SECOND
    stretches = []
    start, offset = lo, _offset(tz, lo)
    probe = lo
    while probe < hi:
        ahead = min(probe + _PROBE_SECONDS, hi)
        while _offset(tz, ahead) != offset:  # a change in (probe, ahead]: find its first second
            before, after = probe, ahead
            while after - before > 1:
                middle = (before + after) // 2
                if _offset(tz, middle) == offset:
                    before = middle
                else:
                    after = middle
            stretches.append((start * _SECOND, after * _SECOND, offset))
            start, offset, probe = after, _offset(tz, after), after
        probe = ahead
    if start < hi:
        stretches.append((start * _SECOND, hi * _SECOND, offset))
    return tuple(stretches)


class _Month:
    """Working time inside one UTC month: disjoint sorted intervals and running totals."""

    __slots__ = ("starts", "ends", "worked", "total")

    def __init__(self, intervals: list[tuple[int, int]]):
        self.starts = [start for start, _ in intervals]
        self.ends = [end for _, end in intervals]
        self.worked = list(accumulate(end - start for start, end in intervals))  # through each end
        self.total = self.worked[-1] if intervals else 0

    def worked_until(self, us: int) -> int:
        """Working µs of this month before `us`."""
        i = bisect_right(self.starts, us) - 1
        if i < 0:
            return 0
        return self.worked[i] - max(0, self.ends[i] - us)

    def instant_at(self, worked: int) -> int:
        """The earliest instant with `worked` µs of this month behind it (0 < worked <= total)."""
        i = bisect_left(self.worked, worked)
        return self.ends[i] - (self.worked[i] - worked)


_ALWAYS_SPEC = {"timezone": "UTC", "weekly": {day: [["00:00", "24:00"]] for day in WEEKDAYS}}


class BusinessCalendar:
    """Working time of one brand or dealer. Build with `from_spec` or `always`; immutable.

    Equal specs (after normalisation) make equal calendars. Results are cached per UTC month
    inside the instance, so keep one instance per spec rather than rebuilding it per call."""

    def __init__(self, spec: Mapping[str, Any]):
        """Use `BusinessCalendar.from_spec(spec)`; this is the same validation."""
        if not isinstance(spec, Mapping):
            raise CalendarSpecError("spec", f"expected an object, got {type(spec).__name__}")
        self._always = "always" in spec
        if self._always:
            if spec["always"] is not True or len(spec) != 1:
                raise CalendarSpecError("always", 'the 24×7 calendar is exactly {"always": true}')
            spec = _ALWAYS_SPEC
        for key in spec:
            if key not in _SPEC_KEYS:
                raise CalendarSpecError("spec", f"unknown key {key!r} (allowed: always, {', '.join(_SPEC_KEYS)})")
        for key in ("timezone", "weekly"):
            if key not in spec:
                raise CalendarSpecError(key, "required")
        self._tz = _zone(spec["timezone"])
        self._weekly = _weekly(spec["weekly"])
        self._holidays = frozenset(
            _date(value, f"holidays[{i}]") for i, value in enumerate(_entries(spec.get("holidays", []), "holidays", list)))
        self._overrides = {
            _date(key, "overrides"): _periods(value, f"overrides.{key}")
            for key, value in _entries(spec.get("overrides", {}), "overrides", Mapping).items()}
        closures = _closures(spec.get("closures", []))
        self._closure_starts = [start for start, _ in closures]
        self._closure_ends = [end for _, end in closures]
        # Working time after the last date an override opens is weekly time only, so with no
        # weekly hours the search for working time can stop there (None: never needs to stop).
        if any(self._weekly):
            self._last_month: int | None = None
        else:
            opened = [day for day, periods in self._overrides.items() if periods]
            # a local date ends before 00:00 UTC two days later (offsets are under 24 hours)
            self._last_month = _month_of((_day_number(max(opened)) + 2) * _DAY) if opened else _FIRST_MONTH - 1
        self._months: OrderedDict[int, _Month] = OrderedDict()
        self._spec = self._normalised(closures)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> BusinessCalendar:
        """Validate `spec` (see the module docstring) and build its calendar.

        Raises `CalendarSpecError` naming the bad field: unknown key or time zone, unknown
        weekday, malformed "HH:MM" or date, a period that does not start before it ends,
        overlapping periods in a day, more than `MAX_PERIODS_PER_DAY` periods a day, or more
        than `MAX_DATED_ENTRIES` holidays, overrides or closures. Periods may come unsorted."""
        return cls(spec)

    @classmethod
    def always(cls) -> BusinessCalendar:
        """The 24×7 calendar (spec ``{"always": true}``): business time is elapsed time."""
        return cls({"always": True})

    @property
    def timezone(self) -> ZoneInfo:
        return self._tz

    def to_spec(self) -> dict[str, Any]:
        """The normalised JSON-able spec: periods sorted, dates sorted, closures merged, all
        seven weekdays present; `from_spec(cal.to_spec()) == cal`."""
        return json.loads(self._spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BusinessCalendar) and self._spec == other._spec

    def __hash__(self) -> int:
        return hash(self._spec)

    def __repr__(self) -> str:
        if self._always:
            return "BusinessCalendar.always()"
        open_days = [day for day, periods in zip(WEEKDAYS, self._weekly) if periods]
        return (f"<BusinessCalendar {self._tz.key} open {','.join(open_days) or 'never'}; {len(self._holidays)} holidays,"
                f" {len(self._overrides)} overrides, {len(self._closure_starts)} closures>")

    # -- queries ----------------------------------------------------------------------------

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in [a, b); `timedelta(0)` when b <= a."""
        ua, ub = _instant(a, "a"), _instant(b, "b")
        if ub <= ua:
            return _ZERO
        first, last = _month_of(ua), _month_of(ub)
        month = self._month(first)
        if first == last:
            return timedelta(microseconds=month.worked_until(ub) - month.worked_until(ua))
        worked = month.total - month.worked_until(ua)
        for m in range(first + 1, last):
            worked += self._month(m).total
        return timedelta(microseconds=worked + self._month(last).worked_until(ub))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant t >= start with `between(start, t) == duration`, in UTC.

        `add(start, timedelta(0))` is `start` (in UTC) even when closed; a deadline that uses up
        a day's last minute falls at closing time, not at the next opening. Raises ValueError
        for a negative duration and `CalendarNeverOpen` when the calendar has too little
        working time after `start` (only possible without weekly hours)."""
        us, wanted = _instant(start, "start"), _duration(duration)
        if wanted == 0:
            return _utc(us)
        if us + wanted >= _MAX_US:  # business time never outruns elapsed time
            raise ValueError(f"{start.isoformat()} + {duration} of business time is past the year {LAST_YEAR}")
        m = _month_of(us)
        month = self._month(m)
        target = month.worked_until(us) + wanted
        while target > month.total:
            target -= month.total
            m += 1
            month = self._month_searched(m, start)
        return _utc(month.instant_at(target))

    def is_open(self, t: datetime) -> bool:
        """Whether `t` is working time."""
        us = _instant(t, "t")
        month = self._month(_month_of(us))
        i = bisect_right(month.starts, us) - 1
        return i >= 0 and us < month.ends[i]

    def next_open(self, t: datetime) -> datetime:
        """The earliest working instant >= t, in UTC (t itself when open): where a ticket
        raised on a closed day starts counting. Raises `CalendarNeverOpen` if there is none."""
        us = _instant(t, "t")
        m = _month_of(us)
        month = self._month(m)
        i = bisect_right(month.ends, us)
        if i < len(month.ends):
            return _utc(max(month.starts[i], us))
        while True:
            m += 1
            month = self._month_searched(m, t)
            if month.starts:
                return _utc(month.starts[0])

    def periods(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals inside [a, b) as (start, end) in UTC, in order, maximal
        (touching intervals are joined, a night shift across midnight is one interval)."""
        ua, ub = _instant(a, "a"), _instant(b, "b")
        return self._periods(ua, ub)

    def _periods(self, ua: int, ub: int) -> Iterator[tuple[datetime, datetime]]:
        if ua >= ub:
            return
        held: tuple[int, int] | None = None
        for m in range(_month_of(ua), _month_of(ub) + 1):
            month = self._month(m)
            for i in range(bisect_right(month.ends, ua), len(month.ends)):
                start, end = max(month.starts[i], ua), min(month.ends[i], ub)
                if start >= ub:
                    break
                if held and held[1] == start:
                    held = (held[0], end)
                    continue
                if held:
                    yield _utc(held[0]), _utc(held[1])
                held = (start, end)
        if held:
            yield _utc(held[0]), _utc(held[1])

    # -- the engine -------------------------------------------------------------------------

    def _month_searched(self, m: int, start: datetime) -> _Month:
        """The next month of a forward search, which must stop where working time ends."""
        if self._last_month is not None and m > self._last_month:
            if self._last_month < _FIRST_MONTH:
                raise CalendarNeverOpen("the calendar is never open: no weekly hours and no override that opens a date")
            last = max(day for day, periods in self._overrides.items() if periods)
            raise CalendarNeverOpen(f"the calendar has no working time after {last.isoformat()} (no weekly hours);"
                                    f" nothing to count from {start.isoformat()}")
        return self._month(m)

    def _month(self, m: int) -> _Month:
        month = self._months.get(m)
        if month is not None:
            try:
                self._months.move_to_end(m)
            except KeyError:  # evicted by another thread meanwhile: still a valid month
                pass
            return month
        if not _FIRST_MONTH <= m <= _LAST_MONTH:
            raise ValueError(f"business time past the supported years {FIRST_YEAR}-{LAST_YEAR}")
        month = self._months[m] = self._build(m)
        if len(self._months) > CACHED_MONTHS:
            self._months.popitem(last=False)
        return month

    def _build(self, m: int) -> _Month:
        stretches = _offset_stretches(self._tz, m)
        # every local date some instant of this UTC month falls on
        first = min(start + offset for start, _, offset in stretches) // _DAY
        last = (max(end + offset for _, end, offset in stretches) - 1) // _DAY
        intervals = []
        for number in range(first, last + 1):
            for a, b in self._local_spans(number):
                for start, end, offset in stretches:  # local time is utc + offset in a stretch
                    lo, hi = max(start, a - offset), min(end, b - offset)
                    if lo < hi:
                        intervals.append((lo, hi))
        return _Month(_merge(intervals))

    def _local_spans(self, number: int) -> list[tuple[int, int]]:
        """The working spans of local date `number` (days since 1970-01-01), as local µs."""
        day = _day(number)
        periods = self._overrides.get(day)
        if periods is None:
            periods = () if day in self._holidays else self._weekly[day.weekday()]
        midnight = number * _DAY
        spans = [(midnight + start, midnight + end) for start, end in periods]
        if not spans or not self._closure_starts:
            return spans
        i = bisect_right(self._closure_ends, midnight)
        j = bisect_left(self._closure_starts, midnight + _DAY, i)
        if i == j:
            return spans
        cuts = list(zip(self._closure_starts[i:j], self._closure_ends[i:j]))
        kept = []
        for start, end in spans:
            for cut_start, cut_end in cuts:
                if cut_start >= end:
                    break
                if cut_end <= start:
                    continue
                if cut_start > start:
                    kept.append((start, cut_start))
                start = cut_end
                if start >= end:
                    break
            if start < end:
                kept.append((start, end))
        return kept

    def _normalised(self, closures: list[tuple[int, int]]) -> str:
        if self._always:
            spec: dict[str, Any] = {"always": True}
        else:
            spec = {
                "timezone": self._tz.key,
                "weekly": {day: [[_hhmm(s), _hhmm(e)] for s, e in periods] for day, periods in zip(WEEKDAYS, self._weekly)},
                "holidays": sorted(day.isoformat() for day in self._holidays),
                "overrides": {day.isoformat(): [[_hhmm(s), _hhmm(e)] for s, e in periods]
                              for day, periods in sorted(self._overrides.items())},
                "closures": [[_local_text(s), _local_text(e)] for s, e in closures],
            }
        return json.dumps(spec, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Seeding from the `holidays` package.


def holiday_spec(
    country: str,
    years: Iterable[int],
    *,
    timezone: str,
    weekly: Mapping[str, Any],
    subdiv: str | None = None,
    makeup_hours: Sequence[Sequence[str]] | None = None,
    language: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A calendar spec for `country`'s public holidays in `years`, and a report.

    Public holidays (the package's default category) become ``holidays``. Countries that move
    working days (China's 调休; also e.g. Russia, Vietnam) have official make-up working days
    on weekends: they become ``overrides`` with `makeup_hours` (default: the hours of the first
    weekday Monday to Friday that `weekly` opens).

    A year is *provisional* when the package's data for it is not official, and the report says
    why: the year is outside the country's data; the country moves working days but the
    package has no published transfers for that year (China's State Council publishes each
    year's schedule around November; for later years the package only applies its generic
    weekend rule and knows no make-up days); or dates are estimated (lunar or Islamic dates
    the package marks as estimates). Provisional years are still included; an admin should
    replace them with the official schedule.

    Holiday names in the report are in `language` (default: the country's own, e.g. zh_CN for
    China), never in whatever locale the server runs with.

    Returns ``(spec, report)``; `spec` is normalised and valid, `report` is JSON-able::

        {"country": "CN", "subdiv": None, "years": [2026, 2030],
         "holidays": {"2026-01-01": "元旦", ...}, "makeup_days": ["2026-01-04", ...],
         "provisional_years": [2030], "provisional": {"2030": "..."}}
    """
    import holidays as holidays_package

    years = sorted(set(years))
    if not years or not all(type(y) is int and FIRST_YEAR <= y <= LAST_YEAR for y in years):
        raise CalendarSpecError("years", f"expected years between {FIRST_YEAR} and {LAST_YEAR}")
    if country not in holidays_package.list_supported_countries():
        raise CalendarSpecError("country", f"{country!r} is not a country code the holidays package supports")
    zone = _zone(timezone)
    days = _weekly(weekly)
    if makeup_hours is None:
        workday = next((periods for periods in days[:5] if periods), None)
        if workday is None:
            raise CalendarSpecError("makeup_hours", "required: weekly opens no weekday Monday to Friday")
        makeup = [[_hhmm(s), _hhmm(e)] for s, e in workday]
    else:
        makeup = [[_hhmm(s), _hhmm(e)] for s, e in _periods(makeup_hours, "makeup_hours")]

    entity = type(holidays_package.country_holidays(country))
    language = language or entity.default_language
    if language not in entity.supported_languages:
        raise CalendarSpecError("language", f"{language!r} is not one of {', '.join(entity.supported_languages)}")
    # ask for estimation marks wherever the country can show them (off by default)
    marks = {name: True for name in inspect.signature(entity.__init__).parameters if name.endswith("_show_estimated")}
    try:
        found = holidays_package.country_holidays(country, subdiv=subdiv, years=years, language=language, **marks)
    except NotImplementedError as exc:
        raise CalendarSpecError("subdiv", str(exc)) from None

    labels = [found.tr(label) for label in (getattr(found, "estimated_label", None),
                                            getattr(found, "observed_estimated_label", None)) if label]
    transfer_years = sorted(  # years with (to_month, to_day, from_month, from_day[, from_year]) entries
        year for year, entries in getattr(found, "special_public_holidays", {}).items()
        if any(len(entry) >= 4 for entry in (entries if entries and isinstance(entries[0], tuple) else (entries,))))
    moves_working_days = bool(found.has_substituted_holidays and transfer_years)

    provisional: dict[str, str] = {}
    for year in years:
        estimated = sorted(
            f"{day.isoformat()} {name}" for day in found if day.year == year
            for name in found.get_list(day) if any(_is_label(name, label) for label in labels))
        if not entity.start_year <= year <= entity.end_year:
            provisional[str(year)] = (f"the holidays package has no {country} data for {year} (it covers"
                                      f" {entity.start_year}-{entity.end_year}): no holidays added")
        elif moves_working_days and not transfer_years[0] <= year <= transfer_years[-1]:
            provisional[str(year)] = (
                f"the holidays package has no official working-day transfers for {country} in {year} (its data"
                f" covers {transfer_years[0]}-{transfer_years[-1]}): holidays are statutory dates moved by a generic"
                " weekend rule, and make-up working days are unknown")
        elif estimated:
            provisional[str(year)] = "estimated dates: " + "; ".join(estimated)

    makeup_days = sorted(day for day in found.weekend_workdays if day.year in years)
    spec = {
        "timezone": zone.key,
        "weekly": {day: [[_hhmm(s), _hhmm(e)] for s, e in periods] for day, periods in zip(WEEKDAYS, days)},
        "holidays": sorted(day.isoformat() for day in found),
        "overrides": {day.isoformat(): makeup for day in makeup_days},
    }
    report = {
        "country": country,
        "subdiv": subdiv,
        "years": years,
        "holidays": {day.isoformat(): name for day, name in sorted(found.items())},
        "makeup_days": [day.isoformat() for day in makeup_days],
        "provisional_years": [int(year) for year in provisional],
        "provisional": provisional,
    }
    return BusinessCalendar.from_spec(spec).to_spec(), report


def _is_label(name: str, label: str) -> bool:
    """Whether `name` is `label` ("%s (estimated)") applied to some holiday name."""
    prefix, _, suffix = label.partition("%s")
    return len(name) > len(prefix) + len(suffix) and name.startswith(prefix) and name.endswith(suffix)


# ---------------------------------------------------------------------------------------------
# iCalendar import.


def closures_from_ical(
    data: bytes | str, start: date, end: date, tz: str | ZoneInfo
) -> tuple[dict[str, list], dict[str, Any]]:
    """The closures an iCalendar feed describes for the local dates [start, end), and a report.

    Recurrences (RRULE, RDATE, EXDATE, moved occurrences) are expanded, so a yearly holiday
    applies every year of the range. An all-day event closes its dates (``holidays``); a timed
    event closes its interval, as local wall time of `tz` to the minute, widened outwards
    (``closures``); floating times are read in `tz`. Not closures, and reported as skipped:
    free-time events (``TRANSP:TRANSPARENT``: observances, not days off), cancelled events,
    and timed events of zero length. Returns ``({"holidays": [...], "closures": [...]}, report)``
    to merge into a spec; the report is ``{"events": n, "holidays": n, "closures": n,
    "skipped": [{"uid", "summary", "start", "reason"}]}``. Malformed input raises
    `CalendarSpecError` (field ``ical``)."""
    zone = _zone(tz, "tz")
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise CalendarSpecError(name, f"expected a date, got {type(value).__name__}")
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise CalendarSpecError(name, f"{value} is outside the supported years {FIRST_YEAR}-{LAST_YEAR}")
    if not 0 < (end - start).days <= MAX_ICAL_DAYS:
        raise CalendarSpecError("end", f"the range must be 1 to {MAX_ICAL_DAYS} days long")
    if not isinstance(data, (bytes, str)):
        raise CalendarSpecError("ical", f"expected bytes or str, got {type(data).__name__}")

    lo, hi = _day_number(start), _day_number(end)
    occurrences = _read_ical(data, start, end, zone)
    closed_days: set[int] = set()
    spans: list[tuple[int, int]] = []
    skipped: list[dict[str, str]] = []
    for event in occurrences:
        reason = None
        if event.transparent:
            reason = "TRANSP:TRANSPARENT: free time (an observance), not a closure"
        elif event.cancelled:
            reason = "STATUS:CANCELLED"
        elif event.empty:
            reason = "zero length"
        elif event.timed:
            a, b = max(event.begin, lo * _DAY), min(event.finish, hi * _DAY)
            if a < b:
                spans.append((a, b))
            else:
                reason = "no time inside the range"
        else:
            numbers = range(max(lo, event.begin), min(hi, event.finish))
            closed_days.update(numbers)
            if not numbers:
                reason = "no date inside the range"
        if reason:
            skipped.append({"uid": event.uid, "summary": event.summary, "start": event.start, "reason": reason})

    closures = _merge(spans)
    if max(len(closed_days), len(closures)) > MAX_DATED_ENTRIES:
        raise CalendarSpecError("ical", f"more than {MAX_DATED_ENTRIES} closures in the range")
    fragment = {
        "holidays": [_day(number).isoformat() for number in sorted(closed_days)],
        "closures": [[_local_text(a), _local_text(b)] for a, b in closures],
    }
    report = {"events": len(occurrences), "holidays": len(closed_days), "closures": len(closures), "skipped": skipped}
    return fragment, report


class _Occurrence(NamedTuple):
    uid: str
    summary: str
    start: str
    transparent: bool
    cancelled: bool
    empty: bool
    timed: bool
    begin: int  # timed: local wall µs, rounded down to the minute; all-day: a day number
    finish: int  # timed: local wall µs, rounded up to the minute; all-day: the day after


def _read_ical(data: bytes | str, start: date, end: date, zone: ZoneInfo) -> list[_Occurrence]:
    """Every occurrence in [start, end), read into plain values while the parsers are at hand."""
    import icalendar
    import recurring_ical_events

    try:
        feed = icalendar.Calendar.from_ical(data)
        if feed.name != "VCALENDAR":
            raise CalendarSpecError("ical", f"expected a VCALENDAR, got {feed.name}")
        occurrences = []
        for event in recurring_ical_events.of(feed).between(start, end):
            begin, finish = event.start, event.end
            timed = isinstance(begin, datetime)
            occurrences.append(_Occurrence(
                uid=str(event.get("UID", "")), summary=str(event.get("SUMMARY", "")), start=begin.isoformat(),
                transparent=str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT",
                cancelled=str(event.get("STATUS", "")).upper() == "CANCELLED", empty=finish <= begin, timed=timed,
                begin=_wall(begin, zone, up=False) if timed else _day_number(begin),
                finish=_wall(finish, zone, up=True) if timed else _day_number(finish)))
        return occurrences
    except CalendarSpecError:
        raise
    except Exception as exc:  # hostile input makes the parsers raise more than ValueError (AttributeError, OverflowError)
        raise CalendarSpecError("ical", f"not a readable iCalendar feed: {type(exc).__name__}: {exc}") from None


def _wall(moment: datetime, zone: ZoneInfo, *, up: bool) -> int:
    """`moment` as local wall time of `zone` in µs, to the minute (rounded up if `up`)."""
    if moment.utcoffset() is not None:
        moment = moment.astimezone(zone)
    us = (_day_number(moment.date()) * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second) * _SECOND
    us += moment.microsecond
    return -(-us // _MINUTE) * _MINUTE if up else us // _MINUTE * _MINUTE
