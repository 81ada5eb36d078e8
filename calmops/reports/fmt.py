"""Plain-words formatting shared by the report renderers (no heavy imports: Markdown and HTML use it
without loading matplotlib)."""

from __future__ import annotations

from datetime import datetime

MAX_TEXT = 4000  # one paragraph's characters; longer user text is cut with an ellipsis


def when(value: object) -> str:
    """``2026-11-26T22:03:00Z`` → ``2026-11-26 22:03 UTC``; missing → ``—``."""
    if not value:
        return "—"
    text = str(value)
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: object) -> str:
    """Seconds in words: ``95`` → ``1 min 35 s``, ``7260`` → ``2 h 1 min``; missing → ``—``."""
    if seconds is None or isinstance(seconds, bool):
        return "—"
    try:
        s = round(float(seconds))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if s < 60:
        return f"{s} s"
    minutes, sec = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {sec} s" if sec else "")
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    days, hours = divmod(hours, 24)
    return f"{days} d" + (f" {hours} h" if hours else "")


def window_words(window: object) -> str:
    """A brief's time window in words: "2026-11-14 14:50 UTC, detected 14:51 UTC, 54 min so far"."""
    if not isinstance(window, dict) or not window.get("started_at"):
        return words(window)
    out = when(window["started_at"])
    if window.get("detected_at"):
        out += f", detected {when(window['detected_at'])[11:]}"
    if window.get("duration_s") is not None:
        out += f", lasting {duration(window['duration_s'])}"
    return out


def words(value: object) -> str:
    """Any report value as plain words: a dict's ``text``, a list joined, a yes/no, None as ``—``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "text" in value:
            return words(value["text"])
        return "; ".join(f"{k}: {words(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(words(v) for v in value) or "—"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
