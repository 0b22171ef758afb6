"""What the commands print: aligned fields, JSON, times, durations and token fingerprints."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mdnotesropcgwithoutauthscopes import OAuthToken
    from mdnotesropcgwithoutauthscopes.cli.settings import Settings

FINGERPRINT_LENGTH = 12


def fingerprint(access_token: str) -> str:
    """``sha256:`` and the first 12 hex digits of the SHA-256 of the token: tells tokens apart, reveals nothing."""
    return "sha256:" + hashlib.sha256(access_token.encode("utf-8")).hexdigest()[:FINGERPRINT_LENGTH]


def format_duration(seconds: float) -> str:
    """A length of time for people: ``42 s``, ``3 min 5 s``, ``2 h 0 min``, ``3 d 4 h``."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def format_time(unix_time: float) -> str:
    """A UTC time for people: ``2026-12-01 16:20:00 UTC``."""
    return datetime.fromtimestamp(unix_time, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso_time(unix_time: float) -> str:
    return datetime.fromtimestamp(unix_time, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def format_fields(values: Mapping[str, Any]) -> str:
    """``name: value`` lines with the values aligned, in the mapping's order."""
    if not values:
        return ""
    width = max(len(str(name)) for name in values) + 1
    lines = []
    for name, value in values.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        shown = "-" if shown is None else shown
        lines.append(f"{str(name) + ':':<{width}} {shown}".rstrip())
    return "\n".join(lines)


def format_json(value: Any) -> str:
    """Indented JSON, non-ASCII kept readable."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def expiry_text(token: OAuthToken, now: float) -> str:
    if token.expiry is None:
        return "unknown (the server gave no lifetime)"
    left = token.expiry - now
    when = "in " + format_duration(left) if left > 0 else format_duration(left) + " ago"
    return f"{format_time(token.expiry)} ({when})"


def token_details(token: OAuthToken, settings: Settings, base_uri: str, *, now: float, show: bool) -> dict[str, Any]:
    """What ``mdnotes token --json`` prints: never the access token unless ``show``, never the refresh token."""
    seconds_left = None if token.expiry is None else int(token.expiry - now)
    details: dict[str, Any] = {
        "username": settings.username,
        "base_uri": base_uri,
        "token_type": token.token_type,
        "expires_at": None if token.expiry is None else _iso_time(token.expiry),
        "expiry": token.expiry,
        "seconds_left": seconds_left,
        "expired": seconds_left is not None and seconds_left <= 0,
        "has_refresh_token": bool(token.refresh_token),
        "fingerprint": fingerprint(token.access_token or ""),
        "token_store": str(settings.token_store),
    }
    if show:
        details["access_token"] = token.access_token
    return details


def format_token(details: Mapping[str, Any], token: OAuthToken, *, now: float) -> str:
    """What ``mdnotes token`` prints for people."""
    if details["has_refresh_token"]:
        refresh = "yes (an expired token is renewed by the next call)"
    else:
        refresh = "no (log in again when it expires)"
    lines: dict[str, Any] = {
        "User": details["username"],
        "Server": details["base_uri"],
        "Token type": details["token_type"],
        "Expires": expiry_text(token, now),
        "Refresh token": refresh,
        "Fingerprint": details["fingerprint"],
        "Token store": details["token_store"],
    }
    if "access_token" in details:
        lines["Access token"] = details["access_token"]
    return format_fields(lines)
