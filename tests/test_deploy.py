"""deploy/: the compose file, the Dockerfile, the systemd units, the env and crontab examples.

Containers cannot run on these machines, so the compose file is validated offline, by the
real tool where it is installed (``docker-compose config``: Debian's package, which .ci/run
installs; or the ``docker compose`` plugin), and always against what akhbar itself knows:
every command a service or unit runs is an akhbar (or scrapy) command that exists, every
variable is documented in the env example, and every stop grace outlasts the scheduler's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml
from sqlalchemy.engine import make_url

from crawler.cli import build_parser
from crawler.scheduler import STOP_GRACE_SECONDS
from crawler.spiders import schedules

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "akhbar.env.example"
# What an operator puts in deploy/.env; the test's values, never real secrets.
TEST_ENV = {"POSTGRES_PASSWORD": "0123abcd", "AKHBAR_CONTACT_URL": "https://example.org/c"}


def run(*argv: object, **kwargs) -> subprocess.CompletedProcess[str]:
    """A command's exit status and text output (within a deadline: nothing here may hang)."""
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, **kwargs
    )


def documented_variables() -> set[str]:
    """Every NAME in the env example, set (NAME=...) or shown commented out (#NAME=)."""
    names = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"#?([A-Z][A-Z0-9_]*)=", line.strip())
        if match:
            names.add(match.group(1))
    return names


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:?message} and ${NAME:-default}, for the test's values."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":-":
            return arg
        raise AssertionError(f"{name} is required: {arg}")

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:[?-])([^}]*))?\}", one, value)


def seconds(duration: str) -> float:
    """A compose or systemd duration (``90s``, ``1m30s``, ``2m``; systemd's ``120``) in s."""
    if duration.isdigit():
        return float(duration)
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def assert_akhbar_command(argv: list[str]) -> None:
    """``argv`` is an akhbar command this version has (parses, and has a handler)."""
    assert Path(argv[0]).name == "akhbar", argv
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"not an akhbar command: {' '.join(argv)}")
    assert getattr(args, "func", None) is not None, argv


def test_env_example_holds_no_secret():
    values = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if re.match(r"[A-Z]", line)
    )
    assert make_url(values["DATABASE_URL"]).password is None
    assert "POSTGRES_PASSWORD" not in values  # shown commented out, to be set by the operator
    assert "/deploy/.env" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_postgres_service(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert int(postgres["image"].split(":")[1]) >= 15  # the oldest PostgreSQL akhbar supports
    volume = next(v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data"))
    assert volume.split(":")[0] in compose["volumes"]  # a named volume, kept across upgrades
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["restart"] == "unless-stopped"


def test_compose_scheduler_service(compose):
    services = compose["services"]
    akhbar = services["akhbar"]
    assert akhbar["command"] == ["akhbar", "schedule", "run"]
    # SIGTERM, and a grace that outlasts the scheduler's own stop grace for its crawls.
    assert akhbar["stop_signal"] == "SIGTERM"
    assert seconds(akhbar["stop_grace_period"]) > STOP_GRACE_SECONDS
    assert akhbar["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert akhbar["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["akhbar", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"

    # The scheduler's database is the postgres service, with its user, password and database.
    postgres_env = {
        k: interpolate(v, TEST_ENV) for k, v in services["postgres"]["environment"].items()
    }
    url = make_url(interpolate(akhbar["environment"]["DATABASE_URL"], TEST_ENV))
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("postgres", 5432)
    assert url.username == postgres_env["POSTGRES_USER"]
    assert url.password == postgres_env["POSTGRES_PASSWORD"] == TEST_ENV["POSTGRES_PASSWORD"]
    assert url.database == postgres_env["POSTGRES_DB"]
    home = akhbar["environment"]["AKHBAR_HOME"]
    assert any(
        v.split(":")[1] == home and v.split(":")[0] in compose["volumes"] for v in akhbar["volumes"]
    )


def test_compose_commands_and_variables_are_akhbar_s(compose):
    documented = documented_variables()
    for name, service in compose["services"].items():
        if "build" not in service:
            continue
        assert_akhbar_command(service["command"])
        assert set(service["environment"]) <= documented, name
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    assert used and used <= documented, used - documented
    assert set(TEST_ENV) == used


def test_dockerfile_installs_the_project_from_the_lock(compose):
    build = compose["services"]["akhbar"]["build"]
    context = (COMPOSE.parent / build["context"]).resolve()
    assert context == ROOT
    dockerfile = (context / build["dockerfile"]).read_text()
    assert re.search(r"^COPY requirements\.lock ", dockerfile, re.M)
    assert re.search(r"pip install -r requirements\.lock", dockerfile)
    # Every file and directory it copies is in the repository.
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert (context / source).exists(), source
    # The same layout as the systemd units: /opt/akhbar and its .venv, `akhbar` on PATH.
    assert "WORKDIR /opt/akhbar" in dockerfile
    assert "PATH=/opt/akhbar/.venv/bin:$PATH" in dockerfile
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.M).group(1)
    assert yaml.safe_load(cmd) == compose["services"]["akhbar"]["command"]
    assert "STOPSIGNAL SIGTERM" in dockerfile


def _compose_tool() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = run("docker", "compose", "version")
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_file_is_valid_for_compose_itself(tmp_path):
    tool = _compose_tool()
    if tool is None:
        pytest.skip(
            "neither docker-compose nor the docker compose plugin is installed "
            "(apt-get install docker-compose; .ci/run does)"
        )
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in TEST_ENV.items()))
    base = [*tool, "--env-file", str(env_file), "-f", str(COMPOSE)]
    valid = run(*base, "config", "-q")
    assert valid.returncode == 0, valid.stderr
    services = run(*base, "config", "--services")
    assert set(services.stdout.split()) == {"postgres", "migrate", "akhbar"}

    # Without the password, compose refuses to start, and says which value is missing.
    env_file.write_text(f"AKHBAR_CONTACT_URL={TEST_ENV['AKHBAR_CONTACT_URL']}\n")
    missing = run(*base, "config", "-q")
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr

    # The validator is real: a misspelt key is refused.
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("stop_grace_period:", "stop_grace_perod:"))
    env_file.write_text("".join(f"{k}={v}\n" for k, v in TEST_ENV.items()))
    refused = run(*tool, "--env-file", env_file, "-f", broken, "config", "-q")
    assert refused.returncode != 0 and "stop_grace_perod" in refused.stderr


# --- systemd units ------------------------------------------------------------------------

UNITS = sorted(DEPLOY.glob("*.service")) + sorted(DEPLOY.glob("*.timer"))


def _unit_values(text: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", text, re.M)


def test_unit_commands_exist_and_stop_graces_outlast_the_scheduler():
    spiders = set(schedules())
    assert UNITS
    for unit in UNITS:
        text = unit.read_text()
        for command in _unit_values(text, "ExecStart"):
            # %i: the instance, a spider's name (furatpost in the verify test below).
            argv = command.replace("%i", "furatpost").split()
            if argv[0] == "/opt/akhbar/deploy/backup.sh":
                assert (DEPLOY / "backup.sh").stat().st_mode & 0o111, "backup.sh not executable"
            else:
                assert_akhbar_command(argv)
            if argv[1:2] == ["crawl"]:
                assert argv[2] in spiders and "%i" in command, unit.name
        for timeout in _unit_values(text, "TimeoutStopSec"):
            assert seconds(timeout) > STOP_GRACE_SECONDS, unit.name
        for env_file in _unit_values(text, "EnvironmentFile"):
            assert env_file == "/etc/akhbar.env", unit.name


def test_units_pass_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (the systemd package)")
    # The units as installed on this machine: its checkout and .venv for /opt/akhbar, a copy
    # of the env example for /etc/akhbar.env, templates instantiated for a real spider.
    bin_dir = Path(sys.executable).parent  # the venv running the tests: akhbar, scrapy
    (tmp_path / "akhbar.env").write_text(ENV_EXAMPLE.read_text())
    paths = []
    for unit in UNITS:
        text = (
            unit.read_text()
            .replace("/opt/akhbar/.venv/bin/", f"{bin_dir}/")
            .replace("/opt/akhbar", str(ROOT))
            .replace("/etc/akhbar.env", str(tmp_path / "akhbar.env"))
        )
        path = tmp_path / unit.name.replace("@.", "@furatpost.")
        path.write_text(text)
        paths.append(path)
    result = run("systemd-analyze", "verify", *paths)
    # Unknown keys and bad values are warnings only: none may name one of our files.
    ours = [
        line for line in result.stderr.splitlines() if str(tmp_path) in line or "akhbar" in line
    ]
    assert result.returncode == 0 and not ours, result.stderr


def test_crontab_example_is_what_akhbar_schedule_crontab_prints(monkeypatch):
    from crawler.scheduler import BLOCK_BEGIN, crontab, declared_jobs

    # The environment of the env example, on a server with the checkout in /opt/akhbar.
    monkeypatch.setenv("AKHBAR_HOME", "/var/lib/akhbar")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://akhbar@127.0.0.1:5432/akhbar")
    generated = crontab(declared_jobs()).replace(str(ROOT), "/opt/akhbar")
    generated = generated.replace(str(Path(sys.executable).parent), "/opt/akhbar/.venv/bin")
    example = (DEPLOY / "crontab.example").read_text()
    assert example[example.index(BLOCK_BEGIN) :] == generated
    for name, schedule in schedules().items():
        assert f"{schedule} cd /opt/akhbar && " in example and f"crawl {name} " in example


# --- backups ------------------------------------------------------------------------------


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _backup(url: str, directory: Path, keep: str = "2") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "AKHBAR_BACKUP_DIR": str(directory)}
    env["AKHBAR_BACKUP_KEEP"] = keep
    return run(DEPLOY / "backup.sh", env=env)


def test_backup_dumps_checks_prunes_and_restores(make_database, tmp_path):
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed (postgresql-client)")
    url = make_database()
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sites (slug, name, base_url) VALUES ('furatpost', 'فرات بوست', "
            "'https://euphratespost.net/')"
        )
    backups = tmp_path / "backups"
    backups.mkdir()
    # Two older dumps (names sort by time) and an unrelated file that is never touched.
    for name in ("akhbar-20250101T000000Z.dump", "akhbar-20250102T000000Z.dump", "notes.txt"):
        (backups / name).write_text("old")

    result = _backup(url, backups)  # SQLAlchemy's URL, as in /etc/akhbar.env
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in backups.iterdir())
    assert names[0] == "akhbar-20250102T000000Z.dump" and names[-1] == "notes.txt"
    (dump,) = [n for n in names if n.startswith("akhbar-2") and not n.startswith("akhbar-2025")]
    assert re.fullmatch(r"akhbar-\d{8}T\d{6}Z\.dump", dump)
    assert "removed" in result.stdout and "20250101" in result.stdout
    assert oct((backups / dump).stat().st_mode & 0o777) == "0o600"

    # The restore test an operator runs: into a new database, the archive is all there.
    restored = make_database(migrate=False)
    restore = run(
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "-d",
        _libpq(restored),
        backups / dump,
    )
    assert restore.returncode == 0, restore.stderr
    with psycopg.connect(_libpq(restored)) as conn:
        assert conn.execute("SELECT slug, name FROM sites").fetchall() == [
            ("furatpost", "فرات بوست")
        ]
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)


def test_backup_of_an_unreachable_server_fails_and_leaves_no_file(pg_server_url, tmp_path):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (postgresql-client)")
    url = make_url(pg_server_url).set(port=1).render_as_string(hide_password=False)
    result = _backup(url, tmp_path)
    assert result.returncode != 0
    assert list(tmp_path.iterdir()) == []
    assert _backup(url, tmp_path, keep="0").returncode == 2


IMAGE_CHECK = """
import sys
import crawler, migrations, pipelines
root = sys.argv[1]
assert all(m.__file__.startswith(root) for m in (crawler, migrations, pipelines)), crawler.__file__
from crawler.cli import build_parser
from crawler.db.session import head_revisions
from crawler.spiders import schedules
build_parser().parse_args(["schedule", "run"])
print(",".join(head_revisions()), ",".join(sorted(schedules())))
"""


def test_the_files_the_image_copies_are_enough_to_run(tmp_path):
    # The image's /opt/akhbar holds only what the Dockerfile copies: with those files alone
    # (and the locked dependencies), the CLI, the migrations and the spiders must all load.
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    image = tmp_path / "opt-akhbar"
    image.mkdir()
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        *sources, _ = line.split()
        for source in sources:
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source, image / source, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(ROOT / source, image / source)
    env = {**os.environ, "PYTHONPATH": str(image), "AKHBAR_HOME": str(tmp_path / "home")}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    loaded = run(sys.executable, "-c", IMAGE_CHECK, image, cwd=image, env=env)
    assert loaded.returncode == 0, loaded.stderr
    from crawler.db.session import head_revisions

    assert loaded.stdout.split() == [",".join(head_revisions()), ",".join(sorted(schedules()))]
    # Scrapy finds its settings through the copied scrapy.cfg, and the spiders through them.
    spiders = run(sys.executable, "-m", "scrapy", "list", cwd=image, env=env)
    assert spiders.returncode == 0, spiders.stderr
    assert set(spiders.stdout.split()) == set(schedules())
