"""Salted scrypt password hashes for principals (`ivr principal hash` makes one)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt's cost: about 50 ms and 16 MiB a check on a small VM; sign-ins run in a thread.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
PREFIX = "scrypt"
MAX_MEMORY = 256 * 1024 * 1024


def hash_password(password: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash` (base64) of a password, for `principals[].password`."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"{PREFIX}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def is_password_hash(text: str) -> bool:
    """Whether `text` is a hash `hash_password` made (and `verify_password` can use)."""
    return _parse(text) is not None


def verify_password(password: str, hashed: str) -> bool:
    """Whether `password` matches `hashed`; slow on purpose (scrypt): run it off the loop."""
    parsed = _parse(hashed)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), digest)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    data = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=32)


def _parse(text: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != PREFIX:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError:
        return None
    # Bounds keep a hash from a file from asking scrypt for gigabytes or hours.
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        return None
    if 129 * r * n * p > MAX_MEMORY or len(salt) < 8 or len(digest) != 32:
        return None
    return n, r, p, salt, digest


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
