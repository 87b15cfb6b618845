"""``scrapy crawl SITE``: Scrapy's crawl, with checked arguments and an honest exit status.

Scrapy's own command exits 0 whatever happened to the crawl, prints a traceback for an
unknown spider and lets any ``-a`` through. This one, used by ``scrapy crawl``,
``akhbar crawl``, cron and the scheduler alike:

* refuses an unknown spider with one line listing the spiders, and arguments the spider
  does not declare (``crawler.arguments``) with one line naming what it accepts: exit 2;
* exits with the status of the crawl run (``crawler.runs.exit_status``; the table is in
  docs/crawl-stats.md): 0 finished or skipped, 1 failed, 3 partial, 4 spooled, 130/143
  interrupted by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.crawler import AsyncCrawlerProcess, CrawlerProcess
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.reactor import _asyncio_reactor_path

from crawler.arguments import InvalidArguments, check_arguments
from crawler.config import DEFAULT_CONTACT_URL, contact_url_is_default
from crawler.runs import EXIT_INVALID_ARGUMENTS, STATUS_STAT, exit_status

logger = logging.getLogger(__name__)


class _SignalsRemembered:
    """Mixin for Scrapy's crawler processes: remembers the first shutdown signal."""

    shutdown_signal: int | None = None

    def _remember(self, signum: int) -> None:
        if self.shutdown_signal is None:
            self.shutdown_signal = signum

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        self._remember(signum)
        super()._signal_shutdown(signum, frame)  # type: ignore[misc]

    def _signal_shutdown_reactorless(self, signum: int, frame: Any) -> None:
        self._remember(signum)
        super()._signal_shutdown_reactorless(signum, frame)  # type: ignore[misc]


class ArchiveAsyncCrawlerProcess(_SignalsRemembered, AsyncCrawlerProcess):
    pass


class ArchiveCrawlerProcess(_SignalsRemembered, CrawlerProcess):
    pass


def _ignore_late_signal(signum: int, _frame: Any) -> None:
    # The crawl is over and its run recorded; a stop request now must not turn a
    # finished crawl into a process killed by a signal.
    pass


class Command(ScrapyCrawlCommand):
    requires_crawler_process = False  # built here, to learn which signal stopped it

    def short_desc(self) -> str:
        return "Crawl one site into the archive (exit status: docs/crawl-stats.md)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider: scrapy crawl SITE")
        name = args[0]
        assert self.settings is not None
        loader = get_spider_loader(self.settings)
        try:
            spidercls = loader.load(name)
        except KeyError:
            self._refuse(f"no spider named {name!r}; spiders: {', '.join(sorted(loader.list()))}")
            return
        declared = getattr(spidercls, "arguments", None)
        if declared is not None:
            try:
                check_arguments(name, declared, opts.spargs)
            except InvalidArguments as exc:
                self._refuse(str(exc))
                return
        process = self._process()  # configures logging
        if contact_url_is_default():
            logger.warning(
                "AKHBAR_CONTACT_URL is not set: the User-Agent gives the project's own contact"
                " (%s); set it to a page where site operators can reach you",
                DEFAULT_CONTACT_URL,
            )
        crawler = process.create_crawler(spidercls)
        process.crawl(crawler, **opts.spargs)
        process.start()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _ignore_late_signal)
        assert crawler.stats is not None
        status = crawler.stats.get_value(STATUS_STAT)
        self.exitcode = exit_status(status, process.shutdown_signal)

    def _process(self) -> ArchiveAsyncCrawlerProcess | ArchiveCrawlerProcess:
        # The same choice as scrapy.cmdline makes for its own commands.
        settings = self.settings
        assert settings is not None
        if (
            settings["TWISTED_REACTOR"] == _asyncio_reactor_path
            and not settings.getbool("FORCE_CRAWLER_PROCESS")
        ) or not settings.getbool("TWISTED_REACTOR_ENABLED"):
            return ArchiveAsyncCrawlerProcess(settings)
        return ArchiveCrawlerProcess(settings)

    def _refuse(self, message: str) -> None:
        print(f"scrapy crawl: {message}", file=sys.stderr)
        self.exitcode = EXIT_INVALID_ARGUMENTS
