"""Local replica of news sites for tests, benchmarks and the offline demo.

``Replica`` (server.py) is an HTTP(S) forward proxy answering for the real hosts;
``WordPressSite`` (wordpress.py) is the WordPress site profile with its world of articles
(world.py), theme (themes/) and faults (faults.py).
"""

from crawler.replica.server import Replica, Sent, load_site
from crawler.replica.wordpress import WordPressSite
from crawler.replica.world import Article

__all__ = ["Article", "Replica", "Sent", "WordPressSite", "load_site"]
