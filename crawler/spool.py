"""Observations that could not reach the database, kept on disk until they can.

One file per batch, JSON lines: a header line, then one line per observation. A file is
written to a temporary name and renamed, so a reader never sees half a batch, and it is
deleted only after its batch has been committed. Names sort by creation time, so replaying
``pending()`` in order replays the crawl in the order it happened.

Encoding is lossless for what items hold: datetimes keep their offset (and their IANA zone
name when they have one), bytes are base64, nested fetches keep their type. A fetch shared
by several items of a batch (a REST list response behind a hundred posts) is written in
full once, at its first item, and as ``{"$fetch": record_id}`` after that: its body is not
repeated a hundred times, and the items share one ``Fetch`` again when read back.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from crawler.items import ArticleGone, ArticleItem, ArticleSeen, Fetch, Observation, SiteInfo

FORMAT = "akhbar-spool"
VERSION = 2  # 2: fetches (shared by reference); 1: page snapshots, still read
READABLE_VERSIONS = (1, 2)
SUFFIX = ".jsonl"
FAILED = "failed"  # subdirectory for batches the database rejected (not an outage)

_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (ArticleItem, ArticleSeen, ArticleGone, Fetch)
}
_counter = 0


class SpoolFormatError(ValueError):
    """A spool file that is not ours or is damaged."""


@dataclass(slots=True)
class SpoolBatch:
    path: Path
    observations: list[Observation]
    site: SiteInfo | None = None
    crawl_run_id: int | None = None
    created_at: str = ""
    database: str | None = None  # masked URL of the database it was meant for
    # The end of a crawl run the database missed (``crawl_runs`` values), written by the
    # replay after the run's observations: a file of its own, with no observations.
    run_end: dict[str, Any] | None = None


def _encode(value: Any, written: set[str]) -> Any:
    if isinstance(value, datetime):
        out: dict[str, Any] = {"$dt": value.isoformat()}
        if isinstance(value.tzinfo, ZoneInfo):
            out["tz"] = value.tzinfo.key
        return out
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Fetch):
        if value.record_id in written:
            return {"$fetch": value.record_id}
        written.add(value.record_id)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "$type": type(value).__name__,
            **{f.name: _encode(getattr(value, f.name), written) for f in dataclasses.fields(value)},
        }
    if isinstance(value, list | tuple):
        return [_encode(v, written) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, written) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot spool a {type(value).__name__}")


def _decode(value: Any, fetches: dict[str, Fetch]) -> Any:
    if isinstance(value, list):
        return [_decode(v, fetches) for v in value]
    if not isinstance(value, dict):
        return value
    if "$dt" in value:
        dt = datetime.fromisoformat(value["$dt"])
        if "tz" in value:
            dt = dt.astimezone(ZoneInfo(value["tz"]))
        return dt
    if "$b64" in value:
        return base64.b64decode(value["$b64"])
    if "$fetch" in value:
        fetch = fetches.get(value["$fetch"])
        if fetch is None:
            raise SpoolFormatError(f"fetch {value['$fetch']!r} used before it was written")
        return fetch
    if "$type" in value:
        fields = {k: _decode(v, fetches) for k, v in value.items() if k != "$type"}
        if value["$type"] == "PageSnapshot":  # version 1: one header value per name
            return _legacy_snapshot(fields)
        cls = _TYPES.get(value["$type"])
        if cls is None:
            raise SpoolFormatError(f"unknown item type {value['$type']!r}")
        if "snapshot" in fields:  # a version 1 item
            fields["fetch"] = fields.pop("snapshot")
        obj = cls(**fields)
        if isinstance(obj, Fetch):
            fetches[obj.record_id] = obj
        return obj
    return {k: _decode(v, fetches) for k, v in value.items()}


def _legacy_snapshot(fields: dict[str, Any]) -> Fetch:
    headers = {k: [v] for k, v in (fields.get("headers") or {}).items()}
    return Fetch(fields["url"], fields["status"], headers, fields["body"], fields["fetched_at"])


def dumps(observation: Observation, written: set[str] | None = None) -> str:
    """One observation as one JSON line (no newline). ``written``: the record ids of the
    fetches earlier lines of the same file hold (updated), written as references."""
    encoded = _encode(observation, written if written is not None else set())
    return json.dumps(encoded, ensure_ascii=False, separators=(",", ":"))


def loads(line: str, fetches: dict[str, Fetch] | None = None) -> Observation:
    """The observation ``dumps`` wrote; ``fetches``: those earlier lines held (updated)."""
    obj = _decode(json.loads(line), fetches if fetches is not None else {})
    if not isinstance(obj, ArticleItem | ArticleSeen | ArticleGone):
        raise SpoolFormatError(f"not an observation: {type(obj).__name__}")
    return obj


def _new_name() -> str:
    # Sortable by creation time; pid and a counter keep concurrent writers apart.
    global _counter
    _counter += 1
    return f"{time.time_ns():020d}-{os.getpid()}-{_counter:06d}{SUFFIX}"


def spool_batch(
    directory: Path,
    observations: Sequence[Observation],
    *,
    site: SiteInfo | None = None,
    crawl_run_id: int | None = None,
    database: str | None = None,
) -> Path:
    """Write one batch atomically (temporary file, fsync, rename); return its path.

    ``database`` (a masked URL) says where the batch belongs, so a spool shared by crawls
    into several databases never replays a batch into the wrong one.
    """
    return _write(
        directory,
        observations,
        {
            "site": dataclasses.asdict(site) if site is not None else None,
            "crawl_run_id": crawl_run_id,
            "database": database,
        },
    )


def spool_run_end(
    directory: Path, crawl_run_id: int, values: dict[str, Any], *, database: str | None = None
) -> Path:
    """Spool the end of a crawl run (its ``crawl_runs`` values) for the replay to write.

    Named like a batch, so it sorts after the run's own spooled batches."""
    return _write(
        directory,
        [],
        {
            "site": None,
            "crawl_run_id": crawl_run_id,
            "database": database,
            "run_end": _encode(values, set()),
        },
    )


def _write(directory: Path, observations: Sequence[Observation], fields: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / _new_name()
    tmp = directory / (".tmp-" + final.name)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": datetime.now().astimezone().isoformat(),
        "count": len(observations),
        **fields,
    }
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=False) + "\n")
        written: set[str] = set()
        for obs in observations:
            fh.write(dumps(obs, written) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.rename(tmp, final)
    _fsync_dir(directory)
    return final


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pending(directory: Path) -> list[Path]:
    """Spooled batches waiting for replay, oldest first (never temporary files)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*" + SUFFIX) if not p.name.startswith("."))


def failed(directory: Path) -> list[Path]:
    """Batches the database rejected for a reason other than an outage, oldest first."""
    return pending(directory / FAILED)


def _read(path: Path, fh: IO[str]) -> SpoolBatch:
    try:
        return _parse(path, fh)
    except SpoolFormatError:
        raise
    except (ValueError, KeyError, TypeError) as exc:  # bad JSON, UTF-8, or fields
        raise SpoolFormatError(f"{path}: {type(exc).__name__}: {exc}") from exc


def _parse(path: Path, fh: IO[str]) -> SpoolBatch:
    header_line = fh.readline()
    try:
        header = json.loads(header_line)
    except json.JSONDecodeError as exc:
        raise SpoolFormatError(f"{path}: no header line") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise SpoolFormatError(f"{path}: not an akhbar spool file")
    if header.get("version") not in READABLE_VERSIONS:
        raise SpoolFormatError(f"{path}: spool format version {header.get('version')}")
    fetches: dict[str, Fetch] = {}
    observations = [loads(line, fetches) for line in fh if line.strip()]
    if header.get("count") is not None and header["count"] != len(observations):
        raise SpoolFormatError(
            f"{path}: header says {header['count']} observations, file has {len(observations)}"
        )
    site = SiteInfo(**header["site"]) if header.get("site") else None
    return SpoolBatch(
        path=path,
        observations=observations,
        site=site,
        crawl_run_id=header.get("crawl_run_id"),
        created_at=header.get("created_at", ""),
        database=header.get("database"),
        run_end=_decode(header["run_end"], {}) if header.get("run_end") else None,
    )


def load(path: Path) -> SpoolBatch:
    """Read one spooled batch."""
    with open(path, encoding="utf-8") as fh:
        return _read(path, fh)


@contextmanager
def claim(path: Path) -> Iterator[SpoolBatch | None]:
    """Hold an exclusive lock on a spool file while replaying it.

    Yields None when another process holds it or it is already gone (replayed by someone
    else). Several crawls may start at once and all look at the same spool directory.
    """
    try:
        fh = open(path, encoding="utf-8")  # closed in finally
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # replayed and deleted while we waited for the lock
            yield None
            return
        yield _read(path, fh)
    finally:
        fh.close()


def quarantine(path: Path) -> Path:
    """Move a batch the database rejects into ``failed/`` so it stops blocking replay."""
    target_dir = path.parent / FAILED
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    try:
        os.rename(path, target)
    except FileNotFoundError:  # another process moved it first
        pass
    return target


def remove(path: Path) -> None:
    """Delete a replayed batch (after its transaction committed)."""
    path.unlink(missing_ok=True)
    _fsync_dir(path.parent)
