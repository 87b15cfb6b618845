"""One article reached under several URLs in one crawl is stored once.

Identity is what ``revisions.record`` resolves by, the one rule of ``crawler.identity``:
the site's external id when the item has one, else the ``url_key`` of any of its URLs. For
each article seen in this crawl we keep the raw URLs seen and the content hash of the first
item, nothing more (memory stays small).

A later item of the same article
* that brings no URL we have not seen is dropped (``dedupe/dropped``);
* that brings new URLs (a ``?p=ID`` shortlink, a feed link with ``utm_*``) passes on, so the
  archive keeps every URL: its content is the same, so recording it adds the URLs and no
  revision (``dedupe/merged_urls`` counts the URLs). If its content differs from the first
  item's (another rendering, e.g. AMP) it still passes, counted in
  ``dedupe/content_differs``: what was observed is recorded, not hidden.

``ArticleSeen`` and ``ArticleGone`` repeated for the same article are dropped too.
Anything that is not an observation passes untouched.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.extract.text import content_hash
from crawler.extract.urls import url_key
from crawler.identity import IdentityIndex
from crawler.items import ArticleGone, ArticleItem, ArticleSeen


@dataclass(slots=True)
class _Article:
    external_id: str | None
    digest: bytes
    urls: set[str] = field(default_factory=set)


class DedupePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self._articles: defaultdict[str, IdentityIndex[_Article]] = defaultdict(IdentityIndex)
        self._other: set[tuple[Any, ...]] = set()  # ArticleSeen / ArticleGone identities

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            return self._article(item)
        if isinstance(item, ArticleSeen | ArticleGone):
            ident = item.external_id or (url_key(item.url) if item.url else None)
            if ident is not None:
                key = (type(item).__name__, item.site, ident)
                if key in self._other:
                    self.stats.inc_value("dedupe/dropped")
                    raise DropItem(f"duplicate {type(item).__name__} of {ident}", log_level="DEBUG")
                self._other.add(key)
        return item

    def _article(self, item: ArticleItem) -> ArticleItem:
        urls = item.all_urls()
        keys = list(dict.fromkeys(url_key(u) for u in urls))
        seen = self._articles[item.site]
        article = seen.resolve(item.external_id, keys)
        if article is None:
            article = _Article(item.external_id, content_hash(**item.hashed_fields()), set(urls))
            seen.add(article, keys)
            return item
        new_urls = [u for u in urls if u not in article.urls]
        if not new_urls:
            self.stats.inc_value("dedupe/dropped")
            raise DropItem(
                f"duplicate of an article already seen in this crawl: {item.url}",
                log_level="DEBUG",  # expected and counted; not worth a warning each
            )
        article.urls.update(new_urls)
        if article.external_id is None and item.external_id:
            article.external_id = item.external_id
        seen.add(article, keys)
        self.stats.inc_value("dedupe/merged_urls", len(new_urls))
        if content_hash(**item.hashed_fields()) != article.digest:
            self.stats.inc_value("dedupe/content_differs")
        return item
