"""Scrapy settings for every akhbar spider.

Politeness is on by default; benchmarks and tests turn delays off explicitly (``-s``). A news
spider's own delay and concurrency come from its ``politeness`` declaration
(crawler/politeness.py), set at spider priority over the defaults below.
"""

from crawler.config import contact_url

BOT_NAME = "akhbar"
SPIDER_MODULES = ["crawler.spiders"]
# The one spider registry (crawler.spiders.spider_classes), for Scrapy too.
SPIDER_LOADER_CLASS = "crawler.spiders.SpiderRegistry"
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = f"akhbar/0.1 (+{contact_url()}; news archive for research)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Retries wait: Retry-After on 429/503 (up to RETRY_AFTER_MAX), else exponential backoff.
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0

DOWNLOADER_MIDDLEWARES = {
    # robots.txt once per host (shared with the spider), Crawl-delay, a site's proxy.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.politeness.PolitenessMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # After decompression (590), before retries (550): a challenge is never retried.
    "crawler.middlewares.ChallengeMiddleware": 560,
    # Before decompression (590) changes them: the headers as received, for the archive.
    "crawler.middlewares.ReceivedHeadersMiddleware": 595,
}
HTTPCACHE_ENABLED = False
COOKIES_ENABLED = False

# No remote control port and no telnet console in a long-running archive crawler.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

ITEM_PIPELINES = {
    "pipelines.clean.CleanPipeline": 300,
    "pipelines.validate.ValidatePipeline": 400,
    "pipelines.dedupe.DedupePipeline": 500,
    "pipelines.store.StorePipeline": 900,
}

EXTENSIONS = {
    # AutoThrottle that never lowers a slot below its robots.txt Crawl-delay.
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.politeness.PoliteAutoThrottle": 0,
    "crawler.runs.CrawlRunRecorder": 100,
}

# How often a crawl checks that it still holds its site lock (crawler/db/locks.py).
AKHBAR_LOCK_CHECK_SECONDS = 10.0

# Store pipeline: one transaction per batch.
STORE_BATCH_SIZE = 200
STORE_BATCH_SECONDS = 2.0
# A database that stops answering (pipelines/store.py): a batch write (or the run's end)
# with no commit for this many seconds is an outage: retried, then spooled.
STORE_BATCH_TIMEOUT = 60.0

# scrapy-playwright: only requests with meta={"playwright": True} use the browser.
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": "/usr/bin/chromium",
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ],
}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Our `scrapy crawl` (checked arguments, exit status from the run): crawler/commands/crawl.py.
COMMANDS_MODULE = "crawler.commands"
