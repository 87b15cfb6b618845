"""The zero-setup default: no DATABASE_URL, an embedded PostgreSQL under AKHBAR_HOME."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from crawler.db import session as db_session

pytestmark = pytest.mark.slow

AKHBAR = Path(sys.executable).with_name("akhbar")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["AKHBAR_HOME"] = str(home)
    return env


def _akhbar(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(AKHBAR)] if AKHBAR.exists() else [sys.executable, "-m", "crawler.cli"]
    return subprocess.run(
        [*command, *args], env=_env(home), capture_output=True, text=True, timeout=120
    )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def home():
    # Not under pytest's tmp_path: run as root, the embedded server runs as the "pgserver"
    # user, and every pytest session that starts resets pytest's temporary root to 0700
    # (under a concurrent session the server could no longer read its own files).
    root = Path(tempfile.mkdtemp(prefix="akhbar-embedded-"))
    yield root / "akhbar"  # does not exist yet: akhbar creates it
    shutil.rmtree(root, ignore_errors=True)


def test_db_commands_use_the_embedded_server(home: Path):
    head = db_session.head_revisions()[0]

    upgrade = _akhbar(home, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert head in upgrade.stdout
    assert (home / "pgdata" / "PG_VERSION").exists()

    # After a hard stop: a process that used the server never took itself off pgserver's
    # list of users (the server must still stop when the last live process exits), and
    # postmaster.pid stayed, its pid now another program's (never taken for the server,
    # never killed).
    pgdata = home / "pgdata"
    (pgdata / ".handle_pids.json").write_text(json.dumps([_dead_pid()]))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lines = [str(other.pid), str(pgdata), "1795581138", "5432", str(pgdata), "", "0 0"]
        (pgdata / "postmaster.pid").write_text("\n".join([*lines, "ready   "]) + "\n")
        current = _akhbar(home, "db", "current")
        assert other.poll() is None, "pgserver killed a process that was not PostgreSQL"
    finally:
        other.kill()
        other.wait()
    assert current.returncode == 0, current.stderr
    assert current.stdout.strip() == f"{head} (head)"

    url = _akhbar(home, "db", "url")
    assert url.returncode == 0, url.stderr
    assert "embedded" in url.stdout and str(home / "pgdata") in url.stdout

    psql = _akhbar(home, "db", "psql", "--", "-Atc", "SELECT count(*) FROM article_revisions")
    assert psql.returncode == 0, psql.stderr
    assert psql.stdout.strip() == "0"

    # The last process has gone: the server went with it.
    assert not (home / "pgdata" / "postmaster.pid").exists()


CLIENT = """
import sys
from sqlalchemy import text
from crawler.db.session import database_url, ensure_schema, get_engine, current_revisions
url = database_url()
ensure_schema(url)
with get_engine(url).connect() as conn:
    started = conn.execute(text("SELECT pg_postmaster_start_time()")).scalar_one()
print(started.isoformat(), ",".join(current_revisions(url)), flush=True)
sys.stdin.read()  # hold the server until the test lets go
"""


def test_concurrent_processes_share_one_embedded_server(home: Path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT],
            env=_env(home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        lines = [proc.stdout.readline().split() for proc in procs]
    finally:
        for proc in procs:
            proc.stdin.close()
        for proc in procs:
            proc.wait(timeout=60)
        errors = [proc.stderr.read() for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    head = ",".join(db_session.head_revisions())
    assert all(line[1] == head for line in lines), lines
    # One server: every process saw the same postmaster start time.
    assert len({line[0] for line in lines}) == 1, lines
    assert not (home / "pgdata" / "postmaster.pid").exists()
