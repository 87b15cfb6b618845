"""HTTP requests and responses as the replica's site profiles see them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes


@dataclass(slots=True)
class Request:
    method: str
    scheme: str  # "https" inside a CONNECT tunnel, else "http"
    host: str  # without port, lower case
    target: str  # raw path + query, as sent
    headers: dict[str, str]  # lower-case names

    @property
    def url(self) -> str:
        """The real URL asked for, e.g. ``https://euphratespost.net/feed/``."""
        return f"{self.scheme}://{self.host}{self.target}"

    @property
    def raw_path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def path(self) -> str:
        """Decoded path: raw UTF-8 and either case of percent-encoding give the same string."""
        return unquote_to_bytes(self.raw_path).decode("utf-8", "replace")

    @property
    def query_string(self) -> str:
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def html(
    body: str | bytes, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(status, data, [("Content-Type", "text/html; charset=UTF-8"), *(headers or [])])


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    # WordPress escapes slashes and non-ASCII in JSON (wp_json_encode defaults).
    body = json.dumps(data, separators=(",", ":")).replace("/", "\\/").encode("ascii")
    return Response(
        status, body, [("Content-Type", "application/json; charset=UTF-8"), *(headers or [])]
    )


def redirect(location: str, status: int = 301) -> Response:
    return Response(
        status,
        b"",
        [("Content-Type", "text/html; charset=UTF-8"), ("Location", location),
         ("X-Redirect-By", "WordPress")],
    )  # fmt: skip


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=True)
