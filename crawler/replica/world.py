"""The replica's world: a site's articles and the changes made to them between crawls.

All mutations take the lock and bump ``generation``, which every cache in the server keys on,
so a page rendered before an edit is never served after it.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from crawler.replica.slugs import wp_slugify

DATA_DIR = Path(__file__).parent / "data"

PUBLISHED = "publish"
DELETED = "deleted"  # answers 404 or 410
SOFT_DELETED = "soft_deleted"  # answers a redirect to the home page or a "not found" page with 200


def _parse_gmt(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


@dataclass(slots=True)
class Article:
    """One WordPress post as the replica serves it.

    ``paragraphs`` is the article text; ``byline`` the credit line the content opens with
    ("فرات بوست / أخبار"), which is body by the body rule (``body_text`` is the body exactly as
    an ideal extractor returns it). ``inline`` (read-also links, captioned images,
    related-link blocks, each placed after a paragraph index) is the junk the site puts
    inside the content.
    """

    id: int
    slug: str  # decoded (raw Arabic); URLs carry it lower-case percent-encoded
    title: str
    author: str  # author slug
    date_gmt: datetime  # aware, UTC
    modified_gmt: datetime  # aware, UTC
    paragraphs: list[str]
    categories: list[str] = field(default_factory=list)  # category slugs
    tags: list[str] = field(default_factory=list)  # tag names
    byline: str | None = None
    inline: list[dict[str, Any]] = field(default_factory=list)
    featured_image: dict[str, Any] | None = None
    status: str = PUBLISHED
    gone_status: int = 404  # for DELETED
    soft_mode: str = "home_redirect"  # for SOFT_DELETED
    old_slugs: list[str] = field(default_factory=list)

    @property
    def body_text(self) -> str:
        """The body as published: the credit line, then the paragraphs."""
        return "\n\n".join([*([self.byline] if self.byline else []), *self.paragraphs])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Article:
        return cls(
            id=int(data["id"]),
            slug=data.get("slug") or wp_slugify(data["title"]),
            title=data["title"],
            author=data.get("author", "admindiaa"),
            date_gmt=_parse_gmt(data["date_gmt"]),
            modified_gmt=_parse_gmt(data.get("modified_gmt") or data["date_gmt"]),
            paragraphs=list(data["paragraphs"]),
            categories=list(data.get("categories", [])),
            tags=list(data.get("tags", [])),
            byline=data.get("byline"),
            inline=list(data.get("inline", [])),
            featured_image=data.get("featured_image"),
        )


@dataclass(slots=True)
class Term:
    id: int
    slug: str
    name: str
    parent: int = 0


class World:
    """Articles of one site, with thread-safe mutations (called from test threads)."""

    def __init__(
        self,
        meta: dict[str, Any],
        articles: Iterable[Article],
        authors: list[dict[str, Any]],
        categories: list[dict[str, Any]],
        tags: list[dict[str, Any]],
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.meta = meta
        self.host: str = meta["host"]
        self.tz = ZoneInfo(meta.get("timezone", "UTC"))
        self.clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.generation = 0
        self.authors = {a["slug"]: Term(a["id"], a["slug"], a["name"]) for a in authors}
        self.categories = {
            c["slug"]: Term(c["id"], c["slug"], c["name"], c.get("parent", 0)) for c in categories
        }
        self.tags = {t["name"]: Term(t["id"], t["slug"], t["name"]) for t in tags}
        self.posts: dict[int, Article] = {}
        self._by_slug: dict[str, int] = {}
        self._derived: dict[str, tuple[int, Any]] = {}
        for article in articles:
            self._insert(article)

    # -- reading -------------------------------------------------------------------------

    def local(self, when: datetime) -> datetime:
        """``when`` in the site's time zone (aware)."""
        return when.astimezone(self.tz)

    def get(self, post_id: int) -> Article | None:
        return self.posts.get(post_id)

    def find_slug(self, slug: str) -> Article | None:
        """The post whose current or former slug is ``slug`` (decoded)."""
        post_id = self._by_slug.get(slug)
        return self.posts.get(post_id) if post_id is not None else None

    def derived(self, key: str, build: Callable[[World], Any]) -> Any:
        """``build(self)``, kept until the world changes (rendered chrome, orderings)."""
        hit = self._derived.get(key)
        if hit is None or hit[0] != self.generation:
            with self.lock:
                hit = self._derived[key] = (self.generation, build(self))
        return hit[1]

    def published(self) -> list[Article]:
        """Published posts, newest first (WordPress's default order)."""
        return self.derived(
            "published",
            lambda w: sorted(
                (a for a in w.posts.values() if a.status == PUBLISHED),
                key=lambda a: (a.date_gmt, a.id),
                reverse=True,
            ),
        )

    def term_for_tag(self, name: str) -> Term:
        term = self.tags.get(name)
        if term is None:
            with self.lock:
                term = self.tags.setdefault(
                    name, Term(10_000 + len(self.tags), name.replace(" ", "-"), name)
                )
        return term

    # -- mutations -----------------------------------------------------------------------

    def _insert(self, article: Article) -> None:
        self.posts[article.id] = article
        self._by_slug[article.slug] = article.id
        for tag in article.tags:
            self.term_for_tag(tag)

    def _touch(self, article: Article) -> None:
        # modified must move forward even when the clock is behind the data.
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        article.modified_gmt = max(now, article.modified_gmt + timedelta(seconds=1))
        self.generation += 1

    def _require(self, post_id: int) -> Article:
        article = self.posts.get(post_id)
        if article is None:
            raise KeyError(f"no post {post_id}")
        return article

    def edit(self, post_id: int, paragraph_index: int, new_text: str) -> Article:
        """Replace one body paragraph and bump modified/modified_gmt."""
        with self.lock:
            article = self._require(post_id)
            article.paragraphs[paragraph_index] = new_text
            self._touch(article)
            return article

    def retitle(self, post_id: int, new_title: str, new_slug: str | None = None) -> Article:
        """New title; with ``new_slug`` the old URL answers 301 to the new one."""
        with self.lock:
            article = self._require(post_id)
            article.title = new_title
            if new_slug and new_slug != article.slug:
                article.old_slugs.append(article.slug)
                article.slug = new_slug
                self._by_slug[new_slug] = post_id
            self._touch(article)
            return article

    def delete(self, post_id: int, status: int = 404) -> None:
        """The post disappears everywhere; its URL answers ``status`` (404 or 410)."""
        if status not in (404, 410):
            raise ValueError("status must be 404 or 410")
        with self.lock:
            article = self._require(post_id)
            article.status, article.gone_status = DELETED, status
            self.generation += 1

    def soft_delete(self, post_id: int, mode: str = "home_redirect") -> None:
        """Gone from listings; the URL redirects home or serves a "not found" page with 200."""
        if mode not in ("home_redirect", "not_found_200"):
            raise ValueError("mode must be home_redirect or not_found_200")
        with self.lock:
            article = self._require(post_id)
            article.status, article.soft_mode = SOFT_DELETED, mode
            self.generation += 1

    def restore(self, post_id: int) -> None:
        with self.lock:
            self._require(post_id).status = PUBLISHED
            self.generation += 1

    def add(self, article: Article | dict[str, Any]) -> Article:
        """Publish a new post (an ``Article`` or its JSON form; id/dates default to new/now)."""
        with self.lock:
            if isinstance(article, dict):
                data = dict(article)
                data.setdefault("id", max(self.posts, default=0) + 7)
                now = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
                data.setdefault("date_gmt", now)
                data.setdefault("modified_gmt", data["date_gmt"])
                article = Article.from_json(data)
            if article.id in self.posts:
                raise ValueError(f"post {article.id} exists")
            self._insert(article)
            self.generation += 1
            return article

    def snapshot(self, post_id: int) -> Article:
        """A deep copy, for tests that compare before and after."""
        with self.lock:
            return copy.deepcopy(self._require(post_id))


def load_data(name: str) -> dict[str, Any]:
    """The JSON data file ``crawler/replica/data/<name>.json``."""
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
