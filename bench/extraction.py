"""Extraction quality and speed on real Arabic pages with known answers.

    .venv/bin/python bench/extraction.py [--fixtures PATH]

Reads the shared benchmark pages (``../shared/fixtures/arabic-news-benchmarks``, next to the
checkout; never copied into the project) and the project's own golden cases
(``tests/fixtures/<spider>/``), runs ``extract_article`` with the default page class (the
golden cases with their spider's page), and prints per page: paragraph recall and
precision against the expected text, title and date agreement, and milliseconds per page.

Paragraphs are compared after ``normalize_for_hash``; a paragraph counts as found when it
equals, or is contained in, a paragraph on the other side (expected texts differ in how they
split paragraphs).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from crawler.errors import NotAnArticle  # noqa: E402
from crawler.extract.page import extract_article  # noqa: E402
from crawler.extract.text import normalize_for_hash  # noqa: E402

DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"
FETCHED = datetime(2026, 11, 25, tzinfo=UTC)
CNN_URL = "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"


@dataclass
class Expected:
    name: str
    path: Path
    url: str
    paragraphs: list[str] | None = None
    title: str | None = None
    date: str | None = None  # YYYY-MM-DD as the page's own timezone gives it
    page: object | None = None  # the page class (default: extraction's default)
    prefix: bool = False  # the expected text is only the body's beginning (goose3's test)
    not_article: str | None = None  # the NotAnArticle reason expected


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _split(text: str) -> list[str]:
    return [p for p in re.split(r"\n+", text) if p.strip()]


def shared_cases(root: Path) -> list[Expected]:
    bench = root / "arabic-news-benchmarks"
    cases: list[Expected] = []
    meta4k = json.loads((bench / "newspaper4k/arabic_article.metadata.json").read_text())
    cases.append(
        Expected(
            "newspaper cnn-arabic",
            bench / "newspaper/arabic_article.cnnarabic.html",
            CNN_URL,
            _split((bench / "newspaper/arabic_article.cnnarabic.expected.txt").read_text()),
            meta4k["title"],
        )
    )
    cases.append(
        Expected(
            "newspaper4k cnn-arabic",
            bench / "newspaper4k/arabic_article.html",
            meta4k["url"],
            _split((bench / "newspaper4k/arabic_article.expected.txt").read_text()),
            meta4k["title"],
        )
    )
    goose = json.loads((bench / "goose3/test_cnn_arabic.expected.json").read_text())
    cases.append(
        Expected(
            "goose3 cnn-arabic",
            bench / "goose3/test_cnn_arabic.html",
            goose["url"],
            _split(goose["expected"]["cleaned_text"]),
            meta4k["title"],
            prefix=True,
        )
    )
    fundus = json.loads((bench / "fundus/LBCGroup.expected.json").read_text())["V1"]
    fundus_url = next(iter(json.loads((bench / "fundus/meta.info").read_text()).values()))["url"]
    cases.append(
        Expected(
            "fundus lbcgroup",
            bench / "fundus/LBCGroup_2026_01_08.html.gz",
            fundus_url,
            [p for s in fundus["body"]["sections"] for p in s["paragraphs"]],
            fundus["title"],
            fundus["publishing_date"][:10],
        )
    )
    cases.append(
        Expected(
            "trafilatura assabah",
            bench / "trafilatura/assabah.com.tn.article.html",
            "http://www.assabah.com.tn/article/164913/",
        )
    )
    gold = json.loads((bench / "htmldate/gold_dates.json").read_text())
    for url, item in gold.items():
        host = re.sub(r"^www\.", "", url.split("/")[2])
        cases.append(
            Expected(f"htmldate {host}", bench / "htmldate" / item["file"], url, date=item["date"])
        )
    captures = root / "real-captures"
    for file, url, reason in (
        ("syriahr.com_2018_cloudflare_challenge.html", "https://www.syriahr.com/", "challenge"),
        ("orient-news.net_2018-03_homepage.html", "https://orient-news.net/", "listing"),
        ("aksalser.com_2018_301_moved.html", "http://aksalser.com/", "redirect_stub"),
        ("eqtsad.net_2018_301_moved.html", "http://eqtsad.net/", "redirect_stub"),
        (
            "smartnews-agency.com_2018_302_found.html",
            "http://smartnews-agency.com/",
            "redirect_stub",
        ),
        ("7al.net_2018_http_moved.html", "http://7al.net/", "redirect_stub"),
    ):
        cases.append(
            Expected(f"capture {file.split('_')[0]}", captures / file, url, not_article=reason)
        )
    return cases


def golden_cases() -> list[Expected]:
    from golden import discover, page_for_spider

    out = []
    for case in discover():
        if case.expected is None:
            continue
        e = case.expected
        out.append(
            Expected(
                f"golden {case.id}",
                case.html_path,
                case.url,
                e["body_text"].split("\n\n"),
                e["title"],
                (e["published_at"] or "")[:10] or None,
                page_for_spider(case.spider),
            )
        )
    return out


def _found(needle: str, hay: list[str]) -> bool:
    return any(needle == h or (len(needle) >= 20 and needle in h) for h in hay)


def score(case: Expected) -> dict[str, object]:
    html = _read(case.path)
    start = time.perf_counter()
    try:
        kwargs = {"page": case.page} if case.page else {}
        got = extract_article(html, case.url, FETCHED, **kwargs)
    except NotAnArticle as exc:
        row = {"name": case.name, "error": exc.reason, "ms": (time.perf_counter() - start) * 1000}
        row["rejected"] = exc.reason == case.not_article
        return row
    if case.not_article:
        return {"name": case.name, "ms": (time.perf_counter() - start) * 1000, "rejected": False}
    ms = (time.perf_counter() - start) * 1000
    row: dict[str, object] = {
        "name": case.name,
        "ms": ms,
        "extractor": got.extractor.split("+")[-1],
    }
    mine = [normalize_for_hash(p) for p in got.body_text.split("\n\n")]
    if case.paragraphs and case.prefix:
        row["recall"] = float(
            normalize_for_hash(got.body_text).startswith(normalize_for_hash(case.paragraphs[0]))
        )
    elif case.paragraphs:
        want = [normalize_for_hash(p) for p in case.paragraphs]
        row["recall"] = sum(_found(p, mine) for p in want) / len(want)
        row["precision"] = sum(_found(p, want) for p in mine) / len(mine)
    row["chars"] = len(got.body_text)
    if case.title:
        row["title"] = normalize_for_hash(got.title) == normalize_for_hash(case.title)
    if case.date:
        row["date"] = bool(got.published_at) and got.published_at.date().isoformat() == case.date
    return row


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES)
    args = parser.parse_args(argv)
    cases = shared_cases(args.fixtures) if args.fixtures.exists() else []
    if not cases:
        print(f"(no shared fixtures at {args.fixtures}; golden cases only)")
    cases += golden_cases()
    rows = [score(c) for c in cases]
    seed_file = args.fixtures.parent / "seeds" / "furatpost-article-scrape.txt"
    seed = next((c for c in cases if c.name.endswith("_31842")), None)
    if seed_file.exists() and seed is not None:
        # The seed scrape: title, "by admindiaa", then the eight body paragraphs (lines 6-13).
        lines = seed_file.read_text(encoding="utf-8").split("\n")
        got = extract_article(_read(seed.path), seed.url, FETCHED, seed.page)
        same = got.body_text.split("\n\n") == lines[5:13] and got.title == lines[0]
        print(
            f"seed article: title and the eight paragraphs exactly as in the seed scrape: {_fmt(same)}"
        )
    cols = (
        "name",
        "extractor",
        "recall",
        "precision",
        "chars",
        "title",
        "date",
        "rejected",
        "ms",
        "error",
    )
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(_fmt(r.get(c)).ljust(widths[c]) for c in cols))

    def mean(key: str, subset: list[dict[str, object]]) -> str:
        values = [float(r[key]) for r in subset if key in r]
        return f"{sum(values) / len(values):.3f} over {len(values)}" if values else "-"

    for label, subset in (
        ("shared", [r for r in rows if not str(r["name"]).startswith("golden")]),
        ("golden", [r for r in rows if str(r["name"]).startswith("golden")]),
    ):
        if not subset:
            continue
        print(
            f"{label}: paragraph recall {mean('recall', subset)}, precision {mean('precision', subset)}, "
            f"title {mean('title', subset)}, date {mean('date', subset)}, ms/page {mean('ms', subset)}, "
            f"non-articles rejected with the right reason {mean('rejected', subset)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
