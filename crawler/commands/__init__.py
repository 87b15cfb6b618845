"""Scrapy commands of the project (``COMMANDS_MODULE``); ``crawl`` replaces Scrapy's own.

``crawl_command`` and ``crawl_environment`` are how every other part starts a crawl as a
process of its own (``akhbar crawl``, the scheduler, the crontab lines, the replica's
crawl runner), so each of them runs exactly this command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def crawl_command(spider: str, args: Sequence[str] = ()) -> list[str]:
    """``scrapy crawl SPIDER ARGS...`` with this interpreter (no PATH set-up needed)."""
    return [sys.executable, "-m", "scrapy", "crawl", spider, *args]


def crawl_environment() -> dict[str, str]:
    """This process's environment plus the project's settings, by module name: a crawl
    started with it works from any directory and from an installed package."""
    return {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
