"""``WordPressSpider``: a WordPress news site as a declaration.

Discovery prefers what survives theme changes (crawler.discovery), in this order:

1. the REST API (``WordPressRest``): the whole archive from the JSON on a first crawl, the
   cheap id listing and batches of new and changed posts later;
2. when the REST API is refused: sitemaps (robots.txt, ``wp-sitemap.xml``,
   ``sitemap_index.xml``) with lastmod, and the RSS feed (``/feed/``, read first anyway:
   it lends ``utm_*`` links and ``?p=ID`` shortlinks);
3. HTML listings, when a site declares them, only when nothing else lists articles.
"""

from __future__ import annotations

from typing import Any, ClassVar

from crawler.discovery.feed import Feed
from crawler.discovery.rest import WordPressRest, parse_gmt, wordpress_post_id
from crawler.discovery.sitemap import WORDPRESS_SKIP, WORDPRESS_WELL_KNOWN, Sitemaps
from crawler.discovery.sources import Source
from crawler.extract.page import ArticlePage, WordPressPage
from crawler.items import ArticleItem, Fetch
from crawler.platforms.news import NewsSpider

__all__ = ["WORDPRESS_SOURCES", "WordPressSpider", "parse_gmt", "wordpress_post_id"]

# What every WordPress site offers: its feed, the REST API, the sitemaps.
WORDPRESS_SOURCES: tuple[Source, ...] = (
    Feed("/feed/"),
    WordPressRest(),
    Sitemaps(well_known=WORDPRESS_WELL_KNOWN, skip=WORDPRESS_SKIP),
)


class WordPressSpider(NewsSpider):
    """Base of WordPress outlets: declare name, outlet_name, allowed_domains, base_url..."""

    page: ClassVar[type[ArticlePage]] = WordPressPage
    sources: ClassVar[tuple[Source, ...]] = WORDPRESS_SOURCES

    def external_id_from_url(self, url: str) -> str | None:
        return super().external_id_from_url(url) or wordpress_post_id(url)

    def extract_rest(self, post: dict[str, Any], fetch: Fetch, entry: str) -> ArticleItem:
        """One REST entry as an ``ArticleItem`` (raises ``NotAnArticle``)."""
        from crawler.extract.wordpress import extract_rest_post

        extracted = extract_rest_post(post, fetch.fetched_at, self.page)
        return extracted.to_item(self.name, fetch=fetch, fetch_entry=entry)
