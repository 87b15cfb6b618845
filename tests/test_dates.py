from datetime import UTC, datetime, timedelta

import pytest

from crawler.extract.dates import parse_arabic_datetime, parse_iso_datetime, to_ascii_digits

LEVANTINE = [
    "كانون الثاني",
    "شباط",
    "آذار",
    "نيسان",
    "أيار",
    "حزيران",
    "تموز",
    "آب",
    "أيلول",
    "تشرين الأول",
    "تشرين الثاني",
    "كانون الأول",
]
EGYPTIAN = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
]
VARIANTS = [
    ("ابريل", 4),
    ("إبريل", 4),
    ("يونيه", 6),
    ("يوليه", 7),
    ("اغسطس", 8),
    ("اكتوبر", 10),
    ("ايار", 5),
    ("اذار", 3),
    ("ايلول", 9),
    ("كانون ثاني", 1),
    ("تشرين أول", 10),
    ("جانفي", 1),
    ("فيفري", 2),
    ("أفريل", 4),
    ("جوان", 6),
    ("جويلية", 7),
    ("أوت", 8),
]


def offset_hours(value: datetime) -> float:
    return value.utcoffset().total_seconds() / 3600


@pytest.mark.parametrize("month", range(1, 13))
def test_every_levantine_month(month):
    got = parse_arabic_datetime(f"12 {LEVANTINE[month - 1]} 2021")
    assert (got.year, got.month, got.day) == (2021, month, 12)


@pytest.mark.parametrize("month", range(1, 13))
def test_every_egyptian_month(month):
    got = parse_arabic_datetime(f"3 {EGYPTIAN[month - 1]} 2024 الساعة 14:05")
    assert got == datetime(2024, month, 3, 14, 5, tzinfo=got.tzinfo)
    assert offset_hours(got) == 3


@pytest.mark.parametrize(("name", "month"), VARIANTS)
def test_spelling_variants(name, month):
    assert parse_arabic_datetime(f"1 {name} 2019").month == month


@pytest.mark.parametrize("month", range(1, 13))
def test_dual_month_forms(month):
    lev, egy = LEVANTINE[month - 1], EGYPTIAN[month - 1]
    for text in (f"9 {lev}/{egy} 2017", f"9 {egy}/ {lev} 2017", f"9 {lev} ({egy}) 2017"):
        got = parse_arabic_datetime(text)
        assert (got.year, got.month, got.day) == (2017, month, 9), text


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("2020-01-15 10:00", 2),  # winter, before 2022: EET
        ("2020-07-15T10:00:00", 3),  # summer DST
        ("2021-12-31T23:00:00", 2),
        ("2023-01-15 10:00", 3),  # +03 all year since late 2022
        ("2025-07-01 08:00", 3),
    ],
)
def test_naive_times_follow_damascus_dst_history(text, offset):
    got = parse_arabic_datetime(text)
    assert got.hour in (8, 10, 23)
    assert offset_hours(got) == offset


def test_explicit_offsets_are_kept():
    assert parse_arabic_datetime("2018-03-01T12:00:00+00:00") == datetime(
        2018, 3, 1, 12, tzinfo=UTC
    )
    got = parse_iso_datetime("2023-05-02T08:30:15.250+0430")
    assert offset_hours(got) == 4.5 and got.microsecond == 250000
    assert parse_arabic_datetime("2019-02-03T04:05:06Z").utcoffset() == timedelta(0)


def test_other_timezone():
    assert offset_hours(parse_arabic_datetime("2020-01-15 10:00", tz="Africa/Tunis")) == 1


def test_arabic_indic_and_persian_digits():
    assert to_ascii_digits("٢٠٢٥ ۱۴") == "2025 14"
    got = parse_arabic_datetime("١٢ نوفمبر ٢٠٢٥ - ٠٩:٤٥ م")
    assert got == datetime(2025, 11, 12, 21, 45, tzinfo=got.tzinfo)
    assert parse_arabic_datetime("۲۵ مارس ۲۰۲۵").day == 25


@pytest.mark.parametrize(
    ("text", "hour"),
    [
        ("10:30 ص", 10),
        ("10:30 م", 22),
        ("12:15 ص", 0),
        ("12:15 م", 12),
        ("7:00 مساءً", 19),
        ("07:00 PM", 19),
    ],
)
def test_am_pm(text, hour):
    assert parse_arabic_datetime(f"الخميس 15 آذار 2018 {text}").hour == hour


def test_syria_tv_numeric_format():
    got = parse_arabic_datetime("2022.10.16 | 23:37 دمشق")
    assert got == datetime(2022, 10, 16, 23, 37, tzinfo=got.tzinfo)
    assert offset_hours(got) == 3


def test_day_first_numeric_and_month_first_names():
    assert parse_arabic_datetime("نشر في 16/10/2022").date().isoformat() == "2022-10-16"
    assert parse_arabic_datetime("يونيو 12, 2020").date().isoformat() == "2020-06-12"


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("منذ 3 ساعات", timedelta(hours=3)),
        ("منذ ٧ ساعات", timedelta(hours=7)),
        ("منذ 5 دقائق", timedelta(minutes=5)),
        ("منذ دقيقة", timedelta(minutes=1)),
        ("منذ ساعتين", timedelta(hours=2)),
        ("منذ يومين", timedelta(days=2)),
        ("منذ 4 أيام", timedelta(days=4)),
        ("منذ أسبوع", timedelta(weeks=1)),
    ],
)
def test_relative_dates(text, delta):
    now = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    got = parse_arabic_datetime(text, now=now)
    assert got == now - delta
    assert offset_hours(got) == 3


def test_relative_without_now_is_unknown():
    assert parse_arabic_datetime("منذ 3 ساعات") is None


@pytest.mark.parametrize(
    "text", ["", "   ", "لا تاريخ هنا", "31 شباط 2020", "2020-13-01", "7 فبراير/ شباط الماضي"]
)
def test_no_date(text):
    assert parse_arabic_datetime(text) is None


def test_date_only_is_local_midnight():
    got = parse_arabic_datetime("2024-05-01")
    assert (got.hour, got.minute, offset_hours(got)) == (0, 0, 3)
