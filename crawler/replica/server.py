"""The replica server: an HTTP(S) forward proxy on 127.0.0.1 that answers for the real hosts.

A crawl is pointed at it with ``https_proxy``/``http_proxy`` = ``replica.proxy_url`` (Scrapy's
HttpProxyMiddleware reads them), so spiders run unchanged and every URL stays
``https://euphratespost.net/...``. ``CONNECT host:443`` is answered with a TLS handshake using a
self-signed certificate made at start (Scrapy does not verify certificates); HTTP/1.1 requests
with keep-alive follow inside the tunnel. Requests sent straight to the replica's own address
are answered by the first site (handy with curl or a browser).

    with Replica(["furatpost"]) as r:
        os.environ["https_proxy"] = r.proxy_url
        ...
        r.site().edit(31842, 0, "...")
        assert r.count(r"/wp-json/") == 3

``Replica(keep_responses=True)`` also logs every response it sent (``sent``: status,
headers and the exact body bytes), so a test can compare what the archive stored with what
the site served, byte for byte. ``content_encoding="gzip"`` gzips bodies for clients that
accept it, as nginx in front of WordPress does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ipaddress
import os
import re
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from crawler.replica.crawl import proxy_env
from crawler.replica.faults import (
    HOSTILE_ANSWERS,
    HOSTILE_TRANSFORMS,
    Faults,
    error_response,
    hostile_response,
    hostile_transform,
    transform,
)
from crawler.replica.messages import Request, Response, http_date
from crawler.replica.wordpress import WordPressSite

MAX_HEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class Sent:
    """One response as the replica sent it (``Replica(keep_responses=True)``)."""

    method: str
    url: str  # the real URL asked for
    status: int
    headers: list[tuple[str, str]]  # the site's headers, Content-Encoding included
    body: bytes  # the entity before any Content-Encoding (what a decoding client gets)
    wire_body: bytes  # the bytes on the wire after the head (gzip when encoded)


def load_site(name: str, **options: Any) -> WordPressSite:
    """A site profile by name (``furatpost``), with its data file."""
    if name == "furatpost":
        return WordPressSite.furatpost(**options)
    raise ValueError(f"no replica profile for site {name!r}")


def _self_signed(hosts: Iterable[str]) -> tuple[bytes, bytes]:
    """A throwaway certificate for ``hosts`` (EC P-256: fast to make and to handshake)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    hosts = sorted(set(hosts))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = dt.datetime.now(dt.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    sans += [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class Replica:
    """Serves ``sites`` through a forward proxy on a random port, in a background thread."""

    def __init__(
        self,
        sites: Iterable[WordPressSite | str] = ("furatpost",),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        fault_seed: int = 0,
        keep_responses: bool = False,
        content_encoding: str | None = None,
    ) -> None:
        if content_encoding not in (None, "gzip"):
            raise ValueError("content_encoding is None or 'gzip'")
        self.sites: list[WordPressSite] = [load_site(s) if isinstance(s, str) else s for s in sites]
        if not self.sites:
            raise ValueError("a replica needs at least one site")
        self._by_host = {h: s for s in self.sites for h in s.hosts}
        self.faults = Faults(fault_seed)
        self.requests: list[tuple[str, str, int]] = []  # (method, real URL, status)
        self.tunnels = 0  # CONNECTs accepted: keep-alive makes this much smaller than requests
        # (time.monotonic(), method, real URL) as each request's head arrived: request spacing.
        self.arrivals: list[tuple[float, str, str]] = []
        self.keep_responses = keep_responses
        self.sent: list[Sent] = []  # every response, when keep_responses (memory: tests only)
        self.content_encoding = content_encoding
        self._bind = (host, port)
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.cert_pem, key_pem = _self_signed(self._by_host)
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ssl.set_alpn_protocols(["http/1.1"])
        with tempfile.TemporaryDirectory() as tmp:
            cert_file, key_file = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
            with open(cert_file, "wb") as fh:
                fh.write(self.cert_pem)
            with open(key_file, "wb") as fh:
                fh.write(key_pem)
            self._ssl.load_cert_chain(cert_file, key_file)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Replica:
        self._thread = threading.Thread(target=self._run, name="akhbar-replica", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError("replica failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._client, *self._bind, limit=MAX_HEAD, backlog=512)
            )
            self.host, self.port = self._server.sockets[0].getsockname()[:2]
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            # Open keep-alive connections are cancelled, not left pending.
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> Replica:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use ------------------------------------------------------------------

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that send a crawl (a subprocess) through this replica."""
        return proxy_env(self.proxy_url)

    def site(self, name: str | None = None) -> WordPressSite:
        if name is None:
            return self.sites[0]
        return next(s for s in self.sites if s.name == name)

    def sent_to(self, pattern: str) -> list[Sent]:
        """The logged responses (``keep_responses``) whose URL matches regex ``pattern``."""
        rx = re.compile(pattern)
        return [s for s in list(self.sent) if rx.search(s.url)]

    def count(self, pattern: str = "", method: str | None = None, status: int | None = None) -> int:
        """How many logged requests have a URL matching regex ``pattern`` (and method/status)."""
        rx = re.compile(pattern)
        return sum(
            1
            for m, url, st in list(self.requests)
            if rx.search(url)
            and (method is None or m == method)
            and (status is None or st == status)
        )

    # -- connection handling -------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tunnel: str | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                arrived = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) != 3:
                    await self._send(writer, Response(400, b"bad request"), "GET", close=True)
                    return
                method, target, _version = parts
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                if method == "CONNECT":
                    host = target.rsplit(":", 1)[0].lower()
                    if host not in self._by_host:
                        self.requests.append((method, target, 502))
                        await self._send(
                            writer, Response(502, b"replica: unknown host"), method, close=True
                        )
                        return
                    writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    await writer.drain()
                    await writer.start_tls(self._ssl)
                    tunnel = host
                    self.tunnels += 1
                    continue
                req = self._request(method, target, headers, tunnel)
                self.arrivals.append((arrived, method, req.url))
                close = headers.get("connection", "").lower() == "close"
                if not await self._answer(req, writer, close):
                    return
                if close:
                    return
        except (ConnectionError, ssl.SSLError, OSError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Shutdown; returning (not re-raising) keeps asyncio's stream callback quiet.
            return
        finally:
            if not writer.is_closing():
                writer.close()

    def _request(
        self, method: str, target: str, headers: dict[str, str], tunnel: str | None
    ) -> Request:
        if tunnel is not None:
            host = headers.get("host", tunnel).split(":")[0].lower() or tunnel
            return Request(method, "https", host, target, headers)
        match = re.match(r"(https?)://([^/?#]+)(.*)", target, re.I)
        if match:
            scheme, netloc, rest = match.groups()
            return Request(
                method, scheme.lower(), netloc.split(":")[0].lower(), rest or "/", headers
            )
        # Straight to the replica's own address: the first site answers, as if over https.
        host = headers.get("host", "").split(":")[0].lower()
        if host not in self._by_host:
            host = self.sites[0].host
        return Request(method, "https", host, target, headers)

    async def _answer(self, req: Request, writer: asyncio.StreamWriter, close: bool) -> bool:
        """Answer one request; False when the connection must not be reused."""
        site = self._by_host.get(req.host)
        if site is None:
            response = Response(502, b"replica: unknown host", [("Content-Type", "text/plain")])
            self.requests.append((req.method, req.url, 502))
            await self._send(writer, response, req.method, close=True)
            return False
        fault = self.faults.pick(req.url)
        kind = fault.kind if fault else None
        if kind == "reset":
            self.requests.append((req.method, req.url, 0))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
            await writer.drain()
            self._reset(writer)
            return False
        if kind == "slow":
            await asyncio.sleep(float(fault.params.get("delay", 2.0)))
        if kind in ("503", "429", "404", "challenge", "empty"):
            response = error_response(fault)
        elif kind in HOSTILE_ANSWERS:
            response = hostile_response(fault, req.url)
        else:
            try:
                response = site.handle(req)
            except Exception as exc:  # a replica bug must show, not hang the crawl
                response = Response(
                    500, f"replica error: {exc!r}".encode(), [("Content-Type", "text/plain")]
                )
            if kind in ("cp1256", "huge", "no_body"):
                response = transform(fault, response)
            elif kind in HOSTILE_TRANSFORMS:
                response = hostile_transform(fault, response)
        entity = response.body
        if self.content_encoding and entity and "gzip" in req.headers.get("accept-encoding", ""):
            response = Response(
                response.status,
                gzip.compress(entity, mtime=0),
                [*response.headers, ("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")],
            )
        if self.keep_responses:
            sent = Sent(
                req.method, req.url, response.status, response.headers, entity, response.body
            )
            self.sent.append(sent)
        self.requests.append((req.method, req.url, response.status))
        if kind == "truncate":
            fraction = float(fault.params.get("fraction", 0.5))
            cut = int(len(response.body) * fraction)
            await self._send(writer, response, req.method, close=True, body_limit=cut)
            return False
        await self._send(writer, response, req.method, close=close)
        return True

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter,
        response: Response,
        method: str,
        close: bool = False,
        body_limit: int | None = None,
    ) -> None:
        try:
            reason = HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        head = [f"HTTP/1.1 {response.status} {reason}", f"Date: {http_date(dt.datetime.now(dt.UTC))}",
                "Server: nginx"]  # fmt: skip
        head += [
            f"{k}: {v}"
            for k, v in response.headers
            if k.lower() not in ("content-length", "server")
        ]
        head.append(f"Content-Length: {len(response.body)}")
        head.append("Connection: close" if close else "Connection: keep-alive")
        data = "\r\n".join(head).encode("latin-1", "replace") + b"\r\n\r\n"
        if method != "HEAD":
            data += response.body if body_limit is None else response.body[:body_limit]
        writer.write(data)
        await writer.drain()
        if close:
            writer.close()
