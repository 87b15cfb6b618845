"""A spider module for test crawls only (``-s SPIDER_MODULES=tests.politeness_spiders``):
Furat Post as served by the replica, declaring an outbound proxy."""

from crawler.politeness import Politeness
from crawler.spiders.furatpost import FuratPostSpider

PROXY_ENV = "AKHBAR_PROXY_TESTSITE"


class ProxiedFuratPostSpider(FuratPostSpider):
    name = "furatpost_proxied"
    politeness = Politeness(delay=1.0, concurrency=2, proxy_env=PROXY_ENV)
