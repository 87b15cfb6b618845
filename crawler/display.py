"""How times and URLs are shown: the one rule for every akhbar output.

- Machine output (JSON, JSON lines, CSV): times in ISO 8601, in UTC (:func:`utc_iso`).
- Human output (terminal): times in Asia/Damascus with the offset shown, UTC beside it
  (:func:`local_time`); the sites' own time zone, from tzdata (it was +02:00 in winter
  until 2022 and is +03:00 all year since). URLs with their percent-encoded Arabic decoded
  (:func:`display_url`), as a browser's address bar shows them.

Documented in docs/output.md.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

DISPLAY_ZONE = ZoneInfo("Asia/Damascus")

_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _aware(dt: datetime) -> datetime:
    # Every time akhbar stores is timezone-aware; a naive one can only be a bug upstream,
    # and guessing its zone would show a wrong time without a word.
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} has no time zone")
    return dt


def utc_iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC for machine output: ``2026-11-25T10:00:00+00:00``."""
    return None if dt is None else _aware(dt).astimezone(UTC).isoformat()


def local_time(dt: datetime | None, *, utc: bool = True, seconds: bool = False) -> str:
    """``2026-11-25 13:00 +03:00 (10:00 UTC)``: Damascus time with its offset, UTC beside.

    The UTC part carries its date when that differs (``01:00 +03:00 (2026-11-24 22:00 UTC)``);
    ``utc=False`` leaves it out where space is short. ``None`` is shown as ``-``.
    """
    if dt is None:
        return "-"
    local = _aware(dt).astimezone(DISPLAY_ZONE)
    clock = "%H:%M:%S" if seconds else "%H:%M"
    offset = local.strftime("%z")
    text = f"{local:%Y-%m-%d} {local.strftime(clock)} {offset[:3]}:{offset[3:]}"
    if not utc:
        return text
    in_utc = local.astimezone(UTC)
    day = "" if in_utc.date() == local.date() else f"{in_utc:%Y-%m-%d} "
    return f"{text} ({day}{in_utc.strftime(clock)} UTC)"


def local_date(dt: datetime | None) -> str:
    """The calendar day in Damascus (``2026-11-25``), for narrow columns; ``-`` for None."""
    if dt is None:
        return "-"
    day: date = _aware(dt).astimezone(DISPLAY_ZONE).date()
    return day.isoformat()


def _decode_escapes(match: re.Match[str]) -> str:
    """A run of %XX escapes with its UTF-8 characters decoded; ASCII escapes stay as they are.

    ``%20``, ``%2F``, ``%3F`` and the like keep their meaning only while encoded, and
    invalid UTF-8 is kept byte for byte: the decoded URL must still name the same page.
    """
    run = match.group(0)
    data = bytes.fromhex(run.replace("%", ""))
    out: list[str] = []
    i = 0
    while i < len(data):
        byte = data[i]
        if byte < 0x80:
            out.append(run[3 * i : 3 * i + 3])
            i += 1
            continue
        # The length of a UTF-8 sequence from its lead byte (0 = not a lead byte).
        length = 2 if 0xC2 <= byte <= 0xDF else 3 if 0xE0 <= byte <= 0xEF else 0
        length = 4 if 0xF0 <= byte <= 0xF4 else length
        try:
            if not length:
                raise UnicodeDecodeError("utf-8", data, i, i + 1, "not a lead byte")
            char = data[i : i + length].decode("utf-8")
        except UnicodeDecodeError:
            out.append(run[3 * i : 3 * i + 3])
            i += 1
            continue
        out.append(char if char.isprintable() else run[3 * i : 3 * (i + length)])
        i += length
    return "".join(out)


def display_url(url: str | None) -> str:
    """The URL as a person reads it: percent-encoded UTF-8 (Arabic slugs) and punycode
    host names decoded, everything else (ASCII escapes, case, query) left as it is."""
    if not url:
        return "-"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    host = parts.netloc
    if "xn--" in host.lower():
        userinfo, at, hostport = host.rpartition("@")
        name, colon, port = hostport.partition(":")
        try:
            name = name.encode("ascii").decode("idna")
        except UnicodeError:
            pass
        host = f"{userinfo}{at}{name}{colon}{port}"
    path, query, fragment = (
        _ESCAPES.sub(_decode_escapes, part) for part in (parts.path, parts.query, parts.fragment)
    )
    return urlunsplit((parts.scheme, host, path, query, fragment))
