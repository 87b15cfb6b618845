"""The baseline of the crawl benchmark: a trivial Scrapy spider, no akhbar code in it.

    python bench/bare_spider.py ROBOTS_URL --skip REGEX --stats FILE [-s KEY=VALUE ...]

It fetches robots.txt, the sitemaps robots.txt names, the child sitemaps of an index and
every page a sitemap lists, and parses nothing beyond following sitemap ``<loc>``s: what
bare Scrapy costs for the requests akhbar's page path makes (``bench/crawl.py`` runs both
against the same replica). ``--skip``: ``<loc>``s not followed (the child sitemaps and URLs
akhbar skips too). Scrapy's stats (``elapsed_time_seconds``, ``bare/pages``) are written
to FILE as JSON. Its own process, like a real crawl; only the ``-s`` settings apply.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

_LOC = re.compile(rb"<loc>\s*([^<\s]+)\s*</loc>")
_ROBOTS_SITEMAP = re.compile(rb"(?im)^\s*sitemap:\s*(\S+)")


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, robots_url: str, skip: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.robots_url = robots_url
        self.skip = re.compile(skip)

    async def start(self) -> Any:
        yield scrapy.Request(self.robots_url, self.parse_robots)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        for url in _ROBOTS_SITEMAP.findall(response.body):
            yield scrapy.Request(url.decode(), self.parse_sitemap)

    def parse_sitemap(self, response: Response) -> Iterator[scrapy.Request]:
        index = b"<sitemapindex" in response.body[:4096]
        for loc in _LOC.findall(response.body):
            url = html.unescape(loc.decode())
            if not self.skip.search(url):
                yield scrapy.Request(url, self.parse_sitemap if index else self.parse_page)

    def parse_page(self, response: Response) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("bare/pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("robots_url")
    parser.add_argument("--skip", required=True, help="regex of <loc>s not followed")
    parser.add_argument("--stats", required=True, help="file for Scrapy's stats (JSON)")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    settings = dict(s.split("=", 1) for s in args.settings)
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, robots_url=args.robots_url, skip=args.skip)
    process.start()
    assert crawler.stats is not None
    with open(args.stats, "w", encoding="utf-8") as fh:
        json.dump(crawler.stats.get_stats(), fh, default=str)


if __name__ == "__main__":
    main()
