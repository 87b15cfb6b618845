"""Arabic dates as Syrian and other Arab news sites write them.

``parse_arabic_datetime`` reads ISO 8601 (meta tags, JSON-LD, REST), numeric dates
(``2022.10.16 | 23:37 دمشق``, ``16/10/2022``), dates with month names (Levantine
``حزيران``, Egyptian/Gulf ``يونيو``, Maghreb ``جوان``, dual ``حزيران/يونيو``, English),
Arabic-Indic and Persian digits, ص/م (AM/PM) and relative dates (``منذ 3 ساعات``).

A month table of our own is used rather than dateparser, which misses the Levantine
names with ``languages=["ar"]``. Naive times are local to the site's timezone through
tzdata (Asia/Damascus was +02/+03 with DST until 2022, +03 all year since).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Damascus"

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)
# Harakat and tatweel never change a date; Arabic comma/colon variants become ASCII.
_NOISE = re.compile("[\u0640\u064b-\u065f\u0670\u200b-\u200f\u202a-\u202e\u2066-\u2069]")

# Written forms, in the letters sites actually use; alef and ya/alef-maqsura variants are
# folded before lookup (see _fold), so "أيار"/"ايار" and "آذار"/"اذار" are one entry.
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("كانون الثاني", "كانون ثاني", "يناير", "جانفي", "january", "jan"),
    2: ("شباط", "فبراير", "فيفري", "february", "feb"),
    3: ("آذار", "مارس", "march", "mar"),
    4: ("نيسان", "أبريل", "ابريل", "إبريل", "أفريل", "افريل", "april", "apr"),
    5: ("أيار", "مايو", "ماي", "may"),
    6: ("حزيران", "يونيو", "يونيه", "جوان", "june", "jun"),
    7: ("تموز", "يوليو", "يوليه", "جويلية", "july", "jul"),
    8: ("آب", "أغسطس", "اغسطس", "غشت", "أوت", "اوت", "august", "aug"),
    9: ("أيلول", "سبتمبر", "شتنبر", "september", "sept", "sep"),
    10: ("تشرين الأول", "تشرين أول", "أكتوبر", "اكتوبر", "october", "oct"),
    11: ("تشرين الثاني", "تشرين ثاني", "نوفمبر", "نونبر", "november", "nov"),
    12: ("كانون الأول", "كانون أول", "ديسمبر", "دجنبر", "december", "dec"),
}


def _fold(text: str) -> str:
    """Letter variants that spelling of month names does not agree on."""
    text = re.sub("[أإآٱ]", "ا", text)
    return text.replace("ى", "ي").replace("ة", "ه").lower()


_MONTHS: dict[str, int] = {_fold(name): n for n, names in _MONTH_NAMES.items() for name in names}
# Longest first so "كانون الثاني" wins over a shorter prefix.
_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
# A month name not glued to other letters (Arabic prefixes like "في" stay outside).
_MONTH = rf"(?<![\w])(?:{_MONTH_ALT})(?![\w])"
_MONTH_GROUP = rf"(?<![\w])(?P<mon>{_MONTH_ALT})(?![\w])"
# "حزيران/يونيو", "فبراير/ شباط", "حزيران (يونيو)", "حزيران - يونيو".
_DUAL = rf"{_MONTH_GROUP}(?:\s*[/\\(\-–]\s*{_MONTH}\s*\)?)?"

_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:[T ](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?(?!\d)",
    re.IGNORECASE,
)
_YMD = re.compile(r"(?<!\d)(?P<y>\d{4})[./](?P<m>\d{1,2})[./](?P<d>\d{1,2})(?!\d)")
_DMY = re.compile(r"(?<!\d)(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})(?!\d)")
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})\s*(?:من\s+)?{_DUAL}\s*[,،]?\s*(?:عام\s+|سنة\s+)?(?P<y>\d{{4}})(?!\d)"
)
_MONTH_DAY_YEAR = re.compile(rf"{_DUAL}\s+(?P<d>\d{{1,2}})\s*[,،]?\s*(?P<y>\d{{4}})(?!\d)")
_TIME = re.compile(
    r"(?<![\d:])(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?![\d])"
    r"\s*(?P<ampm>ص|م|صباحا|صباحاً|مساء|مساءً|مساءا|ظهرا|ظهراً|[ap]\.?m\.?)?(?![\w])",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"منذ\s+(?:(?P<n>\d+)\s*)?(?P<unit>ثانية|ثوان|ثواني|ثوانٍ|دقيقة|دقيقتين|دقيقتان|دقائق|"
    r"ساعة|ساعتين|ساعتان|ساعات|يوم|يومين|يومان|أيام|ايام|أسبوع|اسبوع|أسبوعين|اسبوعين|أسابيع|اسابيع|"
    r"شهر|شهرين|أشهر|اشهر|شهور|سنة|سنتين|سنوات|عام|عامين|أعوام|اعوام)(?![\w])"
)
_UNITS: dict[str, tuple[str, int]] = {}
for _unit, _words in {
    ("seconds", 1): ("ثانية", "ثوان", "ثواني", "ثوانٍ"),
    ("minutes", 1): ("دقيقة", "دقائق"),
    ("minutes", 2): ("دقيقتين", "دقيقتان"),
    ("hours", 1): ("ساعة", "ساعات"),
    ("hours", 2): ("ساعتين", "ساعتان"),
    ("days", 1): ("يوم", "أيام", "ايام"),
    ("days", 2): ("يومين", "يومان"),
    ("weeks", 1): ("أسبوع", "اسبوع", "أسابيع", "اسابيع"),
    ("weeks", 2): ("أسبوعين", "اسبوعين"),
    ("days30", 1): ("شهر", "أشهر", "اشهر", "شهور"),
    ("days30", 2): ("شهرين",),
    ("days365", 1): ("سنة", "سنوات", "عام", "أعوام", "اعوام"),
    ("days365", 2): ("سنتين", "عامين"),
}.items():
    for _w in _words:
        _UNITS[_w] = _unit


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def to_ascii_digits(text: str) -> str:
    """Arabic-Indic and Persian digits as ASCII digits."""
    return text.translate(_DIGITS)


def localize(value: datetime, tz: str = DEFAULT_TIMEZONE) -> datetime:
    """``value`` made timezone-aware: a naive time is wall-clock time in ``tz``."""
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value
    return value.replace(tzinfo=_zone(tz))


def _offset(text: str) -> timedelta | None:
    text = text.upper()
    if text in ("Z", "UTC", "GMT"):
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return sign * timedelta(hours=hours, minutes=minutes)


def _find_time(text: str) -> time | None:
    for m in _TIME.finditer(text):
        hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
        ampm = (m["ampm"] or "").lower().replace(".", "")
        if ampm and hour <= 12:
            pm = ampm.startswith(("م", "ظ", "p"))
            if pm and hour < 12:
                hour += 12
            elif not pm and hour == 12:
                hour = 0
        if hour < 24 and minute < 60 and second < 60:
            return time(hour, minute, second)
    return None


def _combine(day: date, text: str, tz: str) -> WrittenDate:
    written = _find_time(text)
    return WrittenDate(localize(datetime.combine(day, written or time(0, 0)), tz), bool(written))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_iso_datetime(text: str, tz: str = DEFAULT_TIMEZONE) -> datetime | None:
    """An ISO 8601 date or datetime; without an offset it is local time in ``tz``."""
    m = _ISO.search(to_ascii_digits(text.strip()))
    if not m:
        return None
    day = _safe_date(int(m["y"]), int(m["m"]), int(m["d"]))
    if day is None:
        return None
    hour, minute, second = int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0)
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    value = datetime.combine(day, time(hour, minute, second, micro))
    if m["tz"]:
        offset = _offset(m["tz"])
        return value.replace(tzinfo=UTC if not offset else timezone(offset))
    return localize(value, tz)


class WrittenDate(NamedTuple):
    """A date as a page writes it: ``value``, and whether a time of day was written (a
    date-only value is midnight local time, less precise than any full timestamp)."""

    value: datetime
    has_time: bool


def parse_arabic_datetime(
    text: str, tz: str = DEFAULT_TIMEZONE, now: datetime | None = None
) -> datetime | None:
    """The first date (and time) written in ``text``, timezone-aware, or None.

    A relative date ("منذ 3 ساعات") needs ``now``; without it the result is None.
    A date without a time is midnight local time.
    """
    found = read_date(text, tz, now)
    return found.value if found else None


def read_date(
    text: str, tz: str = DEFAULT_TIMEZONE, now: datetime | None = None
) -> WrittenDate | None:
    """``parse_arabic_datetime`` saying whether the text gave a time of day."""
    if not text:
        return None
    text = _NOISE.sub("", to_ascii_digits(text)).strip()
    if not text:
        return None

    iso = _ISO.search(text)
    if iso and (iso["H"] or iso.start() == 0):
        value = parse_iso_datetime(iso.group(0), tz)
        return WrittenDate(value, bool(iso["H"])) if value else None

    rel = _RELATIVE.search(text)
    if rel:
        if now is None:
            return None
        unit, per = _UNITS[rel["unit"]]
        count = int(rel["n"]) if rel["n"] else per
        if per == 2:
            count = 2
        days = {"days30": 30, "days365": 365}.get(unit)
        delta = timedelta(days=days * count) if days else timedelta(**{unit: count})
        value = (localize(now, tz) - delta).astimezone(_zone(tz))
        return WrittenDate(value, unit in ("seconds", "minutes", "hours"))

    folded = _fold(text)
    for pattern in (_DAY_MONTH_YEAR, _MONTH_DAY_YEAR):
        m = pattern.search(folded)
        if m:
            day = _safe_date(int(m["y"]), _MONTHS[m["mon"]], int(m["d"]))
            if day:
                return _combine(day, folded[: m.start()] + " " + folded[m.end() :], tz)

    for pattern in (_YMD, _DMY):
        m = pattern.search(text)
        if m:
            day = _safe_date(int(m["y"]), int(m["m"]), int(m["d"]))
            if day:
                return _combine(day, text[: m.start()] + " " + text[m.end() :], tz)
    if iso:
        value = parse_iso_datetime(iso.group(0), tz)
        return WrittenDate(value, bool(iso["H"])) if value else None
    return None
