"""The project's own exception types and how to tell an outage from a bug.

A leaf: imports nothing of the project and nothing heavy, so extraction (pure, no
database) and the database layer share it without importing each other.

* ``NotAnArticle``: a page property (a listing, a challenge, an empty body), with a short
  ``reason``; counted as ``not_article/<reason>``. Only this exception means "not an
  article": any other exception from extraction is a bug (logged with its traceback and
  counted in ``spider/errors``), even one that has a ``.reason`` (``UnicodeDecodeError``).
* ``DatabaseError`` / ``DatabaseTimeout``: expected database failures with a one-line
  explanation; ``is_outage`` says whether an exception means "the database is unreachable
  or went away" (retry, spool) rather than a bug (fail loudly).
"""

from __future__ import annotations

import sys


class NotAnArticle(Exception):
    """The page is not an article; ``reason`` is one short word.

    Pages: ``challenge`` (bot protection), ``redirect_stub``, ``error_page`` (404 page, also
    served with 200), ``login``, ``listing`` (home, category, tag, search, archive pages),
    ``empty_page``, ``no_title``, ``empty_body``, ``short_body``. REST posts:
    ``not_published``, ``protected``, ``no_link`` and the body reasons.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class DatabaseError(RuntimeError):
    """An expected failure with a one-line explanation (unreachable server, bad URL...)."""


class DatabaseTimeout(DatabaseError):
    """The database did not answer within a caller's bound (an outage, see is_outage)."""


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means "the database is unreachable or went away" (worth retrying).

    psycopg reports refused/lost connections, server shutdown, serialization failures and
    deadlocks as OperationalError; SQLAlchemy flags a dropped connection as invalidated.
    """
    # Looked up, not imported: an exception of theirs exists only once they are loaded, and
    # this module must stay cheap for extraction, which never touches a database.
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None and isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        psycopg = sys.modules.get("psycopg")
        return psycopg is not None and isinstance(
            exc.orig, psycopg.OperationalError | psycopg.InterfaceError
        )
    # The embedded server could not be started or reached.
    return isinstance(exc, DatabaseError | OSError)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for log lines that stay one line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
