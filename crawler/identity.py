"""Which article an observation is: the one rule of identity, for every place that matches.

A spider matching what a listing names to what the archive knows, the dedupe pipeline
matching items within a crawl and the writer matching a batch to stored articles all resolve
through ``IdentityIndex.resolve``, in this order of precedence:

1. the article with the observation's external id (the site's post id), when it has one;
2. else the first of the observation's URL keys (``url_key``, in the order given) naming
   an article, unless that article has another external id: one URL shared by two post
   ids does not make them one article;
3. else, for an observation without an external id, an id read from one of its URLs (a
   ``?p=ID`` shortlink, by the site's ``external_id_pattern``) naming an article.

Within one key, the article added first keeps it: callers add the more authoritative first
(canonical URLs before old slugs; the lowest article id). Pure: no Scrapy, no database;
the writer's SQL only fetches the articles the keys could name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from crawler.extract.urls import url_key
from crawler.items import KnownArticle


class Identified(Protocol):
    @property
    def external_id(self) -> str | None: ...


A = TypeVar("A", bound=Identified)


class IdentityIndex(Generic[A]):
    """Articles by the identity keys that name them (one site's)."""

    __slots__ = ("_by_id", "_by_key")

    def __init__(self) -> None:
        self._by_id: dict[str, A] = {}
        self._by_key: dict[str, A] = {}

    def add(self, article: A, keys: Iterable[str] = ()) -> None:
        """``article`` under its external id (if it has one) and ``keys``; a key already
        taken keeps its article."""
        if article.external_id:
            self._by_id.setdefault(article.external_id, article)
        for key in keys:
            self._by_key.setdefault(key, article)

    def by_external_id(self, external_id: str) -> A | None:
        return self._by_id.get(external_id)

    def has_key(self, key: str) -> bool:
        return key in self._by_key

    def resolve(
        self,
        external_id: str | None,
        keys: Iterable[str],
        ids_in_urls: Iterable[str | None] = (),
    ) -> A | None:
        """The article an observation names (the module's rule), or None for a new one.

        ``keys`` and ``ids_in_urls`` may be lazy: they are consumed only as far as needed."""
        if external_id:
            found = self._by_id.get(external_id)
            if found is not None:
                return found
        for key in keys:
            found = self._by_key.get(key)
            if found is not None and (not external_id or found.external_id in (None, external_id)):
                return found
        if not external_id:
            for url_id in ids_in_urls:
                found = self._by_id.get(url_id) if url_id else None
                if found is not None:
                    return found
        return None


def index_known(known: Iterable[KnownArticle]) -> IdentityIndex[KnownArticle]:
    """What the archive knows of a site, indexed: canonical URLs first, then every other URL
    an article was seen under (old slugs, shortlinks, feed links)."""
    known = list(known)
    index: IdentityIndex[KnownArticle] = IdentityIndex()
    for article in known:
        index.add(article, [url_key(article.canonical_url)])
    for article in known:
        index.add(article, article.url_keys)
    return index
