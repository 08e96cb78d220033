"""datetime, time and calendar: date arithmetic, ordinals, weekdays,
strftime/strptime and isoformat/fromisoformat round trips, fixed-offset time
zones, epoch conversions.

Checked against hand-written civil-calendar arithmetic (days-from-civil,
Zeller's congruence, leap-year rules) and round-trip invariants.
"""

import calendar
import datetime as dt
import random
import time

from ._common import VerificationError, check, check_eq, scaled

NAME = "datetime"
DESCRIPTION = "datetime arithmetic, ordinals vs civil-calendar math, strftime/strptime, isoformat, tz offsets"

_MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def month_len(y, m):
    return 29 if m == 2 and is_leap(y) else _MONTH_DAYS[m - 1]


def days_from_civil(y, m, d):
    """Days since 0001-01-01 (that day is 1), by counting."""
    y1 = y - 1
    days = y1 * 365 + y1 // 4 - y1 // 100 + y1 // 400
    for mm in range(1, m):
        days += month_len(y, mm)
    return days + d


def zeller_weekday(y, m, d):
    """Monday=0 .. Sunday=6, via Zeller's congruence."""
    if m < 3:
        m += 12
        y -= 1
    k, j = y % 100, y // 100
    h = (d + (13 * (m + 1)) // 5 + k + k // 4 + j // 4 + 5 * j) % 7  # 0 = Saturday
    return (h + 5) % 7


def run(scale):
    rng = random.Random(2718)
    rounds = scaled(26, scale)
    n_dates = 0
    for r in range(rounds):
        # Walk day by day through a span of years.
        start_year = rng.randint(1, 9000)
        d = dt.date(start_year, 1, 1)
        ordinal = days_from_civil(start_year, 1, 1)
        check_eq(d.toordinal(), ordinal, "ordinal of Jan 1st %d" % start_year)
        one = dt.timedelta(days=1)
        y, m, day = start_year, 1, 1
        for _ in range(365 * 12):
            if (d.year, d.month, d.day) != (y, m, day):
                raise VerificationError("date walk: %s vs %04d-%02d-%02d" % (d, y, m, day))
            if d.weekday() != zeller_weekday(y, m, day):
                raise VerificationError("weekday of %s" % d)
            if d.toordinal() != ordinal:
                raise VerificationError("ordinal of %s" % d)
            d += one
            ordinal += 1
            day += 1
            if day > month_len(y, m):
                day = 1
                m += 1
                if m > 12:
                    m = 1
                    y += 1
            n_dates += 1
            if y > 9998:
                break

        # Random datetimes: formatting round trips and arithmetic.
        for _ in range(1500):
            base = dt.datetime(rng.randint(1900, 2100), rng.randint(1, 12), rng.randint(1, 28),
                               rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999999))
            check_eq(dt.datetime.fromisoformat(base.isoformat()), base, "isoformat round trip")
            text = base.strftime("%Y-%m-%d %H:%M:%S.%f")
            check_eq(dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f"), base, "strptime(strftime)")
            delta = dt.timedelta(days=rng.randint(-5000, 5000), seconds=rng.randint(0, 86399),
                                 microseconds=rng.randint(0, 999999))
            later = base + delta
            check_eq(later - base, delta, "datetime difference")
            check_eq(later - delta, base, "subtract timedelta")
            total_us = ((later.toordinal() - base.toordinal()) * 86400 * 10 ** 6
                        + ((later.hour - base.hour) * 3600 + (later.minute - base.minute) * 60
                           + (later.second - base.second)) * 10 ** 6 + later.microsecond - base.microsecond)
            check_eq(total_us, delta // dt.timedelta(microseconds=1), "delta in microseconds")
            # Fixed-offset zones: the same instant compares equal.
            off_a = dt.timezone(dt.timedelta(minutes=rng.randint(-720, 840) // 15 * 15))
            off_b = dt.timezone(dt.timedelta(hours=rng.randint(-12, 14)))
            aware = base.replace(tzinfo=off_a)
            other = aware.astimezone(off_b)
            check(aware == other, "astimezone keeps the instant")
            check_eq(other.astimezone(dt.timezone.utc).replace(tzinfo=None), base - off_a.utcoffset(None), "UTC conversion")
            check_eq(dt.datetime.fromisoformat(other.isoformat()), other, "aware isoformat round trip")

        # Epoch conversions.
        for _ in range(1500):
            ts = rng.randint(0, 4 * 10 ** 9)
            tm = time.gmtime(ts)
            check_eq(calendar.timegm(tm), ts, "timegm(gmtime)")
            utc = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
            check_eq((utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second), tuple(tm[:6]), "fromtimestamp vs gmtime")
            check_eq(int(utc.timestamp()), ts, "timestamp()")
            days = ts // 86400
            check_eq(dt.date(1970, 1, 1) + dt.timedelta(days=days), utc.date(), "epoch day arithmetic")

        # calendar module vs own rules.
        for year in rng.sample(range(1, 9999), 60):
            check_eq(calendar.isleap(year), is_leap(year), "isleap %d" % year)
            for month in range(1, 13):
                first, length = calendar.monthrange(year, month)
                check_eq(length, month_len(year, month), "monthrange length")
                check_eq(first, zeller_weekday(year, month, 1), "monthrange weekday")
        check_eq(calendar.leapdays(1, 2001), sum(1 for y in range(1, 2001) if is_leap(y)), "leapdays")
        iso = dt.date(2021, 1, 3).isocalendar()
        check_eq((iso[0], iso[1], iso[2]), (2020, 53, 7), "ISO calendar week")
    return "%d rounds, %d dates walked" % (rounds, n_dates)
