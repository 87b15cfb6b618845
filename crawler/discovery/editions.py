"""Language editions of an outlet: which parts of the site are crawled, in which language.

A site declares its editions (``NewsSpider.editions``), e.g. Arabic at ``/`` and English at
``/en/``. A URL belongs to the declared edition with the longest matching path prefix; a
URL under a language prefix the site does not declare (``/en/``, ``/ru/``, ``/fr-fr/``) is
not crawled (``spider/edition/undeclared``). Each candidate carries its edition's language
to the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# The first path segment of another-language edition: a language code (``en``, ``pt-br``).
LANGUAGE_PREFIX = re.compile(r"^/([a-z]{2})(?:[-_][a-z]{2})?(?:/|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Edition:
    language: str  # ISO 639-1, as stored in ``articles.language``
    path: str = "/"  # the edition's path prefix on the site's domains

    def holds(self, path: str) -> bool:
        prefix = self.path.rstrip("/")
        return path == prefix or path.startswith(prefix + "/") or prefix == ""


def edition_of(url: str, editions: tuple[Edition, ...]) -> Edition | None:
    """The declared edition ``url`` belongs to; None for an undeclared language edition."""
    path = urlsplit(url).path or "/"
    matching = [e for e in editions if e.holds(path)]
    best = max(matching, key=lambda e: len(e.path.rstrip("/")), default=None)
    if best is None:
        return None
    if LANGUAGE_PREFIX.match(path) and best.path.rstrip("/") == "":
        # Under a language prefix no edition declares: another edition of the outlet.
        code = LANGUAGE_PREFIX.match(path).group(1).lower()
        if code != best.language:
            return None
    return best
