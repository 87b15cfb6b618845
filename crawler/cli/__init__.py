"""The ``akhbar`` command.

Subcommands are discovered: every module in this package that defines
``register(subparsers) -> None`` adds its own commands, so a new command is a new
module and this file never changes. Modules import their heavy dependencies inside
their handlers, which keeps ``akhbar --help`` fast.

A handler is set with ``parser.set_defaults(func=handler)``; it receives the parsed
``argparse.Namespace`` and returns the exit status (``None`` means 0). Raise
``CommandError`` (or ``crawler.errors.DatabaseError``) for an expected failure:
it is printed as one line on stderr, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable
from typing import Any

from crawler.errors import DatabaseError


class CommandError(Exception):
    """An expected failure: printed as ``akhbar: <message>`` with exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every discovered subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="akhbar",
        description="A revision-tracking archive of Arabic-language Syrian news.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register: Callable[[Any], None] | None = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [CommandError, DatabaseError]
    # Only classes whose modules are already imported: a handler that never touched
    # the database must not pay for importing SQLAlchemy here.
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None:
        errors.append(sa_exc.OperationalError)
    alembic_exc = sys.modules.get("alembic.util.exc")
    if alembic_exc is not None:  # e.g. `akhbar db upgrade nosuchrevision`
        errors.append(alembic_exc.CommandError)
    return tuple(errors)


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run ``akhbar``; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # "akhbar" or "akhbar db" alone: show what there is.
        (getattr(args, "_parser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        status = func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if isinstance(exc, _expected_errors()):
            print(f"akhbar: {_one_line(exc)}", file=sys.stderr)
            return getattr(exc, "code", 1) if isinstance(exc, CommandError) else 1
        raise
    return 0 if status is None else int(status)


if __name__ == "__main__":  # python -m crawler.cli
    sys.exit(main())
