"""Text as stored and text as compared.

Stored text is what the site published, only tidied (``tidy``). Comparison forms are
derived on the fly: ``normalize_for_hash`` removes exactly the differences that must never
make a revision; ``normalize_for_search`` also folds letter variants for matching.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

TATWEEL = "\u0640"
# Harakat, Quranic annotation marks and superscript alef: pronunciation, not spelling.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
# Zero-width and bidi controls, BOM, Arabic letter mark, soft hyphen.
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
# Tatweel, tashkeel and invisible marks in one pass (removing one never makes another).
_COSMETIC = re.compile(f"[{TATWEEL}{_TASHKEEL.pattern[1:-1]}{_INVISIBLE.pattern[1:-1]}]")
_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACE_CHARS = "\t\u00a0\u2000-\u200a\u202f\u205f\u3000"  # besides " "
# A run of spaces that is not already one plain " " (matching a single " " as well made
# one substitution per word).
_SPACES = re.compile(f"[ {_SPACE_CHARS}]{{2,}}|[{_SPACE_CHARS}]")
_BLANK_LINES = re.compile(r"\n\s*\n+")


# What PostgreSQL text cannot hold: NUL, and UTF-16 surrogates (Python lets a lone one
# into a str, from a JSON "\ud800" escape; UTF-8 cannot encode it, and lxml cuts the
# text at it).
_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str, repairs: Counter[str] | None = None) -> str:
    """``text`` without NUL and with each lone surrogate as U+FFFD, so PostgreSQL and lxml
    take it whole; what was changed is added to ``repairs`` (``nul_removed``,
    ``surrogates_replaced``)."""
    nuls = text.count(_NUL)
    if nuls:
        text = text.replace(_NUL, "")
    surrogates = 0
    if not text.isascii():
        try:  # fails exactly when there is a surrogate; several times faster than the regex
            text.encode("utf-8")
        except UnicodeEncodeError:
            text, surrogates = _SURROGATE.subn(REPLACEMENT, text)
    if repairs is not None:
        if nuls:
            repairs["nul_removed"] += nuls
        if surrogates:
            repairs["surrogates_replaced"] += surrogates
    return text


def storable_json(value: Any, repairs: Counter[str] | None = None) -> Any:
    """A decoded JSON value with every string in it (keys too) made ``storable``."""
    if isinstance(value, str):
        return storable(value, repairs)
    if isinstance(value, list):
        return [storable_json(v, repairs) for v in value]
    if isinstance(value, dict):
        return {storable_json(k, repairs): storable_json(v, repairs) for k, v in value.items()}
    return value


# In JSON text, what decodes to something ``storable`` changes: a NUL or a surrogate, escaped
# or not (a pair of escapes that makes one character is caught too, and harmless).
_UNSTORABLE_JSON = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|[\x00\ud800-\udfff]")


def loads_storable(raw: str, repairs: Counter[str] | None = None) -> Any:
    """``json.loads(raw, strict=False)`` made ``storable_json``; the walk over every string
    is skipped when the text holds nothing it would change (nearly always)."""
    value = json.loads(raw, strict=False)
    return storable_json(value, repairs) if _UNSTORABLE_JSON.search(raw) else value


def tidy(text: str) -> str:
    """Whitespace tidied, nothing else: the stored form of a text field."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)  # never spans a line break: once for all the lines
    if "\n" not in text:
        return text.strip()
    return "\n".join([line.strip() for line in text.split("\n")]).strip()


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    """Paragraphs as stored in ``body_text``: tidied, non-empty, one blank line between."""
    return "\n\n".join(p for p in (tidy(p) for p in paragraphs) if p)


def normalize_for_hash(text: str) -> str:
    """Remove cosmetic differences only: markup, entities, Unicode form, tatweel,
    tashkeel, invisible marks and whitespace. A changed letter, hamza or digit survives."""
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = _COSMETIC.sub("", text)
    return " ".join(text.split())


_ALEF = re.compile("[\u0622\u0623\u0625\u0671]")


def normalize_for_search(text: str) -> str:
    """``normalize_for_hash`` plus letter folding (alef forms, ya/alef maqsura, ta marbuta)."""
    text = normalize_for_hash(text)
    text = _ALEF.sub("\u0627", text)
    text = text.replace("\u0649", "\u064a").replace("\u0629", "\u0647")
    return text.lower()


def content_hash(
    *,
    title: str,
    subtitle: str | None,
    body_text: str,
    authors: Iterable[str],
    published_at: datetime | None,
    section: str | None,
    tags: Iterable[str],
) -> bytes:
    """sha256 over the fields whose change makes a revision, each normalized for hash."""
    published = published_at.astimezone(UTC).isoformat() if published_at else ""
    fields = [
        normalize_for_hash(title),
        normalize_for_hash(subtitle or ""),
        normalize_for_hash(body_text),
        "\x1f".join(normalize_for_hash(a) for a in authors),
        published,
        normalize_for_hash(section or ""),
        "\x1f".join(normalize_for_hash(t) for t in tags),
    ]
    return hashlib.sha256("\x1e".join(fields).encode("utf-8")).digest()


# Separators between a title and the outlet's name in <title>/og:title.
_TITLE_SEPARATORS = ("-", "–", "—", "|", "||", "::", "«", "»", ":", "/", "·")


def strip_site_suffix(title: str, site_names: Iterable[str]) -> str:
    """``title`` without a trailing (or leading) " – <site name>"; unchanged otherwise."""
    title = tidy(title)
    keys = [key for key in map(_name_key, site_names) if key]
    if not keys:
        return title
    # Per separator in the title: (head, its tail's key, rest, its lead's key).
    cuts: list[tuple[str, str | None, str, str | None]] = []
    for sep in _TITLE_SEPARATORS:
        marker = f" {sep} "
        if marker in title:
            head, _, tail = title.rpartition(marker)
            lead, _, rest = title.partition(marker)
            cuts.append(
                (
                    head,
                    normalize_for_search(tail) if head else None,
                    rest,
                    normalize_for_search(lead) if rest else None,
                )
            )
    for key in keys:
        for head, tail_key, rest, lead_key in cuts:
            if tail_key == key:
                return tidy(head)
            if lead_key == key:
                return tidy(rest)
    return title


@lru_cache(maxsize=256)
def _name_key(name: str) -> str:
    """A site name's comparison form (a crawl has a handful: computed once each)."""
    return normalize_for_search(name)
