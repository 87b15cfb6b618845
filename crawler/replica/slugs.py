"""WordPress slugs and permalink paths, as WordPress makes them.

WordPress stores an Arabic slug percent-encoded in lower case and cuts the *encoded* form at 200
characters (``utf8_uri_encode``), so long Arabic titles give slugs that stop mid-word.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, unquote

_SLUG_MAX = 200
# Typographic characters sanitize_title_with_dashes drops or turns into dashes ('save' context).
_DROPPED = ("%e2%80%98", "%e2%80%99", "%e2%80%9c", "%e2%80%9d", "%c2%ab", "%c2%bb", "%e2%80%a6")
_DASHES = ("%e2%80%93", "%e2%80%94", "%c2%a0")


_ASCII = "".join(chr(i) for i in range(128))
_HEX = re.compile(r"%[0-9A-F]{2}")


@lru_cache(maxsize=65536)
def encode_lower(text: str) -> str:
    """Percent-encode every non-ASCII byte in lower-case hex, as WordPress does."""
    return _HEX.sub(lambda m: m.group().lower(), quote(text, safe=_ASCII))


def wp_slugify(title: str) -> str:
    """The slug WordPress would give ``title``, decoded (raw Arabic)."""
    encoded = []
    length = 0
    for ch in title.lower():
        piece = encode_lower(ch)
        if length + len(piece) > _SLUG_MAX:
            break
        encoded.append(piece)
        length += len(piece)
    slug = "".join(encoded)
    for seq in _DROPPED:
        slug = slug.replace(seq, "")
    for seq in _DASHES:
        slug = slug.replace(seq, "-")
    slug = re.sub(r"[^%a-z0-9 _-]", "", slug)
    slug = re.sub(r"\s+", "-", slug)
    slug = re.sub(r"-+", "-", slug).strip("-")
    return unquote(slug)


def slug_path(slug: str) -> str:
    """The permalink path of a post slug: ``/<lower-case percent-encoded slug>/``."""
    return f"/{encode_lower(slug)}/"
