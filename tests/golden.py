"""Golden extraction cases: stored pages with the fields expected from them.

A case is ``tests/fixtures/<spider>/<name>.html.gz`` plus ``<name>.json``::

    {"url": ..., "fetched_at": ..., "source": ..., "expected": {field: value, ...}}

or, for a page that is not an article, ``"not_an_article": "<reason>"`` instead of
``expected``. ``tests/test_extraction.py`` checks every field of every case.

    python -m tests.golden add --spider furatpost --url URL FILE [--fetched-at ISO] [--name N]
    python -m tests.golden refresh [--spider X] [--check]
    python -m tests.golden from-replica [--spider furatpost]

``add`` writes a case from a saved page with the extractor's current output as the
expected JSON: review it before committing. ``refresh`` re-derives every expected JSON
from the current extractor and prints the diff (``--check``: print only, exit 1 on a
difference). ``from-replica`` renders the replica's articles and writes their expected JSON
from the replica's own data (the ground truth, independent of the extractor).
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.errors import NotAnArticle
from crawler.extract.page import DEFAULT_PAGE, ArticlePage, extract_article

FIXTURES = Path(__file__).parent / "fixtures"
REPLICA_FETCHED_AT = "2026-11-25T00:00:00+00:00"


def page_for_spider(spider: str) -> type[ArticlePage]:
    """The page class of the spider named like the fixture directory (else the default)."""
    from crawler.spiders import spider_classes  # the spider registry, only when wanted

    declared = spider_classes().get(spider)
    return declared.page if declared is not None else DEFAULT_PAGE


@dataclass(frozen=True)
class Case:
    spider: str
    name: str
    url: str
    fetched_at: datetime
    expected: dict[str, Any] | None
    not_an_article: str | None

    @property
    def id(self) -> str:
        return f"{self.spider}/{self.name}"

    @property
    def html_path(self) -> Path:
        return FIXTURES / self.spider / f"{self.name}.html.gz"

    @property
    def json_path(self) -> Path:
        return FIXTURES / self.spider / f"{self.name}.json"

    def html(self) -> bytes:
        return gzip.decompress(self.html_path.read_bytes())


def load_case(json_path: Path) -> Case:
    data = json.loads(json_path.read_text(encoding="utf-8"))
    return Case(
        spider=json_path.parent.name,
        name=json_path.name.removesuffix(".json"),
        url=data["url"],
        fetched_at=datetime.fromisoformat(data["fetched_at"]),
        expected=data.get("expected"),
        not_an_article=data.get("not_an_article"),
    )


def discover(spider: str | None = None) -> list[Case]:
    """Every case under ``tests/fixtures/<spider>/`` that has both files."""
    pattern = f"{spider}/*.json" if spider else "*/*.json"
    return [
        load_case(p)
        for p in sorted(FIXTURES.glob(pattern))
        if p.with_name(p.name.removesuffix(".json") + ".html.gz").exists()
    ]


def derive(html: bytes, url: str, fetched_at: datetime, spider: str) -> dict[str, Any]:
    """The extractor's current answer, in the case file's form."""
    try:
        article = extract_article(html, url, fetched_at, page_for_spider(spider))
    except NotAnArticle as exc:
        return {"not_an_article": exc.reason}
    return {"expected": article.fields()}


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n"


def write_case(
    spider: str,
    name: str,
    html: bytes,
    url: str,
    fetched_at: datetime,
    answer: dict[str, Any],
    source: str,
) -> Path:
    directory = FIXTURES / spider
    directory.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same page always gives the same bytes (no spurious git changes).
    (directory / f"{name}.html.gz").write_bytes(gzip.compress(html, mtime=0))
    data = {"url": url, "fetched_at": fetched_at.isoformat(), "source": source, **answer}
    path = directory / f"{name}.json"
    path.write_text(_dump(data), encoding="utf-8")
    return path


def case_name(answer: dict[str, Any], url: str, fetched_at: datetime) -> str:
    """ASCII ``<date>_<id>``: the published date (else fetch date) and the post id (else a hash)."""
    fields = answer.get("expected") or {}
    date = (fields.get("published_at") or fetched_at.isoformat())[:10]
    ident = fields.get("external_id") or hashlib.sha1(url.encode()).hexdigest()[:10]
    return f"{date}_{ident}"


# --- commands -------------------------------------------------------------------------


def cmd_add(args: argparse.Namespace) -> int:
    raw = args.file.read_bytes()
    html = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    fetched_at = (
        datetime.fromisoformat(args.fetched_at)
        if args.fetched_at
        else datetime.now(UTC).replace(microsecond=0)
    )
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    answer = derive(html, args.url, fetched_at, args.spider)
    name = args.name or case_name(answer, args.url, fetched_at)
    path = write_case(
        args.spider, name, html, args.url, fetched_at, answer, f"saved page {args.file.name}"
    )
    print(f"wrote {path} (review the expected fields before committing)")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    changed = 0
    for case in discover(args.spider):
        old = case.json_path.read_text(encoding="utf-8")
        data = json.loads(old)
        data.pop("expected", None)
        data.pop("not_an_article", None)
        data.update(derive(case.html(), case.url, case.fetched_at, case.spider))
        new = _dump(data)
        if new != old:
            changed += 1
            sys.stdout.writelines(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    f"a/{case.id}.json",
                    f"b/{case.id}.json",
                )
            )
            if not args.check:
                case.json_path.write_text(new, encoding="utf-8")
    print(f"{changed} case(s) {'differ' if args.check else 'rewritten'}", file=sys.stderr)
    return 1 if args.check and changed else 0


def replica_cases(spider: str = "furatpost") -> list[tuple[str, bytes, str, dict[str, Any]]]:
    """``(name, html, url, answer)`` for the replica's articles and a few non-articles."""
    from crawler.replica.themes import furatpost as theme
    from crawler.replica.world import Article, World, load_data

    data = load_data(spider)
    world = World(
        data["site"],
        [Article.from_json(p) for p in data["posts"]],
        data["authors"],
        data["categories"],
        data["tags"],
    )
    out: list[tuple[str, bytes, str, dict[str, Any]]] = []
    for article in world.published():
        url = theme.permalink(world, article)
        author = world.authors.get(article.author)
        image = article.featured_image
        expected = {
            "title": article.title,
            "subtitle": None,
            "body_text": article.body_text,
            "authors": [author.name if author else article.author],
            "published_at": world.local(article.date_gmt).isoformat(),
            "modified_at": world.local(article.modified_gmt).isoformat(),
            "section": world.categories[article.categories[0]].name if article.categories else None,
            "tags": list(article.tags),
            "image_url": theme.upload_url(world, image["file"]) if image else None,
            "language": "ar",
            "canonical_url": url,
            "external_id": str(article.id),
        }
        html = theme.render_article(world, article).encode("utf-8")
        name = f"{world.local(article.date_gmt):%Y-%m-%d}_{article.id}"
        out.append((name, html, url, {"expected": expected}))
        if article.id == world.meta.get("seed_post_id"):
            # The same page as the replica's windows-1256 fault serves it: declared only in <meta>.
            legacy = theme.render_article(world, article).replace(
                '<meta charset="UTF-8">',
                '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">',
            )
            out.append(
                (
                    f"{name}_cp1256",
                    legacy.encode("cp1256", "xmlcharrefreplace"),
                    url,
                    {"expected": expected},
                )
            )
    base = theme.base_url(world)
    posts = world.published()
    out.append(
        (
            "home_page1",
            theme.render_listing(
                world, world.meta["name"], "/", posts[:10], 1, 2, "home blog"
            ).encode(),
            base + "/",
            {"not_an_article": "listing"},
        )
    )
    out.append(
        (
            "not_found",
            theme.render_not_found(world).encode(),
            base + "/no-such-post/",
            {"not_an_article": "error_page"},
        )
    )
    return out


def cmd_from_replica(args: argparse.Namespace) -> int:
    fetched_at = datetime.fromisoformat(REPLICA_FETCHED_AT)
    for name, html, url, answer in replica_cases(args.spider):
        path = write_case(
            args.spider,
            name,
            html,
            url,
            fetched_at,
            answer,
            "replica (expected from its data file)",
        )
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.golden", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="write a new case from a saved page")
    add.add_argument("file", type=Path)
    add.add_argument("--spider", required=True)
    add.add_argument("--url", required=True)
    add.add_argument("--fetched-at", default=None)
    add.add_argument("--name", default=None, help="case name (default: <date>_<id>)")
    add.set_defaults(func=cmd_add)
    refresh = commands.add_parser("refresh", help="re-derive expected JSON and print the diff")
    refresh.add_argument("--spider", default=None)
    refresh.add_argument("--check", action="store_true", help="only print the diff")
    refresh.set_defaults(func=cmd_refresh)
    replica = commands.add_parser("from-replica", help="write cases rendered by the replica")
    replica.add_argument("--spider", default="furatpost")
    replica.set_defaults(func=cmd_from_replica)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
