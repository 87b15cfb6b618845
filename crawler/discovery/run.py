"""``Discovery``: one crawl's sources, their candidates, and the moment to decide.

Feeds (``Source.lends``) start first; when they are done the chain starts with its first
source, and the next one only when a source listed nothing (REST refused -> sitemaps ->
HTML listings). When the last walk is done, ``decide`` (crawler.discovery.decision) makes
the plan and the spider carries it out. Counters go to ``spider/`` (docs/crawl-stats.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from scrapy.exceptions import CloseSpider
from twisted.python.failure import Failure

from crawler.discovery.decision import Candidate, KnownIndex, Plan, decide
from crawler.discovery.sources import Source, Walk
from crawler.extract.urls import same_site, url_key
from crawler.politeness import refused_by_robots


def cheap_key(url: str) -> str:
    """A fast, looser identity (decoded lower-case path) to skip most ``url_key`` calls."""
    return unquote(urlsplit(url).path).lower().rstrip("/")


class Discovery:
    """What the sources of one crawl listed, and whether together they list everything."""

    def __init__(self, spider: Any, sources: Iterable[Source], known: KnownIndex) -> None:
        # ``spider``: the NewsSpider running the crawl (crawler.platforms.news), which
        # imports this module.
        self.spider = spider
        self.logger = spider.logger
        self.known = known
        self.since = spider.since
        self.refetch = spider.refetch
        self.walks: list[Walk] = [s.walk(self) for s in sources]
        self.lenders = [w for w in self.walks if w.source.lends]
        self.chain = [w for w in self.walks if not w.source.lends]
        self.candidates: dict[str, Candidate] = {}
        self.lent: list[Candidate] = []  # feed entries, candidates unless a source replaces them
        self.listed_ids: set[int] = set()  # known articles a source listed without a candidate
        self.robots_refused: list[str] = []
        self._alt_urls: dict[str, set[str]] = {}  # url_key or "id:N" -> raw URLs seen
        self._alt_paths: set[str] = set()  # cheap_key of every URL in _alt_urls
        self._bounds_warned: set[str] = set()
        self.article_url_re = (
            re.compile(spider.article_url_pattern) if spider.article_url_pattern else None
        )
        home = urlsplit(spider.base_url).path or "/"
        self.home_paths = {"", "/", home, home.rstrip("/")}
        self.decided = False

    # --- shared helpers for the walks ------------------------------------------------

    def inc(self, key: str, count: int = 1) -> None:
        self.spider.inc(key, count)

    def set_stat(self, key: str, value: Any) -> None:
        self.spider.crawler.stats.set_value(f"spider/{key}", value)

    def incomplete(self, reason: str) -> None:
        self.inc(f"incomplete/{reason}")

    def bound(self, source: Source | None, name: str) -> int:
        """A source's bound: its declaration, unless the ``AKHBAR_<NAME>`` setting
        (``download_maxsize`` is Scrapy's own ``DOWNLOAD_MAXSIZE``)."""
        settings = self.spider.crawler.settings
        if name == "download_maxsize":
            return settings.getint("DOWNLOAD_MAXSIZE")
        return settings.getint(f"AKHBAR_{name.upper()}", getattr(source, name))

    def bound_reached(self, source: Source | None, name: str, where: str) -> None:
        """A source stops at its bound: warned once per bound, counted each time."""
        if name not in self._bounds_warned:
            self._bounds_warned.add(name)
            self.logger.warning(
                "%s: bound %s=%d reached at %s; listing incomplete, no deletion checks",
                self.spider.name,
                name,
                self.bound(source, name),
                where,
            )
        self.inc(f"bound/{name}")
        self.incomplete(name)

    def own_url(self, url: str) -> bool:
        return self.spider.own_url(url)

    def absolute(self, path_or_url: str) -> str:
        return urljoin(self.spider.base_url, path_or_url)

    @property
    def timezone(self) -> str:
        return self.spider.page.profile.timezone

    def external_id_from_url(self, url: str) -> str | None:
        return self.spider.external_id_from_url(url)

    def listing_refused(self, failure: Failure) -> bool:
        """A listing request dropped by robots.txt or past ``DOWNLOAD_MAXSIZE``: counted
        (and logged) as such rather than as a failed fetch."""
        return self.refused_by_robots(failure) or self.too_large(failure)

    def too_large(self, failure: Failure) -> bool:
        """A listing response past ``DOWNLOAD_MAXSIZE`` (as sent, or inflated from a declared
        ``Content-Encoding``: a decompression bomb), dropped by Scrapy: a bound reached."""
        message = failure.getErrorMessage()
        if "DOWNLOAD_MAXSIZE" not in message and "download max size" not in message:
            return False
        self.inc("listing/too_large")
        self.bound_reached(None, "download_maxsize", failure.request.url)
        return True

    def refused_by_robots(self, failure: Failure) -> bool:
        """The site's robots.txt forbids the request (crawler.politeness); counted."""
        if refused_by_robots(failure):
            self.inc("robots_forbidden")
            self.robots_refused.append(failure.request.url)
            return True
        return False

    # --- candidates ------------------------------------------------------------------

    def is_article_url(self, url: str) -> bool:
        if not same_site(url, self.spider.allowed_domains):
            return False
        path = urlsplit(url).path
        if path.rstrip("/") == "" or path in self.home_paths:
            return False
        return self.article_url_re is None or bool(self.article_url_re.search(url))

    def add(self, candidate: Candidate, *, authoritative: bool = True) -> None:
        """Merge a listed article into this crawl's listing (by id, else by URL identity)."""
        if not self.own_url(candidate.url):
            self.inc(f"foreign/{candidate.source or 'listing'}")
            return
        if not self.is_article_url(candidate.url):
            return
        edition = self.spider.edition_of(candidate.url)
        if edition is None:  # another language edition the site does not declare
            self.inc("edition/undeclared")
            return
        candidate.language = candidate.language or edition.language
        key = f"id:{candidate.external_id}" if candidate.external_id else url_key(candidate.url)
        existing = self.candidates.get(key) or self.candidates.get(url_key(candidate.url))
        if existing is None:
            candidate.urls.add(candidate.url)
            candidate.source = candidate.source or "listing"
            self.candidates[key] = candidate
            return
        existing.urls |= candidate.urls | {candidate.url}
        if authoritative:
            existing.url = candidate.url  # a sitemap's URL beats a feed's tracking link
        if candidate.lastmod and (existing.lastmod is None or candidate.lastmod > existing.lastmod):
            existing.lastmod = candidate.lastmod
        existing.external_id = existing.external_id or candidate.external_id
        existing.published = existing.published or candidate.published
        existing.listed_at = min(existing.listed_at, candidate.listed_at)

    def lend(self, candidate: Candidate) -> None:
        """A feed entry: its spellings are remembered; it becomes a candidate at the end
        unless a source that replaces feeds (the REST API) answered."""
        self.remember_urls(url_key(candidate.url), candidate.urls)
        if candidate.external_id:
            self.remember_urls(f"id:{candidate.external_id}", candidate.urls)
        self.lent.append(candidate)

    def remember_urls(self, key: str, urls: Iterable[str]) -> None:
        urls = list(urls)
        self._alt_urls.setdefault(key, set()).update(urls)
        self._alt_paths.update(cheap_key(u) for u in urls)

    def other_urls(self, *urls: str | None, external_id: str | None = None) -> list[str]:
        """Every spelling of an article seen in this crawl, for ``ArticleItem.urls``."""
        found: set[str] = set()
        for url in urls:
            if url:
                found.add(url)
                # url_key is costly (w3lib): only for URLs whose path was seen elsewhere.
                if cheap_key(url) in self._alt_paths:
                    found |= self._alt_urls.get(url_key(url), set())
        if external_id:
            found |= self._alt_urls.get(f"id:{external_id}", set())
        return sorted(found)

    # --- the walks, in order -----------------------------------------------------------

    def start(self) -> Iterator[Any]:
        started = False
        for walk in self.lenders:
            walk.started = True
            for request in walk.start():
                started = True
                yield request
        if not started:
            yield from self._next_in_chain()

    def walk_done(self, walk: Walk) -> Iterator[Any]:
        """A walk's last request has answered: start what follows, or decide."""
        if walk.source.lends:
            if all(w.pending == 0 for w in self.lenders):
                yield from self._next_in_chain()
            return
        if walk.answered:
            yield from self.finish()
        else:
            yield from self._next_in_chain()

    def _next_in_chain(self) -> Iterator[Any]:
        for walk in self.chain:
            if walk.started:
                continue
            walk.started = True
            self.set_stat("discovery", walk.source.kind)
            requests = list(walk.start())
            if requests:
                yield from requests
                return
            if walk.answered:  # answered without a request (nothing to ask)
                break
        yield from self.finish()

    def walk_of(self, candidate: Candidate) -> Walk | None:
        return next((w for w in self.walks if w.source.kind == candidate.source), None)

    # --- the end of discovery ---------------------------------------------------------

    def complete(self) -> bool:
        """Together the sources named every article the site has."""
        return (
            any(w.vouches for w in self.chain)
            and not any(w.cut or w.spoiled for w in self.walks)
            and self.since is None
        )

    def replaces_feeds(self) -> bool:
        return any(w.answered and getattr(w, "replaces_feeds", False) for w in self.chain)

    def finish(self) -> Iterator[Any]:
        if self.decided:
            return
        self.decided = True
        states = ", ".join(f"{w.source.kind} {w.state}" for w in self.walks)
        self.set_stat("sources", states)
        self.logger.info("%s: sources: %s", self.spider.name, states)
        if not self.replaces_feeds():
            for candidate in self.lent:
                self.add(candidate, authoritative=False)
        answered = any(w.answered for w in self.chain)
        if not self.candidates and self.robots_refused and not answered:
            # Not an outage: the site asks not to be crawled. Nothing is fetched or removed.
            self.logger.error(
                "%s: robots.txt of %s disallows %s; nothing crawled",
                self.spider.name,
                self.spider.base_url,
                ", ".join(sorted(set(self.robots_refused))[:3]),
            )
            raise CloseSpider("robots_forbidden")
        if not self.candidates and self.spider.crawler.stats.get_value("spider/listing/failed"):
            # Nothing answered (DNS, refused connections, timeouts): a failed crawl, not an
            # empty site. crawl_runs records it as failed.
            self.logger.error(
                "%s: no discovery source answered; the site is unreachable", self.spider.name
            )
            raise CloseSpider("site_unreachable")
        plan: Plan = decide(
            self.candidates.values(),
            self.known,
            since=self.since,
            refetch=self.refetch,
            complete=self.complete(),
            listed_ids=self.listed_ids,
        )
        yield from self.spider.carry_out(plan, self)
