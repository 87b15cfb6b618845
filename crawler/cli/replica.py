"""``akhbar replica serve``: run the local site replica until interrupted.

Prints the proxy URL; point any crawl at it with ``https_proxy``/``http_proxy``:

    akhbar replica serve --articles 500 &
    https_proxy=http://127.0.0.1:PORT scrapy crawl furatpost
"""

from __future__ import annotations

import argparse
import sys
import threading


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "replica",
        help="serve a local replica of a news site (an HTTP(S) proxy)",
        description="Local replica of a news site for tests, benchmarks and offline demos.",
    )
    sub = parser.add_subparsers(dest="replica_command", metavar="ACTION", required=True)
    serve = sub.add_parser("serve", help="serve until interrupted; prints the proxy URL")
    serve.add_argument("--site", default="furatpost", choices=["furatpost"])
    serve.add_argument(
        "--articles", type=int, default=0, metavar="N",
        help="add N generated articles to the site's own (default 0)",
    )  # fmt: skip
    serve.add_argument("--port", type=int, default=0, help="proxy port (default: a free one)")
    serve.add_argument(
        "--rest-status", type=int, choices=[401, 403, 404], default=None,
        help="refuse the WordPress REST API with this status, as security plugins do",
    )  # fmt: skip
    serve.add_argument("--sitemaps", choices=["yoast", "core"], default="yoast")
    serve.set_defaults(func=serve_command)


def serve_command(args: argparse.Namespace) -> int:
    from crawler.replica import Replica, load_site

    site = load_site(
        args.site, generated=args.articles, rest_status=args.rest_status, sitemaps=args.sitemaps
    )
    with Replica([site], port=args.port) as replica:
        print(replica.proxy_url, flush=True)
        print(
            f"# {len(site.published())} articles of https://{site.host}/ ; crawl with:\n"
            f"#   https_proxy={replica.proxy_url} http_proxy={replica.proxy_url} "
            f"scrapy crawl {site.name}\n"
            f"# or look: curl -k --proxy {replica.proxy_url} https://{site.host}/feed/",
            file=sys.stderr,
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0
