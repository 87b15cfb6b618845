"""Every pooled connection carries its bounds, and a bound cuts a silent database off."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from store_crawl import synthetic_item
from tcp_proxy import FreezableProxy

from crawler import spool
from crawler.db.session import new_engine, run_bounded, sever
from crawler.errors import DatabaseTimeout, is_outage
from crawler.items import SiteInfo
from pipelines.store import BatchWriter


def show(engine, setting: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text(f"SHOW {setting}")).scalar_one()


def test_sessions_have_statement_and_idle_timeouts(database_url, monkeypatch):
    engine = new_engine(database_url)
    try:
        assert show(engine, "statement_timeout") == "1min"
        assert show(engine, "idle_in_transaction_session_timeout") == "2min"
    finally:
        engine.dispose()
    monkeypatch.setenv("AKHBAR_DB_STATEMENT_TIMEOUT", "0.5")
    monkeypatch.setenv("AKHBAR_DB_IDLE_IN_TRANSACTION_TIMEOUT", "0")
    engine = new_engine(database_url)
    try:
        assert show(engine, "statement_timeout") == "500ms"
        assert show(engine, "idle_in_transaction_session_timeout") == "0"
        # The server cuts a statement that runs longer, and that is an outage to retry.
        with pytest.raises(Exception) as caught, engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert is_outage(caught.value)
    finally:
        engine.dispose()


def test_a_bad_timeout_setting_is_one_clear_line(database_url, monkeypatch):
    monkeypatch.setenv("AKHBAR_DB_STATEMENT_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="AKHBAR_DB_STATEMENT_TIMEOUT must be a number"):
        new_engine(database_url)


def test_a_frozen_link_is_cut_off_and_the_pool_recovers(database_url):
    url = make_url(database_url)
    proxy = FreezableProxy(url.port or 5432, url.host or "127.0.0.1")
    engine = new_engine(url.set(port=proxy.port).render_as_string(hide_password=False))

    def select_one() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT 1")).scalar_one()

    try:
        assert select_one() == 1
        proxy.freeze()
        with pytest.raises(DatabaseTimeout, match="no answer from the database in 1 s") as caught:
            run_bounded(select_one, timeout=1, what="a test", on_timeout=lambda: sever(engine))
        assert is_outage(caught.value)
        proxy.thaw()
        assert select_one() == 1  # the severed connections were replaced
    finally:
        proxy.close()
        engine.dispose()


def test_at_close_the_writer_tries_a_database_that_came_back_once(database_url, tmp_path):
    """The last batch gave up on a frozen database; it answers again by the time the crawl
    closes. The close's batch is tried (and the spool replayed) rather than spooled unseen;
    once that one attempt fails, the rest of the close spools at once."""
    url = make_url(database_url)
    proxy = FreezableProxy(url.port or 5432, url.host or "127.0.0.1")
    writer = BatchWriter(
        SiteInfo("synthetic", "خبر", "https://news.example/"),
        database_url=url.set(port=proxy.port).render_as_string(hide_password=False),
        spool_directory=tmp_path / "spool",
        retry_times=0,
        batch_timeout=1,
    )
    try:
        assert writer.write([synthetic_item(0)], None)["store/new"] == 1
        proxy.freeze()
        assert writer.write([synthetic_item(1)], None)["store/spooled_items"] == 1
        assert writer.down
        proxy.thaw()
        writer.closing.set()
        stats = writer.write([synthetic_item(2)], None)
        assert stats["store/items"] == 1 and stats["store/replayed_items"] == 1, stats
        assert "store/spooled_items" not in stats, stats
        with writer.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM articles")).scalar_one() == 3
        assert spool.pending(tmp_path / "spool") == [] and not writer.down

        proxy.freeze()
        writer.write([synthetic_item(3)], None)  # fails: down again, its one attempt used
        proxy.thaw()
        assert writer.write([synthetic_item(4)], None)["store/spooled_items"] == 1
    finally:
        proxy.close()
        if writer.engine is not None:
            writer.engine.dispose()
