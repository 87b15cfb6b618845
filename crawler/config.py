"""The one place that reads the environment.

Every other module asks this one; nothing else calls ``os.environ``.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONTACT_URL = "https://github.com/akhbar-archive/akhbar"


def database_url_from_env() -> str | None:
    """The server chosen by the user (``DATABASE_URL``), or None for the embedded default."""
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or None


def akhbar_home() -> Path:
    """Where akhbar keeps local state: the embedded database, spool files, logs."""
    explicit = os.environ.get("AKHBAR_HOME", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "akhbar"


def contact_url() -> str:
    """Where a site operator can read who we are; goes into the User-Agent."""
    return os.environ.get("AKHBAR_CONTACT_URL", "").strip() or DEFAULT_CONTACT_URL


def contact_url_is_default() -> bool:
    """Whether the operator left the User-Agent's contact at the project's default."""
    return not os.environ.get("AKHBAR_CONTACT_URL", "").strip()


def spool_dir() -> Path:
    """Items that could not reach the database wait here until the next start."""
    return akhbar_home() / "spool"


# Server-side bounds on every database session (crawler.db.session), in seconds.
DEFAULT_DB_STATEMENT_TIMEOUT = 60.0
DEFAULT_DB_IDLE_IN_TRANSACTION_TIMEOUT = 120.0


def db_statement_timeout() -> float:
    """``AKHBAR_DB_STATEMENT_TIMEOUT``: the longest one statement may run (0: no limit)."""
    return _seconds("AKHBAR_DB_STATEMENT_TIMEOUT", DEFAULT_DB_STATEMENT_TIMEOUT)


def db_idle_in_transaction_timeout() -> float:
    """``AKHBAR_DB_IDLE_IN_TRANSACTION_TIMEOUT``: how long the server keeps a transaction
    its client stopped talking in (0: forever)."""
    return _seconds("AKHBAR_DB_IDLE_IN_TRANSACTION_TIMEOUT", DEFAULT_DB_IDLE_IN_TRANSACTION_TIMEOUT)


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise ValueError(f"{name} must be a number of seconds >= 0, not {raw!r}")
    return value
