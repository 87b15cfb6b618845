"""URL identity: which spellings of a URL name the same page.

``url_key`` is the identity form stored in ``article_urls.url_key``. Raw Arabic slugs and
either case of percent-encoding, tracking parameters, fragments, ``www.``, the scheme and a
trailing slash never make two articles.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from crawler.extract.text import storable

# Query parameters that only say where a reader came from.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "amp;utm_source",
        "_ga",
        "yclid",
    }
)


def is_tracking_param(name: str) -> bool:
    name = name.lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


def strip_tracking(url: str) -> str:
    """The URL without tracking parameters and fragment, otherwise as given."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


# Hot in the store path (several calls per item); URLs repeat across batches and crawls.
@lru_cache(maxsize=65536)
def url_key(url: str) -> str:
    """Identity form of ``url``: ``host/path?query`` with encodings unified.

    >>> url_key("https://www.euphratespost.net/%d8%a7/?utm_source=rss#c")
    'euphratespost.net/%D8%A7'
    """
    # As stored (the clean pipeline makes URLs storable), and encodable: a lone surrogate
    # from a JSON escape would make percent-encoding raise.
    canonical = canonicalize_url(strip_tracking(storable(url).strip()))
    parts = urlsplit(canonical)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") or "/"
    return host + path + (f"?{parts.query}" if parts.query else "")


def same_site(url: str, domains: tuple[str, ...] | list[str]) -> bool:
    """Whether ``url`` belongs to one of ``domains`` (subdomains included)."""
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)
