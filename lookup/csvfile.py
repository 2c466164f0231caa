"""Reading the registry's CSV exports: encoding, header, rows with their line numbers.

The national system's exports and the spreadsheets people make from them
arrive as UTF-8 (with or without a BOM) or as GB18030 — what Excel writes on a
Chinese Windows. We decide once, from the start of the file, and then decode
strictly, so a stray byte is reported with its line instead of turning into
a silent replacement character in a child's name.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 1 << 20


class RowError(Exception):
    """A row (or the file) is unacceptable. Printed as ``file:line: field: reason``."""

    def __init__(self, file: str, line: int | None, field: str | None, reason: str):
        self.file, self.line, self.field, self.reason = file, line, field, reason
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")


def detect_encoding(sample: bytes) -> str | None:
    """The encoding of a file starting with ``sample``: utf-8-sig, utf-8 or gb18030.

    A sample may end in the middle of a character, so UTF-8 is checked with
    an incremental decoder that tolerates an incomplete tail.

    >>> detect_encoding("学籍".encode("utf-8"))
    'utf-8'
    >>> detect_encoding(codecs.BOM_UTF8 + b"code")
    'utf-8-sig'
    >>> detect_encoding("张堃".encode("gb18030"))
    'gb18030'
    >>> detect_encoding(b"\\x81\\x20") is None
    True
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # A UTF-8 file with one damaged byte must not be taken for GB18030 (which
    # decodes almost anything, as garbage): GB18030 text read as UTF-8 fails
    # at nearly every Chinese character, damaged UTF-8 only here and there.
    text = sample.decode("utf-8", errors="replace")
    wide = sum(1 for ch in text if ord(ch) > 0x7F)
    if wide >= 20 and text.count("\ufffd") * 20 < wide:
        return "utf-8"
    try:
        codecs.getincrementaldecoder("gb18030")("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    return "gb18030"


@dataclass
class CsvFile:
    """An open CSV export: ``rows()`` yields ``(line_number, {column: value})``."""

    path: Path
    columns: Sequence[str]
    progress: Callable[[int], None] | None = None

    def __post_init__(self) -> None:
        self.name = self.path.name
        self.size = self.path.stat().st_size

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        with self.path.open("rb") as raw:
            encoding = detect_encoding(raw.read(SAMPLE_BYTES))
            if encoding is None:
                raise RowError(self.name, None, None,
                               "无法识别文件编码（应为 UTF-8 或 GB18030）")
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
            reader = csv.reader(text)
            position = 0
            try:
                header = next(reader, None)
                order = self._check_header(header)
                for record in reader:
                    line = reader.line_num
                    if not any(cell.strip() for cell in record):
                        continue  # Excel leaves empty lines at the end.
                    if len(record) != len(order):
                        raise RowError(self.name, line, None,
                                       f"应有 {len(order)} 列，实有 {len(record)} 列")
                    yield line, {name: cell.strip() for name, cell in zip(order, record, strict=True)}
                    if self.progress is not None and line % 4096 == 0:
                        now = raw.tell()
                        self.progress(now - position)
                        position = now
            except UnicodeDecodeError:
                # The text layer decodes ahead of the CSV reader, so find the
                # exact line again from the bytes.
                raise RowError(self.name, first_bad_line(self.path, encoding), None,
                               f"含有无法按 {encoding} 解码的字节") from None
            except csv.Error as exc:
                raise RowError(self.name, reader.line_num, None, f"CSV 格式错误：{exc}") from None
            if self.progress is not None:
                self.progress(self.size - position)

    def _check_header(self, header: list[str] | None) -> list[str]:
        if header is None:
            raise RowError(self.name, 1, None, "文件为空，缺少表头行")
        names = [cell.strip().lstrip("\ufeff") for cell in header]
        missing = [c for c in self.columns if c not in names]
        unknown = [c for c in names if c not in self.columns]
        if missing or unknown or len(set(names)) != len(names):
            expected = ",".join(self.columns)
            detail = []
            if missing:
                detail.append("缺少列 " + ",".join(missing))
            if unknown:
                detail.append("未知列 " + ",".join(unknown))
            if len(set(names)) != len(names):
                detail.append("列名重复")
            raise RowError(self.name, 1, None, f"表头应为 {expected}（{'；'.join(detail)}）")
        return names


def first_bad_line(path: Path, encoding: str) -> int | None:
    """The 1-based number of the first line of ``path`` that ``encoding`` cannot decode."""
    with path.open("rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError:
                return number
    return None
