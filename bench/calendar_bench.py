"""`python -m bench.calendar_bench`: business-calendar throughput (pure Python, no services).

For a few calendars (a Shanghai office with lunch break seeded with China's 2026-2027 holidays
and make-up days, a Berlin 9-17 office across DST changes, a Mon-Sat dealer with closures, the
24x7 calendar) and business-time spans from a working day to half a year, times `add` and
`between` on random start instants spread over 2026 with the calendar's months cached (the
steady state of a long-lived calendar), then the cost of a cold calendar (first call builds its
months). Target: at least 20,000 `add` calls a second on spans of weeks.
"""
from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta, timezone

from app.sla.calendar import BusinessCalendar, holiday_spec

WORKWEEK = ("mon", "tue", "wed", "thu", "fri")
SPANS = [("1 day", 8), ("1 week", 40), ("4 weeks", 160), ("6 months", 1000)]


def calendars() -> dict[str, dict]:
    office = {day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in WORKWEEK}
    shanghai, _ = holiday_spec("CN", [2026, 2027], timezone="Asia/Shanghai", weekly=office)
    dealer = {day: [["08:30", "12:00"], ["13:00", "19:00"]] for day in (*WORKWEEK, "sat")}
    closures = [[f"2026-{m:02d}-15T14:00", f"2026-{m:02d}-15T16:00"] for m in range(1, 13)]
    return {
        "Shanghai office + CN holidays": shanghai,
        "Berlin 9-17 (DST)": {"timezone": "Europe/Berlin", "weekly": {day: [["09:00", "17:00"]] for day in WORKWEEK}},
        "Mon-Sat dealer + closures": {"timezone": "Asia/Shanghai", "weekly": dealer, "closures": closures},
        "24x7": {"always": True},
    }


def rate(calls, fn) -> float:
    started = time.perf_counter()
    for args in calls:
        fn(*args)
    return len(calls) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="calls per measurement")
    n = parser.parse_args().n
    rng = random.Random(2026)
    year = datetime(2026, 1, 1, tzinfo=timezone.utc)
    starts = [year + timedelta(seconds=rng.randrange(365 * 86_400)) for _ in range(n)]

    print(f"{'calendar':32} {'span':>9} {'add/s':>10} {'between/s':>10}")
    for name, spec in calendars().items():
        cal = BusinessCalendar.from_spec(spec)
        for label, hours in SPANS:
            duration = timedelta(hours=hours)
            ends = [cal.add(s, duration) for s in starts]  # warms the months both loops touch
            adds = rate([(s, duration) for s in starts], cal.add)
            betweens = rate(list(zip(starts, ends)), cal.between)
            print(f"{name:32} {label:>9} {adds:>10,.0f} {betweens:>10,.0f}")
        started = time.perf_counter()
        BusinessCalendar.from_spec(spec).add(starts[0], timedelta(hours=40))
        print(f"{name:32} {'cold':>9} from_spec + first 1-week add: {(time.perf_counter() - started) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
