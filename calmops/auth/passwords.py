"""Password hashing with the standard library's scrypt (memory-hard; no extra dependency) and a
constant-time comparison. The stored form names its parameters, so they can be raised later."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

N, R, P = 2**14, 8, 1  # ~50 ms per hash on this class of machine (notes/performance.md)
MIN_LENGTH = 10


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when ``password`` matches ``stored``; a missing or malformed hash is a plain no, after
    the same work, so timing does not tell a known name from an unknown one."""
    try:
        scheme, n, r, p, salt, digest = (stored or DUMMY).split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected) and stored is not None


def generate_password() -> str:
    """A password to print once: 20 URL-safe characters (~120 bits)."""
    return secrets.token_urlsafe(15)


def check_strength(password: str) -> str:
    """The password when it is long enough, else ValueError saying what is wrong."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    return password


DUMMY = hash_password("calmops-dummy-password")
