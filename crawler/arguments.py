"""Spider arguments (``scrapy crawl SITE -a name=value``), declared and checked.

Scrapy turns every ``-a`` into a spider attribute without a word, so a misspelled name was
silently ignored and a bad value surfaced as a traceback. A spider declares what it
accepts (``NewsSpider.arguments``); ``check_arguments`` refuses anything else with one line
naming what is accepted. The crawl command calls it before anything starts (exit status 2),
and the spider's ``__init__`` calls it again for crawls started from Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class InvalidArguments(ValueError):
    """Arguments a spider does not accept; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class SpiderArgument:
    name: str
    accepts: str  # what a user may pass, in words: "YYYY-MM-DD, an ISO 8601 datetime, ..."
    help: str
    parse: Callable[[str], Any]  # raises ValueError for a value it does not accept


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def parse_flag(value: str) -> bool:
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("not a yes/no value")


def describe(arguments: Iterable[SpiderArgument]) -> str:
    """``since (YYYY-MM-DD ...), refetch (1 or 0)``: what a spider accepts, for messages."""
    return ", ".join(f"{a.name} ({a.accepts})" for a in arguments) or "none"


def check_arguments(
    spider_name: str, declared: Iterable[SpiderArgument], given: Mapping[str, Any]
) -> dict[str, Any]:
    """The parsed values of ``given``; ``InvalidArguments`` for an unknown name or bad value."""
    by_name = {a.name: a for a in declared}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        names = ", ".join(f"-a {n}" for n in unknown)
        raise InvalidArguments(
            f"{spider_name}: unknown argument {names}; accepted: {describe(by_name.values())}"
        )
    parsed: dict[str, Any] = {}
    for name, value in given.items():
        argument = by_name[name]
        if value is None:
            parsed[name] = None
            continue
        try:
            parsed[name] = argument.parse(str(value))
        except ValueError as exc:
            raise InvalidArguments(
                f"{spider_name}: -a {name}={value!s}: {exc}; accepted: {argument.accepts}"
            ) from None
    return parsed
