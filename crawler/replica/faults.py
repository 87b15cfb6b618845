"""Faults the replica injects: per URL pattern or global, a count or a probability.

Kinds and their parameters:

=========== ====================================================================================
``503``     503 with ``Retry-After`` (``retry_after``, seconds, default 1)
``429``     429 with ``Retry-After`` (``retry_after``, default 1)
``404``     a plain 404 Not Found page
``slow``    the normal answer after ``delay`` seconds (default 2)
``reset``   the connection is reset (TCP RST) after part of the status line
``truncate`` the normal answer with its full ``Content-Length`` but only ``fraction`` (0.5) sent
``cp1256``  the normal page encoded in windows-1256, declared only in the HTML (``declare``:
            ``"meta"`` for ``<meta charset>`` or ``"http-equiv"``), no charset in Content-Type;
            ``declare="none"``: declared nowhere (the reader must detect it)
``challenge`` a Cloudflare "Just a moment..." page (``status`` 403 or 503, ``cf-mitigated``)
``empty``   200 with an empty body
``huge``    the normal page padded to ``size`` bytes (default 20 MiB)
``deep``    the normal page with ``depth`` (default 300) unclosed ``<span>``s opened right
            after ``<body>``: deeper than libxml2's default nesting limit
``no_body`` a layout change that loses the article body: pages keep everything but the
            content of their body container (``container`` class, default
            ``entry-content``), REST posts come with an empty ``content.rendered``
=========== ====================================================================================

Hostile discovery answers (tests/test_hostile_discovery.py):

=================== ============================================================================
``total_pages``     REST answers claim ``X-WP-TotalPages: pages`` (default 1,000,000,000)
``bad_json``        a JSON answer cut in half, still 200 with a correct ``Content-Length``
``foreign_link``    REST posts (``ids``, default all) link ``host`` (default foreign.example);
                    on an HTML page, the canonical link names ``host``
``ping_pong``       301 from a URL to it with ``?pong`` and back: a redirect loop
``sitemap_chain``   a sitemap index of ``fanout`` (default 1) new indexes ``<path>-<i>.xml``,
                    each the same (match ``chain`` in the pattern), plus the real post sitemap
``sitemap_children`` a sitemap index of ``children`` (default 200,000) child sitemaps, made
                    on each request, never kept
``gzip_bomb``       a gzip url set without ``Content-Encoding``, ``size`` bytes (default 1 GiB)
                    inflated, about a thousandth of that on the wire; ``declared``: with
                    ``Content-Encoding: gzip``
``entity_bomb``     the real sitemap with a billion-laughs DTD, the entity used in entry ``at``
                    (default the middle one)
=================== ============================================================================
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

from crawler.replica.messages import Response

# Hostile discovery: answers made from the URL alone, and alterations of the site's answer.
HOSTILE_ANSWERS = frozenset({"ping_pong", "sitemap_chain", "sitemap_children", "gzip_bomb"})
HOSTILE_TRANSFORMS = frozenset({"total_pages", "bad_json", "foreign_link", "entity_bomb"})
KINDS = (
    frozenset(
        {
            "503",
            "429",
            "404",
            "slow",
            "reset",
            "truncate",
            "cp1256",
            "challenge",
            "empty",
            "huge",
            "no_body",
            "deep",
        }
    )
    | HOSTILE_ANSWERS
    | HOSTILE_TRANSFORMS
)

CHALLENGE_HTML = """<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta http-equiv="X-UA-Compatible" content="IE=Edge">
<meta name="robots" content="noindex,nofollow"><meta name="viewport" content="width=device-width,initial-scale=1">
<style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15}body{display:flex;flex-direction:column;min-height:100vh}</style>
<meta http-equiv="refresh" content="390"></head><body class="no-js"><div class="main-wrapper" role="main"><div class="main-content">
<noscript><div id="challenge-error-title"><div class="h2"><span class="icon-wrapper"><div class="heading-icon warning-icon"></div></span>
<span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></div></noscript></div></div>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: "euphratespost.net",cType: 'managed',cRay: '8f1c2a3b4d5e6f70',
cH: 'a1b2c3',cUPMDTk: "\\/?__cf_chl_tk=abc",cFPWv: 'b',cITimeS: '1732500000'};
var cpo = document.createElement('script');cpo.src = '/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=8f1c2a3b4d5e6f70';
document.getElementsByTagName('head')[0].appendChild(cpo);}());</script></body></html>"""

ERROR_HTML = "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center><hr><center>nginx</center></body></html>"


@dataclass(slots=True)
class Fault:
    kind: str
    pattern: re.Pattern[str] | None = None
    count: int | None = None  # remaining applications; None: unlimited
    probability: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    hits: int = 0  # how many requests it was applied to


class Faults:
    """Thread-safe rules; the first matching rule that fires decides the request's fault."""

    def __init__(self, seed: int = 0) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(
        self,
        kind: str,
        pattern: str | None = None,
        *,
        count: int | None = None,
        probability: float | None = None,
        **params: Any,
    ) -> Fault:
        """Inject ``kind`` into requests whose full URL matches regex ``pattern`` (all if None)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(KINDS)}")
        fault = Fault(kind, re.compile(pattern) if pattern else None, count, probability, params)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def pick(self, url: str) -> Fault | None:
        with self._lock:
            for fault in self._rules:
                if fault.count is not None and fault.count <= 0:
                    continue
                if fault.pattern is not None and not fault.pattern.search(url):
                    continue
                if fault.probability is not None and self._rng.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                fault.hits += 1
                return fault
        return None


def error_response(fault: Fault) -> Response:
    """The answer for faults that replace the site's answer entirely."""
    if fault.kind in ("503", "429", "404"):
        status = int(fault.kind)
        reason = {503: "Service Temporarily Unavailable", 429: "Too Many Requests"}.get(
            status, "Not Found"
        )
        body = ERROR_HTML.format(status=status, reason=reason).encode()
        headers = [
            ("Content-Type", "text/html"),
            ("Retry-After", str(fault.params.get("retry_after", 1))),
        ]
        return Response(status, body, headers)
    if fault.kind == "challenge":
        status = int(fault.params.get("status", 403))
        headers = [
            ("Content-Type", "text/html; charset=UTF-8"),
            ("cf-mitigated", "challenge"),
            (
                "Cache-Control",
                "private, max-age=0, no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
            ),
            ("Expires", "Thu, 01 Jan 1970 00:00:01 GMT"),
            ("Server", "cloudflare"),
            ("CF-RAY", "8f1c2a3b4d5e6f70-FRA"),
        ]
        return Response(status, CHALLENGE_HTML.encode(), headers)
    if fault.kind == "empty":
        return Response(200, b"", [("Content-Type", "text/html; charset=UTF-8")])
    raise ValueError(fault.kind)


def transform(fault: Fault, response: Response) -> Response:
    """Faults that alter the site's own answer: windows-1256, deep, huge, bodiless pages."""
    ctype = response.header("Content-Type") or ""
    if fault.kind == "no_body":
        return _without_body(response, ctype, str(fault.params.get("container", "entry-content")))
    if fault.kind == "cp1256" and ctype.startswith("text/html"):
        text = response.body.decode("utf-8")
        declare = fault.params.get("declare", "meta")
        if declare == "none":
            declaration = ""
        elif declare == "meta":
            declaration = '<meta charset="windows-1256">'
        else:
            declaration = (
                '<meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
            )
        text = re.sub(r'<meta charset="UTF-8">', declaration, text, count=1, flags=re.I)
        body = text.encode("cp1256", errors="xmlcharrefreplace")
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-type"]
        return Response(response.status, body, [("Content-Type", "text/html"), *headers])
    if fault.kind == "deep" and ctype.startswith("text/html"):
        spans = b"<span>" * int(fault.params.get("depth", 300))
        body = re.sub(rb"(<body[^>]*>)", lambda m: m.group(1) + spans, response.body, count=1)
        return Response(response.status, body, response.headers)
    if fault.kind == "huge":
        size = int(fault.params.get("size", 20 * 1024 * 1024))
        pad = max(0, size - len(response.body))
        body = response.body.replace(b"</body>", b"<!-- " + b"x" * pad + b" --></body>", 1)
        return Response(response.status, body, response.headers)
    return response


def _without_body(response: Response, ctype: str, container: str) -> Response:
    """The answer as after a theme or plugin change that no longer outputs the post content."""
    if ctype.startswith("application/json"):
        try:
            data = json.loads(response.body)
        except ValueError:
            return response
        for post in data if isinstance(data, list) else [data]:
            if isinstance(post, dict) and isinstance(post.get("content"), dict):
                post["content"]["rendered"] = ""
        # WordPress's escaping, as the replica's own JSON answers (messages.json_response).
        body = json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode("ascii")
        return Response(response.status, body, response.headers)
    if not ctype.startswith("text/html") or container.encode() not in response.body:
        return response
    from lxml import html as lxml_html

    document = lxml_html.document_fromstring(response.body)
    for element in document.find_class(container):
        attributes = dict(element.attrib)
        element.clear(keep_tail=True)
        element.attrib.update(attributes)
    body = lxml_html.tostring(document, encoding="utf-8", doctype="<!DOCTYPE html>")
    return Response(response.status, body, response.headers)


# --- hostile discovery ---------------------------------------------------------------------

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The classic: each entity ten of the one before, lol9 a billion "lol"s.
BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(2, 10))
    + "]>"
)


def _xml(body: bytes) -> Response:
    return Response(200, body, [("Content-Type", "text/xml; charset=UTF-8")])


def hostile_response(fault: Fault, url: str) -> Response:
    """The answer of a hostile-discovery fault that replaces the site's answer."""
    base = re.match(r"https?://[^/]+", url).group(0)  # type: ignore[union-attr]
    if fault.kind == "ping_pong":
        target = url.removesuffix("?pong") if url.endswith("?pong") else url + "?pong"
        return Response(301, b"", [("Location", target), ("Content-Type", "text/html")])
    if fault.kind == "sitemap_chain":
        stem = url.split("?", 1)[0].removesuffix(".xml")
        stem = stem if "chain" in stem else f"{base}/chain"
        children = [f"{base}/post-sitemap.xml"]
        children += [f"{stem}-{i}.xml" for i in range(int(fault.params.get("fanout", 1)))]
        return _xml(_sitemap_index(children))
    if fault.kind == "sitemap_children":
        count = int(fault.params.get("children", 200_000))
        first = [f"{base}/post-sitemap.xml"]
        rest = (f"{base}/post-sitemap{n}.xml" for n in range(2, count + 1))
        return _xml(_sitemap_index([*first, *rest]))
    if fault.kind == "gzip_bomb":
        body = _gzip_bomb(int(fault.params.get("size", 1 << 30)))
        if fault.params.get("declared"):  # Content-Encoding: gzip, for the client to inflate
            headers = [("Content-Type", "text/xml; charset=UTF-8"), ("Content-Encoding", "gzip")]
            return Response(200, body, headers)
        return Response(200, body, [("Content-Type", "application/x-gzip")])
    raise ValueError(fault.kind)


def _sitemap_index(children: list[str]) -> bytes:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="{SITEMAP_NS}">']
    parts += [f"<sitemap><loc>{loc}</loc></sitemap>" for loc in children]
    parts.append("</sitemapindex>")
    return "\n".join(parts).encode()


@functools.lru_cache(maxsize=2)
def _gzip_bomb(size: int) -> bytes:
    """A url set padded with ``size`` spaces, compressed in chunks (never whole in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}">'.encode())]
    chunk = b" " * (1 << 20)
    for _ in range(size // len(chunk)):
        parts.append(packer.compress(chunk))
    parts += [packer.compress(b"</urlset>"), packer.flush()]
    return b"".join(parts)


def hostile_transform(fault: Fault, response: Response) -> Response:
    """Hostile-discovery faults that alter the site's own answer."""
    if fault.kind == "total_pages":
        pages = str(fault.params.get("pages", 1_000_000_000))
        headers = [(k, pages if k == "X-WP-TotalPages" else v) for k, v in response.headers]
        return Response(response.status, response.body, headers)
    if fault.kind == "bad_json":
        return Response(response.status, response.body[: len(response.body) // 2], response.headers)
    if fault.kind == "foreign_link":
        return _foreign_links(fault, response)
    if fault.kind == "entity_bomb":
        return _entity_bomb(fault, response)
    return response


def _foreign_links(fault: Fault, response: Response) -> Response:
    host = str(fault.params.get("host", "foreign.example"))
    if (response.header("Content-Type") or "").startswith("text/html"):
        # A syndicated copy: the page names another site's URL as canonical.
        body = re.sub(
            rb'(<link rel="canonical" href=")https?://[^/"]+',
            rb"\g<1>https://" + host.encode(),
            response.body,
        )
        return Response(response.status, body, response.headers)
    try:
        data = json.loads(response.body)
    except ValueError:
        return response
    ids = fault.params.get("ids")
    for post in data if isinstance(data, list) else [data]:
        if not isinstance(post, dict) or (ids is not None and post.get("id") not in ids):
            continue
        if isinstance(post.get("link"), str):
            post["link"] = re.sub(r"^https?://[^/]+", f"https://{host}", post["link"])
        yoast = post.get("yoast_head_json")
        if isinstance(yoast, dict) and isinstance(yoast.get("canonical"), str):
            yoast["canonical"] = post.get("link")
    body = json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode("ascii")
    return Response(response.status, body, response.headers)


def _entity_bomb(fault: Fault, response: Response) -> Response:
    body = response.body.decode("utf-8")
    root = re.search(r"<(urlset|sitemapindex)\b", body)
    ends = [m.start() for m in re.finditer("</loc>", body)]
    if root is None or not ends:
        return response
    at = ends[int(fault.params.get("at", len(ends) // 2))]
    body = body[:at] + "&lol9;" + body[at:]
    body = body[: root.start()] + BILLION_LAUGHS + "\n" + body[root.start() :]
    return Response(response.status, body.encode("utf-8"), response.headers)
