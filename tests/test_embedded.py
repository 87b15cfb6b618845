"""The zero-setup default: no DATABASE_URL, an embedded PostgreSQL under AKHBAR_HOME."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
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


def _spawn(home: Path, *argv: str) -> subprocess.Popen[str]:
    """A process on the embedded server under ``home``, all three streams piped."""
    return subprocess.Popen(
        list(argv),
        env=_env(home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
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
    procs = [_spawn(home, sys.executable, "-c", CLIENT) for _ in range(3)]
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


class LineReader:
    """A process's stdout lines, read by a thread, so a test waits for one with a deadline."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def until(self, prefix: str, timeout: float = 120) -> list[str]:
        """Lines up to the first one starting with ``prefix``."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if line.startswith(prefix):
                return seen
        raise AssertionError(f"no line starting with {prefix!r}; got {seen!r}")


HOLDER = """
import sys
from sqlalchemy import text
from crawler.db.session import database_url, get_engine
engine = get_engine(database_url())
for _ in sys.stdin:  # one query per line the test sends; EOF lets go of the server
    with engine.connect() as conn:
        print(conn.execute(text("SELECT count(*) FROM articles")).scalar_one(), flush=True)
"""


def test_db_serve_keeps_the_embedded_server_on_tcp_until_sigterm(home: Path):
    command = [str(AKHBAR)] if AKHBAR.exists() else [sys.executable, "-m", "crawler.cli"]
    serve = _spawn(home, *command, "db", "serve", "--port", "0")
    holder = None
    try:
        serve_out = LineReader(serve)
        lines = serve_out.until("libpq URL:")
        sqlalchemy_url = next(line for line in lines if line.startswith("SQLAlchemy URL:"))
        assert sqlalchemy_url.split()[-1].startswith("postgresql+psycopg://postgres@127.0.0.1:")
        libpq_url = lines[-1].split()[-1]
        assert libpq_url.startswith("postgresql://postgres@127.0.0.1:")
        # An outside tool over TCP: the archive's tables are there (migrated), and it is the
        # embedded server (its data directory under AKHBAR_HOME).
        with psycopg.connect(libpq_url, connect_timeout=10) as conn:
            assert conn.execute("SELECT count(*) FROM articles").fetchone() == (0,)
            data_directory = conn.execute("SHOW data_directory").fetchone()[0]
            assert Path(data_directory).resolve() == (home / "pgdata").resolve()

        # Another akhbar process shares the server; it keeps working after serve stops.
        holder = _spawn(home, sys.executable, "-c", HOLDER)
        holder_out = LineReader(holder)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder_out.until("0") == ["0\n"]

        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0, serve.stderr.read()
        assert serve_out.until("stopped serving")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(libpq_url, connect_timeout=5).close()

        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder_out.until("0") == ["0\n"]
        assert (home / "pgdata" / "postmaster.pid").exists()
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0, holder.stderr.read()
    finally:
        for proc in (serve, holder):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    # The last user has gone: so has the server.
    assert not (home / "pgdata" / "postmaster.pid").exists()


# A PostgreSQL SSLRequest: the server answers one byte (N: no SSL); a refused client's
# connection is closed (end of file, or a reset) before any answer.
SSL_PROBE = """
import socket, struct, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30) as s:
    s.sendall(struct.pack("!ii", 8, 80877103))
    try:
        print(s.recv(1).decode() or "closed")
    except ConnectionResetError:
        print("closed")
"""


def test_db_serve_lets_in_only_its_own_user(home: Path):
    if (
        os.geteuid() != 0
        or shutil.which("runuser") is None
        or not Path("/usr/bin/python3").exists()
    ):
        pytest.skip("needs root, runuser and /usr/bin/python3 to connect as another user")
    command = [str(AKHBAR)] if AKHBAR.exists() else [sys.executable, "-m", "crawler.cli"]
    serve = _spawn(home, *command, "db", "serve", "--port", "0")
    try:
        port = LineReader(serve).until("libpq URL:")[-1].rsplit(":", 1)[1].split("/")[0]
        probe = ["/usr/bin/python3", "-c", SSL_PROBE, port]
        own = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        assert own.stdout.strip() == "N", own.stderr  # root: this user
        other = subprocess.run(
            ["runuser", "-u", "nobody", "--", *probe], capture_output=True, text=True, timeout=60
        )
        assert other.stdout.strip() == "closed", other.stderr
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=60) == 0
        assert "refused a connection: from uid" in serve.stderr.read()
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_tcp_peer_uid_names_the_connecting_user():
    from crawler.db.embedded import PROC_NET_TCP, tcp_peer_uid

    if not PROC_NET_TCP.exists():
        pytest.skip(f"no {PROC_NET_TCP} on this system")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()) as client:
            assert tcp_peer_uid(client.getsockname(), listener.getsockname()) == os.geteuid()
            assert tcp_peer_uid(("127.0.0.1", 1), listener.getsockname()) is None


def test_db_serve_port_in_use_is_one_clear_line(home: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _akhbar(home, "db", "serve", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.startswith(f"akhbar: cannot listen on 127.0.0.1:{port}")
    assert "--port" in result.stderr and "Traceback" not in result.stderr
