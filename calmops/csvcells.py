"""CSV cells a spreadsheet will not run as a formula: every CSV export (the audit log, the incident
list) writes its cells through ``cell``, so user and webhook text stays data."""

from __future__ import annotations

import json


def cell(value: object) -> str:
    """The value as CSV text; one that starts with = + - @ (or a tab or carriage return) gets a
    leading ``'``. Lists and dicts are written as JSON."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
