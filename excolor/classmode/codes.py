"""Class codes, visitor tokens and teacher keys: what a link carries, made and checked here.

A code the app makes is the teacher's memorable name plus a random part (`year-9b-k3f9`), so a class cannot be
found by guessing names. A teacher key is 128 random bits; the store keeps only a salted PBKDF2 hash of it (a
random salt per class) and compares digests in constant time. The key is random, so the hash only has to make a
stolen database useless, not to slow down guessing a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CLASS_CODE = re.compile(r"[a-z0-9-]{3,24}")
CLASS_CODE_RULE = "3 to 24 characters: a–z, 0–9 and -"
RANDOM_PART = 4  # characters of [a-z0-9] after the name: 36**4 = 1.7 million codes per name
NAME_CHARS = 24 - RANDOM_PART - 1
TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # new_token()'s shape: anything else from a cookie is ignored
KEY_ITERATIONS = 20_000  # PBKDF2-SHA256: ~10 ms a check; a key is 128 random bits, so this is plenty
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def is_class_code(text: str) -> bool:
    return isinstance(text, str) and CLASS_CODE.fullmatch(text) is not None


def parse_class_code(text: str) -> str:
    """A class code as written in a link, or ValueError saying what is allowed (urlstate's notice uses it)."""
    if not is_class_code(text):
        raise ValueError(CLASS_CODE_RULE)
    return text


def new_class_code(name: str = "class") -> str:
    """The teacher's name for the class (lower-cased, other characters dropped) plus a random part."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:NAME_CHARS].strip("-") or "class"
    return f"{slug}-{''.join(secrets.choice(_ALPHABET) for _ in range(RANDOM_PART))}"


def new_token() -> str:
    """A random visitor token or teacher key: 128 bits, no link to who the visitor is."""
    return secrets.token_urlsafe(16)


def is_token(text: object) -> bool:
    return isinstance(text, str) and TOKEN.fullmatch(text) is not None


def hash_key(key: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    """(salt, digest) of a teacher key; a new random salt unless one is given (to check a key)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    return salt, hashlib.pbkdf2_hmac("sha256", key.encode(), salt, KEY_ITERATIONS)


def key_matches(key: str, salt: bytes, digest: bytes) -> bool:
    """Whether `key` hashes to `digest` under `salt`, compared in constant time."""
    return isinstance(key, str) and 0 < len(key) <= 64 and hmac.compare_digest(hash_key(key, salt)[1], digest)
