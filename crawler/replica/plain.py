"""A small outlet that is not WordPress, for the discovery sources' tests: HTML listings
with a numbers-only pager and ``<base href>``, feeds in windows-1256, a sitemap, and an
English edition under ``/en/``. Served by ``Replica([PlainSite()])`` like any replica site.

    /news/articles/{n}      listing page n (also /?page={n}): newest first, PER_PAGE cards,
                            links relative to <base href="/">, a pager of bare numbers, 404
                            past the last page; each card has a <span class="date">
    /news/article/{id}/{slug}/      the article (ETag-less; Last-Modified and 304)
    /en/news/article/{id}/{slug}/   an English edition article (no lang markup)
    /sitemap.xml            every article of both editions, with lastmod
    /news-sitemap.xml       Google News: the NEWS_SITEMAP newest, publication dates only
    /feed-http.xml          windows-1256, charset only in the HTTP header
    /feed-xml.xml           windows-1256, encoding only in the XML declaration
    /feed-mislabelled.xml   windows-1256 bytes served as charset=UTF-8 (a site's mistake)
    /robots.txt             allows everything, names the sitemap

The outlets declared on it (``PLAIN_SPIDERS``) are loaded with
``-s SPIDER_MODULES=crawler.spiders,crawler.replica.plain``; ``crawler.spiders`` (the
registry of real outlets) does not list them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import escape
from urllib.parse import quote

from crawler.discovery import Edition, Feed, Listing, NewsSitemap, Sitemaps
from crawler.platforms.news import NewsSpider
from crawler.replica.messages import Request, Response, html, http_date

HOST = "akhbar-plain.example"
PER_PAGE = 5
NEWS_SITEMAP = 3  # articles a Google News sitemap lists (the last two days', on a real site)
SPIDER_MODULES = "crawler.spiders,crawler.replica.plain"
BASE_TIME = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
WORDS = (
    "أفاد مراسلون في ريف دير الزور الشرقي بأن الأهالي يعانون من انقطاع المياه منذ أيام "
    "وسط ارتفاع درجات الحرارة وغياب أي حلول من الجهات المعنية بإدارة المنطقة"
).split()
ENGLISH = (
    "Residents of the eastern countryside of Deir ez-Zor said water has been cut for days "
    "while temperatures rise and the local administration offers no solution"
).split()
# The three feeds split the articles between them (id % 3).
FEEDS = ("/feed-http.xml", "/feed-xml.xml", "/feed-mislabelled.xml")


@dataclass(slots=True)
class PlainArticle:
    id: int
    title: str
    slug: str  # Arabic, raw
    paragraphs: list[str]
    published: datetime
    modified: datetime
    language: str = "ar"
    deleted: bool = False

    @property
    def path(self) -> str:
        prefix = "/en" if self.language == "en" else ""
        return f"{prefix}/news/article/{self.id}/{self.slug}/"


def _arabic(n: int) -> PlainArticle:
    paragraphs = [
        " ".join(WORDS[(n + p + k) % len(WORDS)] for k in range(20)) + f" ({n}-{p})."
        for p in range(3)
    ]
    when = BASE_TIME + timedelta(hours=n)
    return PlainArticle(n, f"خبر رقم {n} من ريف دير الزور", f"خبر-{n}", paragraphs, when, when)


def _english(n: int) -> PlainArticle:
    paragraphs = [
        " ".join(ENGLISH[(n + p + k) % len(ENGLISH)] for k in range(20)) + f" ({n}-{p})."
        for p in range(3)
    ]
    when = BASE_TIME + timedelta(hours=n)
    return PlainArticle(
        n, f"Report {n} from Deir ez-Zor", f"report-{n}", paragraphs, when, when, "en"
    )


@dataclass
class PlainSite:
    count: int = 12  # Arabic articles, ids 1..count
    english: int = 2  # English edition articles, ids 1001...
    name: str = "plain"
    host: str = HOST
    articles: dict[int, PlainArticle] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for n in range(1, self.count + 1):
            self.articles[n] = _arabic(n)
        for n in range(1001, 1001 + self.english):
            self.articles[n] = _english(n)

    @property
    def hosts(self) -> set[str]:
        return {self.host}

    # --- what tests change and ask -------------------------------------------------------

    def url(self, article_id: int) -> str:
        """The article's URL as a crawl stores it (the slug percent-encoded)."""
        return f"https://{self.host}{quote(self.articles[article_id].path)}"

    def arabic(self) -> list[PlainArticle]:
        """Arabic articles on the site, newest first (the listing's order)."""
        live = [a for a in self.articles.values() if a.language == "ar" and not a.deleted]
        return sorted(live, key=lambda a: a.published, reverse=True)

    def delete(self, article_id: int) -> None:
        self.articles[article_id].deleted = True

    def edit(self, article_id: int, paragraph: str) -> None:
        article = self.articles[article_id]
        article.paragraphs = [paragraph, *article.paragraphs[1:]]
        article.modified = datetime.now(UTC).replace(microsecond=0)

    # --- serving ---------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        path = req.path
        if path == "/robots.txt":
            body = f"User-agent: *\nAllow: /\nSitemap: https://{self.host}/sitemap.xml\n"
            return Response(200, body.encode(), [("Content-Type", "text/plain")])
        if path == "/sitemap.xml":
            return self.sitemap()
        if path == "/news-sitemap.xml":
            return self.news_sitemap()
        if path in FEEDS:
            return self.feed(path)
        if path == "/" or path.startswith("/news/articles/"):
            page = dict(req.query).get("page") if path == "/" else path.rsplit("/", 1)[1]
            return self.listing(int(page) if page and page.isdigit() else 1)
        for article in self.articles.values():
            if path.rstrip("/") == article.path.rstrip("/"):
                return self.page(article, req)
        return html("<html><body><h1>الصفحة غير موجودة</h1></body></html>", 404)

    def listing(self, number: int) -> Response:
        live = self.arabic()
        cards = live[(number - 1) * PER_PAGE : number * PER_PAGE]
        if not cards:
            return html("<html><body><h1>الصفحة غير موجودة</h1></body></html>", 404)
        pages = (len(live) + PER_PAGE - 1) // PER_PAGE
        items = "".join(
            f'<div class="card"><a class="headline" href="{escape(a.path.lstrip("/"))}">'
            f'{escape(a.title)}</a><span class="date">{a.published:%Y-%m-%d %H:%M}</span></div>'
            for a in cards
        )
        pager = " ".join(f'<a href="news/articles/{n}">{n}</a>' for n in range(1, pages + 1))
        return html(
            '<html lang="ar"><head><meta charset="utf-8"><base href="/">'
            f"<title>الأخبار - صفحة {number}</title></head><body><main>{items}</main>"
            f'<nav class="pager">{pager}</nav><a href="about/">من نحن</a></body></html>'
        )

    def page(self, article: PlainArticle, req: Request) -> Response:
        if article.deleted:
            return html("<html><body><h1>الصفحة غير موجودة</h1></body></html>", 404)
        since = req.headers.get("if-modified-since")
        if since:
            try:
                if article.modified <= parsedate_to_datetime(since):
                    return Response(304, b"", [("Last-Modified", http_date(article.modified))])
            except (TypeError, ValueError):
                pass
        lang = ' lang="ar"' if article.language == "ar" else ""
        body = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
        url = f"https://{self.host}{quote(article.path)}"
        return html(
            f'<html{lang}><head><meta charset="utf-8"><title>{escape(article.title)}</title>'
            f'<link rel="canonical" href="{url}">'
            f'<meta property="og:title" content="{escape(article.title)}">'
            f'<meta property="article:published_time" content="{article.published.isoformat()}">'
            f'<meta property="article:modified_time" content="{article.modified.isoformat()}">'
            f"</head><body><article><h1>{escape(article.title)}</h1>"
            f'<div class="entry-content">{body}</div></article></body></html>',
            headers=[("Last-Modified", http_date(article.modified))],
        )

    def sitemap(self) -> Response:
        entries = "".join(
            f"<url><loc>https://{self.host}{quote(a.path)}</loc>"
            f"<lastmod>{a.modified.isoformat()}</lastmod></url>"
            for a in self.articles.values()
            if not a.deleted
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        )
        return Response(200, body.encode(), [("Content-Type", "application/xml; charset=UTF-8")])

    def news_sitemap(self) -> Response:
        entries = "".join(
            f"<url><loc>https://{self.host}{quote(a.path)}</loc><news:news><news:publication>"
            "<news:name>أخبار تجريبية</news:name><news:language>ar</news:language>"
            f"</news:publication><news:publication_date>{a.published.isoformat()}"
            f"</news:publication_date><news:title>{escape(a.title)}</news:title></news:news></url>"
            for a in self.arabic()[:NEWS_SITEMAP]
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
            f' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>'
        )
        return Response(200, body.encode(), [("Content-Type", "application/xml; charset=UTF-8")])

    def feed(self, path: str) -> Response:
        """RSS in windows-1256: links with raw Arabic slugs, readable only when decoded right."""
        which = FEEDS.index(path)
        items = "".join(
            f"<item><title>{escape(a.title)}</title>"
            f"<link>https://{self.host}{escape(a.path)}?utm_source=rss</link>"
            f"<pubDate>{http_date(a.published)}</pubDate></item>"
            for a in self.arabic()
            if a.id % 3 == which
        )
        declaration = ' encoding="windows-1256"' if path == "/feed-xml.xml" else ""
        text = (
            f'<?xml version="1.0"{declaration}?><rss version="2.0"><channel>'
            f"<title>أخبار تجريبية</title>{items}</channel></rss>"
        )
        content_type = {
            "/feed-http.xml": "application/rss+xml; charset=windows-1256",
            "/feed-xml.xml": "application/rss+xml",
            "/feed-mislabelled.xml": "application/rss+xml; charset=UTF-8",
        }[path]
        return Response(200, text.encode("cp1256"), [("Content-Type", content_type)])


# --- outlets on the plain site ---------------------------------------------------------


class PlainOutlet(NewsSpider):
    outlet_name = "أخبار تجريبية"
    allowed_domains = [HOST]
    base_url = f"https://{HOST}/"


class PlainListingSpider(PlainOutlet):
    """Listings only: a numbers-only pager, walked wholly each crawl."""

    name = "plain_listing"
    sources = (
        Listing(
            "/news/articles/1",
            pages="/news/articles/{n}",
            link_css="a.headline",
            date_css=".date",
            stop_at_known=False,  # a small outlet: the whole walk is cheap, deletions checked
        ),
    )


class PlainPagerSpider(PlainOutlet):
    """The home page's ``/?page={n}``, stopping at the first page of known articles."""

    name = "plain_pager"
    sources = (Listing("/", pages="/?page={n}", link_css="a.headline", date_css=".date"),)


class PlainFeedsSpider(PlainOutlet):
    name = "plain_feeds"
    sources = (
        Feed("/feed-http.xml"),
        Feed("/feed-xml.xml"),
        Feed("/feed-mislabelled.xml", encoding="windows-1256"),
    )


class PlainNewsSitemapSpider(PlainOutlet):
    """Only a Google News sitemap: recent articles, never a complete listing."""

    name = "plain_news"
    sources = (NewsSitemap(),)


class PlainSitemapSpider(PlainOutlet):
    """Sitemaps from robots.txt; the Arabic edition only (``/en/`` is not crawled)."""

    name = "plain_sitemap"
    sources = (Sitemaps(),)


class PlainEditionsSpider(PlainOutlet):
    name = "plain_editions"
    sources = (Sitemaps(),)
    editions = (Edition("ar", "/"), Edition("en", "/en/"))


PLAIN_SPIDERS = (
    PlainListingSpider,
    PlainPagerSpider,
    PlainFeedsSpider,
    PlainNewsSitemapSpider,
    PlainSitemapSpider,
    PlainEditionsSpider,
)
