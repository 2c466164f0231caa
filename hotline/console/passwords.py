"""Passwords: the policy (等保 level 3 style), and argon2id hashing.

The policy: at least 10 characters, at least three of the four classes
(upper case, lower case, digits, symbols), not containing the user name, and
not one of the passwords every guessing list starts with. Each refusal is a
Chinese sentence, and all of them are reported at once.

Hashes are argon2id (memory-hard) in their PHC string form, made with
argon2-cffi's defaults: RFC 9106's second recommended profile (t=3, 64 MiB,
p=4), about 0.15 s per hash on one core. The cost parameters travel inside
each hash, so raising them later only needs :func:`needs_rehash` at the next
login. The tests install a cheaper hasher on their app (see
``tests/hotline/console/conftest.py``); nothing else changes the parameters.
"""

from __future__ import annotations

import functools
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context

MIN_LENGTH = 10
# Hashing a megabyte-long "password" is a cheap way to burn our CPU.
MAX_LENGTH = 128
DEFAULT_HASHER = PasswordHasher()

# Passwords that meet the length and class rules and are still the first
# guesses of every list (keyboard walks, "Admin@123" and its kin, pinyin).
# Compared case-insensitively; a password that merely contains one of them is
# allowed (length does the rest).
COMMON = frozenset(p.lower() for p in (
    "Password123", "Password@123", "Password123!", "P@ssw0rd123", "P@ssword123", "Passw0rd!23",
    "Admin@123456", "Admin123456", "Admin@12345", "Abc@123456", "Abcd@123456", "Abcd1234!@#$",
    "Aa123456789", "Aa@123456789", "Qwer1234!@#$", "Qwerty@12345", "Qwerty123456",
    "1qaz@WSX3edc", "1qaz2wsx3edc", "1Qaz2wsx3edc", "Zxcvbnm@123", "Asdf1234!@#$",
    "Woaini1314!", "Woaini@1314", "Wo123456789", "Root@123456", "Test@123456", "Welcome@123",
    "Changeme123!", "Xueji@123456", "Moe@12345678", "Jyj@12345678", "Edu@12345678",
))

_CLASSES = ("大写字母", "小写字母", "数字", "符号")


class PasswordError(ValueError):
    """The password does not meet the policy; ``problems`` are Chinese sentences."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


def _classes(password: str) -> set[str]:
    found = set()
    for char in password:
        if "A" <= char <= "Z":
            found.add("大写字母")
        elif "a" <= char <= "z":
            found.add("小写字母")
        elif "0" <= char <= "9":
            found.add("数字")
        else:
            found.add("符号")
    return found


def problems(password: str, username: str = "") -> list[str]:
    """Everything wrong with ``password`` for ``username``, in Chinese (empty: acceptable).

    >>> problems("Xy7#kLm2pQ", "zhangsan")
    []
    >>> problems("short")
    ['密码至少需要 10 个字符', '密码须包含大写字母、小写字母、数字、符号中的至少 3 类']
    >>> problems("zhangsan#2026X", "zhangsan")
    ['密码不能包含用户名']
    >>> problems("P@ssw0rd123")
    ['这个密码过于常见，容易被猜中，请换一个']
    """
    found = []
    if len(password) < MIN_LENGTH:
        found.append(f"密码至少需要 {MIN_LENGTH} 个字符")
    if len(password) > MAX_LENGTH:
        found.append(f"密码不能超过 {MAX_LENGTH} 个字符")
    if any(unicodedata.category(c).startswith("C") for c in password):
        found.append("密码不能包含控制字符")
    if len(_classes(password)) < 3:
        found.append("密码须包含" + "、".join(_CLASSES) + "中的至少 3 类")
    if username and len(username) >= 3 and username.lower() in password.lower():
        found.append("密码不能包含用户名")
    if password.lower() in COMMON:
        found.append("这个密码过于常见，容易被猜中，请换一个")
    return found


def check(password: str, username: str = "") -> None:
    """Raise :class:`PasswordError` unless ``password`` meets the policy."""
    found = problems(password, username)
    if found:
        raise PasswordError(found)


def hasher() -> PasswordHasher:
    """The app's hasher (the tests install a cheaper one), or the default outside an app."""
    if has_app_context():
        return current_app.extensions.get("xueji.password_hasher", DEFAULT_HASHER)
    return DEFAULT_HASHER


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, with a fresh random salt."""
    return hasher().hash(password)


def verify(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; a damaged hash is a mismatch, never an exception."""
    if len(password) > MAX_LENGTH:
        return False  # no stored password is longer: do not spend the CPU
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash at login)."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def _dummy_hash(params: tuple[int, int, int]) -> str:
    return PasswordHasher(*params).hash("no account has this password")


def burn(password: str) -> None:
    """Spend the time of one verification, for a login whose outcome is already known.

    An unknown user name would otherwise answer faster than a wrong password,
    and the time would tell which user names exist.
    """
    current = hasher()
    verify(_dummy_hash((current.time_cost, current.memory_cost, current.parallelism)), password)
