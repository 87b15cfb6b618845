import dataclasses
import inspect
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.extract.text import (
    content_hash,
    join_paragraphs,
    normalize_for_hash,
    normalize_for_search,
    strip_site_suffix,
    tidy,
)
from crawler.items import HASHED_FIELDS, REVISION_FIELDS, ArticleItem


def test_tidy_only_whitespace():
    assert tidy("  سطر\u00a0أول \r\n\t ثانٍ  ") == "سطر أول\nثانٍ"
    assert tidy("مُحَمَّد") == "مُحَمَّد"  # stored text keeps tashkeel


def test_join_paragraphs():
    assert join_paragraphs([" أ ", "", "  ", "ب\u00a0ج"]) == "أ\n\nب ج"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("الـــقوات", "القوات"),  # tatweel
        ("مُحَمَّد", "محمد"),  # tashkeel
        ("دير\u200fالزور", "ديرالزور"),  # bidi mark
        ("<p>خبر &amp; تقرير</p>", "خبر & تقرير"),  # markup and entities
        ("ﻻ", "لا"),  # NFKC presentation form
        ("  نص\n\nآخر ", "نص آخر"),
    ],
)
def test_cosmetic_differences_vanish(a, b):
    assert normalize_for_hash(a) == normalize_for_hash(b)


@pytest.mark.parametrize(
    ("a", "b"), [("أحمد", "احمد"), ("مدرسة", "مدرسه"), ("12", "13"), ("قتل", "قتلى")]
)
def test_real_differences_survive(a, b):
    assert normalize_for_hash(a) != normalize_for_hash(b)


def test_search_form_folds_letters():
    assert normalize_for_search("إلى مدرسة أحمد") == normalize_for_search("الي مدرسه احمد")


def test_content_hash_ignores_cosmetics_and_timezone_form():
    when = datetime(2020, 1, 1, 12, tzinfo=UTC)
    base = dict(
        title="عنوان",
        subtitle=None,
        body_text="فقرة",
        authors=["أ"],
        published_at=when,
        section="أخبار",
        tags=["ت"],
    )
    same = dict(base, title="عُنوان", published_at=when.astimezone(timezone(timedelta(hours=2))))
    assert content_hash(**base) == content_hash(**same)
    assert content_hash(**base) != content_hash(**dict(base, tags=["ت", "ث"]))


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("خبر عاجل – فرات بوست", "خبر عاجل"),
        ("خبر عاجل - فرات بوست", "خبر عاجل"),
        ("خبر عاجل | الفرات بوست", "خبر عاجل"),
        ("فرات بوست - خبر عاجل", "خبر عاجل"),
        ("حلب - دمشق", "حلب - دمشق"),
        ("فرات بوست", "فرات بوست"),
        ("خبر عن فرات بوست", "خبر عن فرات بوست"),
    ],
)
def test_strip_site_suffix(title, expected):
    assert strip_site_suffix(title, ["فرات بوست", "الفرات بوست"]) == expected


def test_the_hash_covers_exactly_the_hashed_revision_fields():
    """One definition of the revision fields (crawler.items): the hash takes those whose
    change makes a revision, each an ArticleItem field."""
    assert tuple(inspect.signature(content_hash).parameters) == HASHED_FIELDS
    assert set(HASHED_FIELDS) < set(REVISION_FIELDS)
    assert set(REVISION_FIELDS) <= {f.name for f in dataclasses.fields(ArticleItem)}
