"""How the CLI writes: aligned text tables, ``Label: value`` blocks, times in UTC, durations, and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any


def when(value: Any) -> str:
    """A time as ``2026-01-31T12:00:00Z``; ``-`` for none."""
    if not isinstance(value, datetime):
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return str(value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


def how_long(value: timedelta | None) -> str:
    """A duration as ``1h02m03s``, ``4m05s`` or ``7s``; ``-`` for none."""
    if value is None:
        return "-"
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{seconds:02d}s"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s"


def shorten(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters (an ellipsis marks a cut)."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns as wide as their widest cell, two spaces apart; the last column is not padded."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for row in [headers, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def block(pairs: Sequence[tuple[str, str | list[str]]]) -> str:
    """``Label:  value`` lines, values aligned; a list value takes one line per item."""
    width = max(len(label) for label, _ in pairs) + 2
    lines = []
    for label, value in pairs:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items or ["-"]):
            lines.append(f"{(label + ':') if i == 0 else '':<{width}}{item}".rstrip())
    return "\n".join(lines)


def to_json(value: Any) -> str:
    """JSON with times in ISO 8601 (UTC)."""

    def default(item: Any) -> Any:
        if isinstance(item, datetime):
            return when(item)
        if isinstance(item, timedelta):
            return item.total_seconds()
        raise TypeError(f"not JSON serializable: {type(item).__name__}")

    return json.dumps(value, indent=2, default=default, sort_keys=True)
