"""Discovery: where a site's articles are listed, and what a crawl fetches.

- ``sources``: the declared source objects' base (``Source``) and one crawl's ``Walk``;
- ``rest.WordPressRest``, ``sitemap.Sitemaps`` / ``sitemap.NewsSitemap``, ``feed.Feed``,
  ``listing.Listing``: the source kinds, each owning its requests, parsing and bounds;
- ``editions.Edition``: a language edition a site declares;
- ``decide``: the pure decision (candidates + the archive's knowledge -> ``Plan``);
- ``run.Discovery``: one crawl's walks in order, and when to decide.

The parsers of bytes (sitemaps, feeds, listing pages) are ``crawler.discovery.parse``; the
Scrapy glue that runs all this is ``crawler.platforms.news.NewsSpider``.
"""

from crawler.discovery.decision import Candidate, KnownIndex, Plan, decide
from crawler.discovery.editions import Edition
from crawler.discovery.feed import Feed
from crawler.discovery.listing import Listing
from crawler.discovery.rest import WordPressRest
from crawler.discovery.sitemap import NewsSitemap, Sitemaps
from crawler.discovery.sources import Source, Walk

__all__ = [
    "Candidate",
    "Edition",
    "Feed",
    "KnownIndex",
    "Listing",
    "NewsSitemap",
    "Plan",
    "Sitemaps",
    "Source",
    "Walk",
    "WordPressRest",
    "decide",
]
