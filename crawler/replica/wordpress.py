"""The WordPress site profile: what a WordPress news site answers at each URL.

Pages in the site's theme, category/tag/author listings, ``/?p=ID`` shortlinks, the RSS2 feed,
Yoast (default) or core sitemaps, robots.txt and the REST API ``/wp-json/wp/v2/posts`` with the
shapes, parameters, headers and errors WordPress really has. Mutations come from ``World``.

Known WordPress behaviours reproduced on purpose:
- ``slug`` in REST and every link is lower-case percent-encoded; requests match any encoding.
- REST ``after``/``before`` compare with the post's *local* date (``post_date``), and
  ``modified_after``/``modified_before`` with the local modified date: a bound without offset
  is site-local, one with an offset is converted to site-local (WP_Date_Query). Exclusive.
- Yoast sitemaps hold 1,000 URLs each ordered by modified date ascending; core sitemaps 2,000
  ordered by id. With Yoast on, ``/wp-sitemap.xml`` redirects to ``/sitemap_index.xml``.
- Feeds and REST are served with tracking parameters on feed links (a feed-tracking plugin),
  ``&`` written as ``&#038;``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from html import escape
from typing import Any
from urllib.parse import urlencode

from crawler.replica.messages import (
    Request,
    Response,
    html,
    http_date,
    json_response,
    redirect,
)
from crawler.replica.slugs import encode_lower
from crawler.replica.themes import furatpost as theme
from crawler.replica.world import DELETED, PUBLISHED, SOFT_DELETED, Article, World, load_data

REST_PREFIX = "/wp-json/"
ORDERBY = {"date", "modified", "id", "include", "slug", "title", "author", "relevance", "parent"}
YOAST_PER_SITEMAP = 1000
CORE_PER_SITEMAP = 2000
PAGE_CACHE_SIZE = 256
# A 1x1 JPEG for /wp-content/uploads/ (spiders should not need images, but links must resolve).
TINY_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc0000b"
    "080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b510"
    "0002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1"
    "f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a6364656667"
    "68696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2"
    "c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00"
    "fbd3ffd9"
)


class RestError(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def response(self) -> Response:
        body = {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }
        return json_response(body, self.status)


def _wp_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S")


def _parse_rest_date(name: str, value: str, tz: tzinfo) -> datetime:
    """The bound as a naive local datetime, as WP_Date_Query::build_mysql_datetime makes it.

    A value without offset is site-local; one with an offset (or Z) is converted to the site's
    time zone. Either way it is then compared with the local ``post_date``/``post_modified``.
    """
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", value
    )
    if not match:
        raise RestError(
            400, "rest_invalid_param", f"Invalid parameter(s): {name}",
            params={name: "Invalid date."}, details={},
        )  # fmt: skip
    naive = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}")
    offset = match.group(4)
    if not offset:
        return naive
    aware = datetime.fromisoformat(f"{naive.isoformat()}{'+00:00' if offset == 'Z' else offset}")
    return aware.astimezone(tz).replace(tzinfo=None)


class WordPressSite(World):
    """A WordPress news site: ``handle(request)`` answers every URL of its public surface."""

    name = "furatpost"

    def __init__(
        self,
        data: dict[str, Any],
        articles: list[Article] | None = None,
        *,
        name: str | None = None,
        rest_status: int | None = None,
        sitemaps: str = "yoast",
        feed_tracking: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if articles is None:
            articles = [Article.from_json(p) for p in data["posts"]]
        super().__init__(
            data["site"], articles, data["authors"], data["categories"], data["tags"], clock
        )
        if name:
            self.name = name
        self.rest_status = rest_status  # None: open; 401/403/404: refused as security plugins do
        if sitemaps not in ("yoast", "core"):
            raise ValueError("sitemaps must be 'yoast' or 'core'")
        self.sitemaps = sitemaps
        self.feed_tracking = feed_tracking
        self.robots_extra: list[str] = []
        self._page_cache: dict[tuple[int, int], bytes] = {}
        self._rest_cache: dict[int, tuple[int, dict[str, Any]]] = {}

    @classmethod
    def furatpost(
        cls,
        generated: int = 0,
        *,
        include_data: bool = True,
        seed: int = 0,
        **options: Any,
    ) -> WordPressSite:
        """Furat Post from ``data/furatpost.json``, plus ``generated`` synthetic articles."""
        from crawler.replica.generate import generate_articles

        data = load_data("furatpost")
        articles = [Article.from_json(p) for p in data["posts"]] if include_data else []
        if generated:
            articles += generate_articles(generated, seed=seed)
        return cls(data, articles, name="furatpost", **options)

    # -- public helpers ------------------------------------------------------------------

    @property
    def hosts(self) -> set[str]:
        return {self.host, f"www.{self.host}"}

    @property
    def base(self) -> str:
        return f"https://{self.host}"

    def permalink(self, post_id: int) -> str:
        return theme.permalink(self, self._require(post_id))

    def render_article(self, post_id: int) -> str:
        """The article page HTML as served now (for golden fixtures)."""
        return self._article_page(self._require(post_id)).decode("utf-8")

    def rest_post(self, post_id: int, embed: bool = True) -> dict[str, Any]:
        """The post's ``/wp-json/wp/v2/posts/<id>`` object as served now (``?_embed``)."""
        return self._rest_object(self._require(post_id), embed)

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        if req.host.startswith("www."):
            return redirect(f"https://{self.host}{req.target}")
        if req.scheme == "http":
            return redirect(f"https://{self.host}{req.target}")
        path = req.path
        query = dict(req.query)
        if path.startswith(REST_PREFIX) or (path == "/" and "rest_route" in query):
            return self._rest(req, path, query)
        if path == "/" and "p" in query:
            return self._shortlink(query["p"])
        if path == "/" and query.get("feed") in ("rss2", "rss"):
            return self._feed(req)
        route = self._route(req, path)
        if route is not None:
            return route
        return self._not_found()

    def _route(self, req: Request, path: str) -> Response | None:
        if path == "/robots.txt":
            return self._robots()
        if path in ("/feed/", "/feed/rss2/"):
            return self._feed(req)
        if path == "/feed":
            return redirect(f"{self.base}/feed/")
        if path.endswith(".xml"):
            return self._sitemap(path)
        if path.startswith("/wp-content/uploads/"):
            return Response(200, TINY_JPEG, [("Content-Type", "image/jpeg")])
        segments = [s for s in path.split("/") if s]
        page = 1
        if len(segments) >= 2 and segments[-2] == "page" and segments[-1].isdigit():
            page = int(segments[-1])
            segments = segments[:-2]
        if not segments:
            return self._listing("/", "فرات بوست", self.published(), page, "home blog")
        head = segments[0]
        if head == "category" and len(segments) >= 2:
            term = self.categories.get(segments[-1])
            if term is None:
                return None
            ids = {term.id} | {c.id for c in self.categories.values() if c.parent == term.id}
            slugs = {c.slug for c in self.categories.values() if c.id in ids}
            posts = [a for a in self.published() if slugs & set(a.categories)]
            path_ = theme.category_path(self, term.slug)
            return self._listing(
                path_, term.name, posts, page, f"archive category category-{term.id}"
            )
        if head == "tag" and len(segments) == 2:
            term = next((t for t in self.tags.values() if t.slug == segments[1]), None)
            if term is None:
                return None
            posts = [a for a in self.published() if term.name in a.tags]
            path_ = theme.tag_path(self, term.name)
            return self._listing(path_, term.name, posts, page, f"archive tag tag-{term.id}")
        if head == "author" and len(segments) == 2:
            author = self.authors.get(segments[1])
            if author is None:
                return None
            posts = [a for a in self.published() if a.author == author.slug]
            path_ = f"/author/{author.slug}/"
            return self._listing(
                path_, author.name, posts, page, f"archive author author-{author.slug}"
            )
        if len(segments) == 1 and page == 1:
            return self._article(req, segments[0], path.endswith("/"))
        return None

    # -- article pages -------------------------------------------------------------------

    def _article_page(self, article: Article) -> bytes:
        """The rendered page; a small LRU (pages are re-rendered in well under a millisecond)."""
        key = (article.id, self.generation)
        body = self._page_cache.pop(key, None)
        if body is None:
            body = theme.render_article(self, article).encode("utf-8")
        self._page_cache[key] = body
        while len(self._page_cache) > PAGE_CACHE_SIZE:
            self._page_cache.pop(next(iter(self._page_cache)))
        return body

    @staticmethod
    def _etag(article: Article) -> str:
        # Like a page cache's validator: follows the post, not the sidebar around it.
        return f'"{article.id}-{int(article.modified_gmt.timestamp())}"'

    def _article(self, req: Request, slug: str, trailing_slash: bool) -> Response:
        article = self.find_slug(slug)
        if article is None:
            return self._not_found()
        if article.status == DELETED:
            if article.gone_status == 410:
                return html("<html><body><h1>410 Gone</h1></body></html>", 410)
            return self._not_found()
        if article.status == SOFT_DELETED:
            if article.soft_mode == "home_redirect":
                return redirect(f"{self.base}/", 301)
            return html(theme.render_not_found(self), 200)
        if slug != article.slug or not trailing_slash:
            return redirect(theme.permalink(self, article), 301)
        etag = self._etag(article)
        last_modified = http_date(article.modified_gmt)
        headers = [
            ("Link", f'<{self.base}/wp-json/>; rel="https://api.w.org/"'),
            ("Link", f'<{self.base}/wp-json/wp/v2/posts/{article.id}>; rel="alternate"; '
                     'title="JSON"; type="application/json"'),
            ("Link", f"<{self.base}/?p={article.id}>; rel=shortlink"),
            ("ETag", etag),
            ("Last-Modified", last_modified),
            ("Vary", "Accept-Encoding"),
        ]  # fmt: skip
        if self._not_modified(req, etag, article.modified_gmt):
            return Response(304, b"", [h for h in headers if h[0] != "Link"])
        return html(self._article_page(article), 200, headers)

    @staticmethod
    def _not_modified(req: Request, etag: str, modified: datetime) -> bool:
        inm = req.headers.get("if-none-match")
        if inm is not None:
            return etag in [t.strip().removeprefix("W/") for t in inm.split(",")] or inm == "*"
        ims = req.headers.get("if-modified-since")
        if ims:
            try:
                from email.utils import parsedate_to_datetime

                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            return modified.replace(microsecond=0) <= since
        return False

    def _shortlink(self, value: str) -> Response:
        article = self.get(int(value)) if value.isdigit() else None
        if article is None or article.status == DELETED:
            return self._not_found()
        if article.status == SOFT_DELETED:
            return redirect(f"{self.base}/", 301)
        return redirect(theme.permalink(self, article), 301)

    def _not_found(self) -> Response:
        page = self.derived("not_found", lambda w: theme.render_not_found(w).encode("utf-8"))
        return html(page, 404)

    def _listing(
        self, path: str, heading: str, posts: list[Article], page: int, cls: str
    ) -> Response:
        pages = max(1, math.ceil(len(posts) / theme.PER_PAGE))
        if page > pages:
            return self._not_found()
        chunk = posts[(page - 1) * theme.PER_PAGE : page * theme.PER_PAGE]
        body = theme.render_listing(self, heading, path, chunk, page, pages, cls)
        return html(body)

    # -- robots, feed, sitemaps ----------------------------------------------------------

    def _robots(self) -> Response:
        sitemap = "sitemap_index.xml" if self.sitemaps == "yoast" else "wp-sitemap.xml"
        lines = ["User-agent: *", "Disallow: /wp-admin/", "Allow: /wp-admin/admin-ajax.php",
                 *self.robots_extra, "", f"Sitemap: {self.base}/{sitemap}", ""]  # fmt: skip
        return Response(
            200, "\n".join(lines).encode(), [("Content-Type", "text/plain; charset=utf-8")]
        )

    def _feed_link(self, article: Article) -> str:
        link = theme.permalink(self, article)
        if self.feed_tracking:
            campaign = encode_lower(article.slug)
            link += f"?utm_source=rss&#038;utm_medium=rss&#038;utm_campaign={campaign}"
        return link

    def _feed(self, req: Request) -> Response:
        posts = self.published()[:10]
        last = max((a.modified_gmt for a in posts), default=datetime(2018, 1, 1, tzinfo=UTC))
        etag = (
            f'"{hashlib.md5(str(self.generation).encode() + http_date(last).encode()).hexdigest()}"'
        )
        headers = [("Last-Modified", http_date(last)), ("ETag", etag)]
        if self._not_modified(req, etag, last):
            return Response(304, b"", headers)
        items = []
        for a in posts:
            url = theme.permalink(self, a)
            author = self.authors.get(a.author)
            cats = "".join(
                f"\n\t\t<category><![CDATA[{self.categories[c].name}]]></category>"
                for c in a.categories
                if c in self.categories
            )
            cats += "".join(f"\n\t\t<category><![CDATA[{t}]]></category>" for t in a.tags)
            items.append(
                f"""	<item>
		<title>{theme.texturize(a.title)}</title>
		<link>{self._feed_link(a)}</link>
		<comments>{url}#respond</comments>
		<dc:creator><![CDATA[{author.name if author else a.author}]]></dc:creator>
		<pubDate>{a.date_gmt.strftime("%a, %d %b %Y %H:%M:%S +0000")}</pubDate>{cats}
		<guid isPermaLink="false">{self.base}/?p={a.id}</guid>
		<description><![CDATA[{theme.excerpt(a)}]]></description>
		<content:encoded><![CDATA[{theme.content_html(self, a)}]]></content:encoded>
		<wfw:commentRss>{url}feed/</wfw:commentRss>
		<slash:comments>0</slash:comments>
	</item>"""
            )
        body = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	>

<channel>
	<title>{escape(self.meta["name"])}</title>
	<atom:link href="{self.base}/feed/" rel="self" type="application/rss+xml" />
	<link>{self.base}</link>
	<description>{escape(self.meta.get("description", ""))}</description>
	<lastBuildDate>{last.strftime("%a, %d %b %Y %H:%M:%S +0000")}</lastBuildDate>
	<language>ar</language>
	<sy:updatePeriod>
	hourly	</sy:updatePeriod>
	<sy:updateFrequency>
	1	</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.8.3</generator>
{chr(10).join(items)}
	</channel>
</rss>
"""
        return Response(
            200,
            body.encode("utf-8"),
            [("Content-Type", "application/rss+xml; charset=UTF-8"), *headers],
        )

    def _sitemap(self, path: str) -> Response | None:
        name = path.lstrip("/")
        if self.sitemaps == "yoast":
            if name in ("wp-sitemap.xml", "sitemap.xml"):
                return redirect(f"{self.base}/sitemap_index.xml")
            if name == "sitemap_index.xml":
                return self._yoast_index()
            match = re.fullmatch(r"post-sitemap(\d*)\.xml", name)
            if match:
                return self._yoast_posts(int(match.group(1) or 1))
            if name == "category-sitemap.xml":
                return self._category_sitemap()
            return None
        if name == "wp-sitemap.xml":
            return self._core_index()
        match = re.fullmatch(r"wp-sitemap-posts-post-(\d+)\.xml", name)
        if match:
            return self._core_posts(int(match.group(1)))
        if name == "wp-sitemap-taxonomies-category-1.xml":
            return self._category_sitemap()
        return None

    def _by_modified(self) -> list[Article]:
        return sorted(self.published(), key=lambda a: (a.modified_gmt, a.id))

    @staticmethod
    def _xml(body: str) -> Response:
        return Response(200, body.encode("utf-8"), [("Content-Type", "text/xml; charset=UTF-8"),
                                                    ("X-Robots-Tag", "noindex, follow")])  # fmt: skip

    def _yoast_index(self) -> Response:
        posts = self._by_modified()
        chunks = [posts[i : i + YOAST_PER_SITEMAP] for i in range(0, len(posts), YOAST_PER_SITEMAP)]
        entries = []
        for n, chunk in enumerate(chunks, 1):
            loc = f"{self.base}/post-sitemap{'' if n == 1 else n}.xml"
            entries.append(
                f"\t<sitemap>\n\t\t<loc>{loc}</loc>\n\t\t<lastmod>{theme.iso_utc(chunk[-1].modified_gmt)}</lastmod>\n\t</sitemap>"
            )
        entries.append(
            f"\t<sitemap>\n\t\t<loc>{self.base}/category-sitemap.xml</loc>\n\t</sitemap>"
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet type="text/xsl" '
            f'href="//{self.host}/main-sitemap.xsl"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(entries)
            + "\n</sitemapindex>\n<!-- XML Sitemap generated by Yoast SEO -->"
        )
        return self._xml(body)

    def _yoast_posts(self, n: int) -> Response | None:
        posts = self._by_modified()
        chunk = posts[(n - 1) * YOAST_PER_SITEMAP : n * YOAST_PER_SITEMAP]
        if not chunk:
            return None
        urls = [f"\t<url>\n\t\t<loc>{self.base}/</loc>\n\t</url>"] if n == 1 else []
        for a in chunk:
            image = ""
            if a.featured_image:
                image = f"\n\t\t<image:image>\n\t\t\t<image:loc>{theme.upload_url(self, a.featured_image['file'])}</image:loc>\n\t\t</image:image>"
            urls.append(
                f"\t<url>\n\t\t<loc>{theme.permalink(self, a)}</loc>\n"
                f"\t\t<lastmod>{theme.iso_utc(a.modified_gmt)}</lastmod>{image}\n\t</url>"
            )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet type="text/xsl" '
            f'href="//{self.host}/main-sitemap.xsl"?>\n'
            '<urlset xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1" '
            'xsi:schemaLocation="http://www.sitemaps.org/schemas/sitemap/0.9 '
            'http://www.sitemaps.org/schemas/sitemap/0.9/sitemap.xsd" '
            'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(urls)
            + "\n</urlset>\n<!-- XML Sitemap generated by Yoast SEO -->"
        )
        return self._xml(body)

    def _core_index(self) -> Response:
        pages = max(1, math.ceil(len(self.published()) / CORE_PER_SITEMAP))
        entries = [
            f"<sitemap><loc>{self.base}/wp-sitemap-posts-post-{n}.xml</loc></sitemap>"
            for n in range(1, pages + 1)
        ]
        entries.append(
            f"<sitemap><loc>{self.base}/wp-sitemap-taxonomies-category-1.xml</loc></sitemap>"
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{self.base}/wp-sitemap-index.xsl" ?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(entries)
            + "</sitemapindex>\n"
        )
        return self._xml(body)

    def _core_posts(self, n: int) -> Response | None:
        posts = sorted(self.published(), key=lambda a: a.id)
        chunk = posts[(n - 1) * CORE_PER_SITEMAP : n * CORE_PER_SITEMAP]
        if not chunk:
            return None
        urls = "".join(
            f"<url><loc>{theme.permalink(self, a)}</loc>"
            f"<lastmod>{theme.iso_utc(a.modified_gmt)}</lastmod></url>"
            for a in chunk
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{self.base}/wp-sitemap.xsl" ?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n'
        )
        return self._xml(body)

    def _category_sitemap(self) -> Response:
        urls = "".join(
            f"\t<url>\n\t\t<loc>{self.base}{theme.category_path(self, c.slug)}</loc>\n\t</url>\n"
            for c in self.categories.values()
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n'
        )
        return self._xml(body)

    # -- REST API ------------------------------------------------------------------------

    def _rest(self, req: Request, path: str, query: dict[str, str]) -> Response:
        route = query.get("rest_route", "") if path == "/" else "/" + path[len(REST_PREFIX) :]
        route = route.rstrip("/") or "/"
        if self.rest_status is not None:
            return self._rest_refused()
        try:
            if route == "/":
                return json_response(
                    {
                        "name": self.meta["name"],
                        "description": self.meta.get("description", ""),
                        "url": self.base,
                        "home": self.base,
                        "gmt_offset": 3,
                        "timezone_string": str(self.tz),
                        "namespaces": ["oembed/1.0", "wp/v2"],
                        "routes": {},
                    },  # fmt: skip
                    headers=self._rest_headers(),
                )
            if route == "/wp/v2/posts":
                return self._rest_posts(req, path, route)
            match = re.fullmatch(r"/wp/v2/posts/(\d+)", route)
            if match:
                article = self.get(int(match.group(1)))
                if article is None or article.status != PUBLISHED:
                    raise RestError(404, "rest_post_invalid_id", "Invalid post ID.")
                params = dict(req.query)
                obj = self._rest_object(article, "_embed" in params)
                return json_response(
                    self._fields(obj, params.get("_fields")), headers=self._rest_headers()
                )
            raise RestError(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        except RestError as err:
            resp = err.response()
            resp.headers += self._rest_headers()
            return resp

    def _rest_refused(self) -> Response:
        if self.rest_status == 401:
            return RestError(
                401, "rest_not_logged_in", "You are not currently logged in."
            ).response()
        if self.rest_status == 403:
            return RestError(
                403, "rest_forbidden", "Sorry, you are not allowed to do that."
            ).response()
        return self._not_found()

    def _rest_headers(self) -> list[tuple[str, str]]:
        return [
            ("X-Robots-Tag", "noindex"),
            ("Link", f'<{self.base}/wp-json/>; rel="https://api.w.org/"'),
            ("X-Content-Type-Options", "nosniff"),
            ("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link"),
            ("Access-Control-Allow-Headers", "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"),
            ("Allow", "GET"),
        ]  # fmt: skip

    def _rest_posts(self, req: Request, path: str, route: str) -> Response:
        pairs = req.query
        params = dict(pairs)

        def integer(name: str, default: int, low: int, high: int | None = None) -> int:
            raw = params.get(name)
            if raw is None or raw == "":
                return default
            if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
                bound = (
                    f"between {low} (inclusive) and {high} (inclusive)"
                    if high
                    else f"greater than or equal to {low}"
                )
                raise RestError(
                    400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                    params={name: f"{name} must be {bound}"}, details={},
                )  # fmt: skip
            return int(raw)

        page = integer("page", 1, 1)
        per_page = integer("per_page", 10, 1, 100)
        order = params.get("order", "desc")
        orderby = params.get("orderby", "date")
        if order not in ("asc", "desc"):
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): order",
                            params={"order": "order is not one of desc and asc."}, details={})  # fmt: skip
        if orderby not in ORDERBY:
            raise RestError(400, "rest_invalid_param", "Invalid parameter(s): orderby",
                            params={"orderby": "orderby is not one of " + ", ".join(sorted(ORDERBY)) + "."},
                            details={})  # fmt: skip
        include = self._id_list(pairs, "include")
        exclude = self._id_list(pairs, "exclude")
        cats = self._id_list(pairs, "categories")
        tags = self._id_list(pairs, "tags")
        bounds = {
            k: _parse_rest_date(k, params[k], self.tz)
            for k in ("after", "before", "modified_after", "modified_before")
            if params.get(k)
        }
        posts = self.published()
        if include:
            posts = [a for a in posts if a.id in include]
        if exclude:
            posts = [a for a in posts if a.id not in exclude]
        if cats:
            posts = [
                a
                for a in posts
                if any(self.categories[c].id in cats for c in a.categories if c in self.categories)
            ]
        if tags:
            posts = [a for a in posts if any(self.term_for_tag(t).id in tags for t in a.tags)]
        for key, bound in bounds.items():
            field = "date_gmt" if key in ("after", "before") else "modified_gmt"
            newer = key in ("after", "modified_after")

            def keep(
                a: Article, field: str = field, bound: datetime = bound, newer: bool = newer
            ) -> bool:
                local = self.local(getattr(a, field)).replace(tzinfo=None)
                return local > bound if newer else local < bound

            posts = [a for a in posts if keep(a)]
        keys: dict[str, Callable[[Article], Any]] = {
            "date": lambda a: (a.date_gmt, a.id),
            "modified": lambda a: (a.modified_gmt, a.id),
            "id": lambda a: a.id,
            "slug": lambda a: encode_lower(a.slug),
            "title": lambda a: a.title,
            "author": lambda a: (
                self.authors[a.author].id if a.author in self.authors else 0,
                a.id,
            ),
            "relevance": lambda a: (a.date_gmt, a.id),
            "parent": lambda a: a.id,
        }
        if orderby == "include" and include:
            order_ids = self._id_list(pairs, "include", ordered=True)
            posts = sorted(posts, key=lambda a: order_ids.index(a.id))
        else:
            posts = sorted(posts, key=keys.get(orderby, keys["date"]), reverse=order == "desc")
        total = len(posts)
        pages = math.ceil(total / per_page) if total else 0
        if page > pages and total > 0:
            raise RestError(
                400, "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )  # fmt: skip
        chunk = posts[(page - 1) * per_page : page * per_page]
        embed = "_embed" in params
        fields = params.get("_fields")
        data = [self._fields(self._rest_object(a, embed), fields) for a in chunk]
        headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        base_url = f"{self.base}{path}" if path != "/" else f"{self.base}/"
        others = [(k, v) for k, v in pairs if k != "page"]
        if page > 1:
            prev = urlencode([*others, ("page", str(min(page - 1, pages)))])
            headers.append(("Link", f'<{base_url}?{prev}>; rel="prev"'))
        if page < pages:
            nxt = urlencode([*others, ("page", str(page + 1))])
            headers.append(("Link", f'<{base_url}?{nxt}>; rel="next"'))
        return json_response(data, headers=headers + self._rest_headers())

    @staticmethod
    def _id_list(pairs: list[tuple[str, str]], name: str, ordered: bool = False) -> Any:
        values: list[int] = []
        for key, value in pairs:
            if key in (name, f"{name}[]"):
                for part in value.split(","):
                    if part.strip().isdigit():
                        values.append(int(part))
                    elif part.strip():
                        raise RestError(400, "rest_invalid_param", f"Invalid parameter(s): {name}",
                                        params={name: f"{name}[0] is not of type integer."}, details={})  # fmt: skip
        return values if ordered else set(values)

    @staticmethod
    def _fields(obj: dict[str, Any], fields: str | None) -> dict[str, Any]:
        """``_fields`` filtering: top-level names and dotted nested paths (WordPress 5.3+)."""
        if not fields:
            return obj
        out: dict[str, Any] = {}
        for name in (f.strip() for f in fields.split(",")):
            if not name:
                continue
            parts = name.split(".")
            src: Any = obj
            dst = out
            for i, part in enumerate(parts):
                if not isinstance(src, dict) or part not in src:
                    break
                if i == len(parts) - 1:
                    dst[part] = src[part]
                else:
                    dst = dst.setdefault(part, {})
                    src = src[part]
        return out

    def _rest_object(self, article: Article, embed: bool) -> dict[str, Any]:
        cached = self._rest_cache.get(article.id)
        if cached is None or cached[0] != self.generation:
            cached = (self.generation, self._build_rest(article))
            self._rest_cache[article.id] = cached
        obj = dict(cached[1])
        if embed:
            obj["_embedded"] = self._embedded(article)
        return obj

    def _build_rest(self, article: Article) -> dict[str, Any]:
        api = f"{self.base}/wp-json/wp/v2"
        author = self.authors.get(article.author)
        author_id = author.id if author else 1
        cats = [self.categories[c].id for c in article.categories if c in self.categories]
        tags = [self.term_for_tag(t).id for t in article.tags]
        media = article.featured_image["id"] if article.featured_image else 0
        links: dict[str, Any] = {
            "self": [{"href": f"{api}/posts/{article.id}", "targetHints": {"allow": ["GET"]}}],
            "collection": [{"href": f"{api}/posts"}],
            "about": [{"href": f"{api}/types/post"}],
            "author": [{"embeddable": True, "href": f"{api}/users/{author_id}"}],
            "replies": [
                {
                    "embeddable": True,
                    "href": f"{self.base}/wp-json/wp/v2/comments?post={article.id}",
                }
            ],
            "version-history": [{"count": 1, "href": f"{api}/posts/{article.id}/revisions"}],
        }
        if media:
            links["wp:featuredmedia"] = [{"embeddable": True, "href": f"{api}/media/{media}"}]
        links["wp:attachment"] = [{"href": f"{api}/media?parent={article.id}"}]
        links["wp:term"] = [
            {
                "taxonomy": "category",
                "embeddable": True,
                "href": f"{api}/categories?post={article.id}",
            },
            {"taxonomy": "post_tag", "embeddable": True, "href": f"{api}/tags?post={article.id}"},
        ]
        links["curies"] = [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}]
        class_list = [
            f"post-{article.id}",
            "post",
            "type-post",
            "status-publish",
            "format-standard",
        ]
        if media:
            class_list.append("has-post-thumbnail")
        class_list += ["hentry"] + [f"category-{encode_lower(c)}" for c in article.categories]
        class_list += [f"tag-{encode_lower(self.term_for_tag(t).slug)}" for t in article.tags]
        return {
            "id": article.id,
            "date": _wp_time(self.local(article.date_gmt)),
            "date_gmt": _wp_time(article.date_gmt),
            "guid": {"rendered": f"{self.base}/?p={article.id}"},
            "modified": _wp_time(self.local(article.modified_gmt)),
            "modified_gmt": _wp_time(article.modified_gmt),
            "slug": encode_lower(article.slug),
            "status": "publish",
            "type": "post",
            "link": theme.permalink(self, article),
            "title": {"rendered": theme.texturize(article.title)},
            "content": {"rendered": theme.content_html(self, article), "protected": False},
            "excerpt": {"rendered": f"<p>{theme.excerpt(article)}</p>\n", "protected": False},
            "author": author_id,
            "featured_media": media,
            "comment_status": "open",
            "ping_status": "open",
            "sticky": False,
            "template": "",
            "format": "standard",
            "meta": {"footnotes": ""},
            "categories": cats,
            "tags": tags,
            "class_list": class_list,
            "_links": links,
        }

    def _embedded(self, article: Article) -> dict[str, Any]:
        api = f"{self.base}/wp-json/wp/v2"
        author = self.authors.get(article.author)
        out: dict[str, Any] = {}
        if author:
            out["author"] = [
                {
                    "id": author.id,
                    "name": author.name,
                    "url": "",
                    "description": "",
                    "link": f"{self.base}/author/{author.slug}/",
                    "slug": author.slug,
                    "avatar_urls": {
                        str(
                            s
                        ): f"https://secure.gravatar.com/avatar/{hashlib.md5(author.slug.encode()).hexdigest()}?s={s}&d=mm&r=g"
                        for s in (24, 48, 96)
                    },
                    "_links": {
                        "self": [{"href": f"{api}/users/{author.id}"}],
                        "collection": [{"href": f"{api}/users"}],
                    },  # fmt: skip
                }
            ]
        image = article.featured_image
        if image:
            src = theme.upload_url(self, image["file"])
            out["wp:featuredmedia"] = [
                {
                    "id": image["id"],
                    "date": _wp_time(self.local(article.date_gmt)),
                    "slug": image["file"].rsplit("/", 1)[-1].rsplit(".", 1)[0],
                    "type": "attachment",
                    "link": f"{theme.permalink(self, article)}{image['file'].rsplit('/', 1)[-1].rsplit('.', 1)[0]}/",
                    "title": {"rendered": escape(image.get("alt", ""))},
                    "author": author.id if author else 1,
                    "featured_media": 0,
                    "caption": {
                        "rendered": f"<p>{escape(image['caption'])}</p>\n"
                        if image.get("caption")
                        else ""
                    },
                    "alt_text": image.get("alt", ""),
                    "media_type": "image",
                    "mime_type": "image/jpeg",
                    "media_details": {
                        "width": image.get("width", 1200),
                        "height": image.get("height", 800),
                        "file": image["file"],
                        "filesize": 84213,
                        "sizes": {
                            "full": {
                                "file": image["file"].rsplit("/", 1)[-1],
                                "width": image.get("width", 1200),
                                "height": image.get("height", 800),
                                "mime_type": "image/jpeg",
                                "source_url": src,
                            },  # fmt: skip
                        },
                        "image_meta": {},
                    },
                    "source_url": src,
                    "_links": {"self": [{"href": f"{api}/media/{image['id']}"}]},
                }
            ]
        cats = [self.categories[c] for c in article.categories if c in self.categories]
        out["wp:term"] = [
            [
                {
                    "id": c.id,
                    "link": f"{self.base}{theme.category_path(self, c.slug)}",
                    "name": c.name,
                    "slug": encode_lower(c.slug),
                    "taxonomy": "category",
                    "_links": {"self": [{"href": f"{api}/categories/{c.id}"}]},
                }  # fmt: skip
                for c in cats
            ],
            [
                {
                    "id": t.id,
                    "link": f"{self.base}{theme.tag_path(self, t.name)}",
                    "name": t.name,
                    "slug": encode_lower(t.slug),
                    "taxonomy": "post_tag",
                    "_links": {"self": [{"href": f"{api}/tags/{t.id}"}]},
                }  # fmt: skip
                for t in (self.term_for_tag(n) for n in article.tags)
            ],
        ]
        return out
