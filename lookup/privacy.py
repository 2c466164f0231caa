"""Keyed hashing of identity data: what we store instead of a minor's ID number."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable


def hash_id_number(key: bytes, id_number: str) -> str:
    """The HMAC-SHA256 of a normalised ID number under the service's key, in hex.

    Without the key the stored value cannot be reversed by enumerating the
    (small) space of ID numbers, which a plain hash would allow.

    >>> hash_id_number(b"k", "11010519491231002X") == hash_id_number(b"k", "11010519491231002X")
    True
    >>> hash_id_number(b"k", "11010519491231002X") == hash_id_number(b"j", "11010519491231002X")
    False
    """
    return id_hasher(key)(id_number)


def id_hasher(key: bytes) -> Callable[[str], str]:
    """``hash_id_number`` with the key schedule done once, for imports of millions of rows.

    >>> id_hasher(b"k")("11010519491231002X") == hash_id_number(b"k", "11010519491231002X")
    True
    """
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hash_one(id_number: str) -> str:
        mac = keyed.copy()
        mac.update(id_number.encode())  # UTF-8: ASCII numbers hash as before
        return mac.hexdigest()

    return hash_one
