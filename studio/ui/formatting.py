"""Small text formatters shared by the pages: times, counts, sizes and previews."""

from __future__ import annotations

from datetime import datetime, timezone


def when(moment: datetime) -> str:
    """Local time; the date only when it is not today, as mail clients do. Naive times are UTC, as stored."""
    local = moment.astimezone() if moment.tzinfo else moment.replace(tzinfo=timezone.utc).astimezone()
    return local.strftime("%H:%M:%S" if local.date() == datetime.now().date() else "%Y-%m-%d %H:%M")


def preview(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text[: n - 1] + "…" if len(text) > n else text


def human_count(n: int) -> str:
    """135M, 1.7B, 12K: parameter counts as model cards write them."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            value = n / size
            return (f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}") + unit
    return str(n) if n else "—"


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B" if n else "—"
