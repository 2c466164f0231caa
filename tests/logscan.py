"""Finding resident ID numbers in log text: the check behind the whole-run log scan.

The issue: "no name or ID number in clear, in the audit table or in any log
line. A test scans the captured logs of a whole test run for ID numbers and
fails if one appears." ``tests/conftest.py`` installs a :class:`Capture` on
the root logger for the session and fails the run when it found anything.

What counts as an ID number (GB 11643):

- a run of exactly 17 digits and a check character (0-9 or X, either case)
  whose MOD 11-2 check is right: one random 18-digit number in 11 passes, so
  this errs on the side of reporting;
- 18 characters inside a longer run of digits, when the check is right and
  characters 7-14 are a real birth date: an ID number glued to other digits,
  without flagging every long number (a random window passes ~1 in 2,400);
- a run of exactly 15 digits whose characters 7-12 are a real date
  (YYMMDD, 19YY): a first-generation number, which has no check character.

Hex digests (32 characters or more, with a letter a-f among them) are left
out: flask-limiter logs the identity limits' keys, which are keyed hashes,
and a 64-character digest holds an 18-digit run that "checks" about once in
8,000.

>>> find_id_numbers("id=11010519491231002X ok")
['11010519491231002X']
>>> find_id_numbers("hash=5f1c2a9e44d0 count=123456789012345678901234567890")
[]
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from collections import Counter, deque
from dataclasses import dataclass

from lookup.numbers import id_check_char, mask_id_number

# Maximal runs of digits, with a trailing X that could be a check character.
_RUN = re.compile(r"[0-9]+[Xx]?")
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")


def _real_date(yyyymmdd: str) -> bool:
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return 1900 <= born.year <= datetime.date.today().year


def _checks(candidate: str) -> bool:
    return candidate[:17].isdigit() and id_check_char(candidate[:17]) == candidate[17].upper()


def find_id_numbers(text: str) -> list[str]:
    """The resident ID numbers in ``text`` (normalised, X upper-case), in order of appearance.

    >>> find_id_numbers("G11010519491231002x and 110105491231002")
    ['11010519491231002X', '110105491231002']
    >>> find_id_numbers("110105194912310021")  # wrong check character
    []
    """
    text = _HEX.sub(lambda m: m.group() if m.group().isdigit() else " ", text)
    found = []
    for match in _RUN.finditer(text):
        run = match.group()
        if len(run) == 18 and _checks(run):
            found.append(run.upper())
        elif len(run) == 15 and run.isdigit() and _real_date("19" + run[6:12]):
            found.append(run)
        elif len(run) > 18:
            found.extend(run[i:i + 18].upper() for i in range(len(run) - 17)
                         if _checks(run[i:i + 18]) and _real_date(run[i + 6:i + 14]))
    return found


@dataclass(frozen=True)
class Finding:
    logger: str
    masked: str  # never the number itself: the report must not leak it a second time
    test: str  # the test running when it was logged, or "" outside tests


class Capture(logging.Handler):
    """A logging handler that scans every record it is given for ID numbers.

    Records are formatted (with any exception text) and scanned as they are
    emitted, so arguments that change later cannot hide anything and a long
    run keeps only counts, the last lines and the findings.
    """

    def __init__(self, level: int = logging.INFO, keep: int = 1000) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.counts: Counter[str] = Counter()
        self.recent: deque[tuple[str, str]] = deque(maxlen=keep)
        self.findings: list[Finding] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken record still gets scanned, as raw as it comes
            text = f"{record.msg!r} {record.args!r}"
        self.counts[record.name] += 1
        self.recent.append((record.name, text))
        test = os.environ.get("PYTEST_CURRENT_TEST", "")
        self.findings.extend(Finding(record.name, mask_id_number(number), test)
                             for number in find_id_numbers(text))

    def report(self) -> list[str]:
        """One line per finding, for the end of the run."""
        return [f"logger {f.logger!r}: {f.masked}" + (f" (during {f.test})" if f.test else "")
                for f in self.findings]
