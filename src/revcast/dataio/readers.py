"""Readers for source files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and Excel .xlsx.

A reader yields the header and the data rows with the line number a person sees in the file, and raises
SourceError (a file-level problem) with a message that names the file and says what is wrong.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUTO_ENCODINGS = ("utf-8-sig", "gb18030")
ENCODING_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "utf8": "utf-8", "utf-8-bom": "utf-8-sig"}


class SourceError(ValueError):
    """A problem with a whole source file (unreadable, empty, wrong encoding, missing columns)."""


@dataclass
class SourceRow:
    line: int
    values: dict[str, Any]
    error: str | None = None


@dataclass
class SourceTable:
    path: Path
    header: list[str]
    rows: list[SourceRow]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def _decode(path: Path, data: bytes, encoding: str) -> tuple[str, str]:
    if encoding == "auto":
        if data.startswith(codecs.BOM_UTF8):
            return data.decode("utf-8-sig"), "utf-8-sig"
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise SourceError(
                f"{path.name}: not readable as UTF-8 or GBK/GB18030 (byte 0x{data[exc.start]:02x} at line {line}); "
                "set 'encoding:' in the mapping"
            ) from exc
    codec = ENCODING_ALIASES.get(encoding.lower(), encoding)
    try:
        codecs.lookup(codec)
    except LookupError as exc:
        raise SourceError(f"{path.name}: unknown encoding {encoding!r} in the mapping") from exc
    try:
        return data.decode(codec), codec
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"{path.name}: not valid {encoding} (byte 0x{data[exc.start]:02x} at line {line}); "
            "is the file in another encoding? Use 'encoding: auto', 'utf-8-sig' or 'gbk' in the mapping"
        ) from exc


def read_csv(path: Path, encoding: str = "auto", delimiter: str = ",") -> SourceTable:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot read the file: {exc.strerror}") from exc
    if not data.strip():
        raise SourceError(f"{path.name}: the file is empty (no header line)")
    text, used = _decode(path, data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise SourceError(f"{path.name}: line 1: cannot parse the header: {exc}") from exc
    header = [h.strip() for h in header]
    if not any(header):
        raise SourceError(f"{path.name}: line 1: the header line is empty")
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise SourceError(f"{path.name}: line 1: duplicate column name(s) {dupes}")
    rows: list[SourceRow] = []
    width = len(header)
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(SourceRow(line=start, values={}, error=f"cannot parse the line: {exc}"))
            continue
        line = start
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        if len(cells) != width:
            problem = "truncated line?" if len(cells) < width else "an unquoted delimiter in a value?"
            rows.append(
                SourceRow(
                    line=line,
                    values={},
                    error=f"the line has {len(cells)} fields, the header has {width} ({problem})",
                )
            )
            continue
        rows.append(SourceRow(line=line, values=dict(zip(header, cells, strict=True))))
    return SourceTable(path=path, header=header, rows=rows, encoding=used)


def read_xlsx(path: Path, sheet: str | None = None) -> SourceTable:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError) as exc:
        raise SourceError(f"{path.name}: not a readable .xlsx workbook: {exc}") from exc
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise SourceError(f"{path.name}: no sheet named {sheet!r} (sheets: {workbook.sheetnames})")
        ws = workbook[sheet] if sheet is not None else workbook.worksheets[0]
        iterator: Iterator[tuple[Any, ...]] = ws.iter_rows(values_only=True)
        first = next(iterator, None)
        if first is None or not any(c is not None and str(c).strip() for c in first):
            raise SourceError(f"{path.name}: sheet {ws.title!r} is empty (no header row)")
        header = ["" if c is None else str(c).strip() for c in first]
        while header and not header[-1]:
            header.pop()
        dupes = sorted({h for h in header if h and header.count(h) > 1})
        if dupes:
            raise SourceError(f"{path.name}: sheet {ws.title!r} row 1: duplicate column name(s) {dupes}")
        rows = []
        for line, cells in enumerate(iterator, start=2):
            if not any(c is not None and str(c).strip() for c in cells):
                continue
            padded = list(cells[: len(header)]) + [None] * max(0, len(header) - len(cells))
            rows.append(
                SourceRow(
                    line=line,
                    values={h: ("" if v is None else v) for h, v in zip(header, padded, strict=True)},
                )
            )
        return SourceTable(path=path, header=header, rows=rows, encoding=None)
    finally:
        workbook.close()


def read_table(
    path: Path, *, encoding: str = "auto", sheet: str | None = None, delimiter: str = ","
) -> SourceTable:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet)
    return read_csv(path, encoding, delimiter)


def resolve(base: Path, name: str) -> Path | None:
    """The file a source names, inside folder ``base`` (or ``base`` itself): exact name, else same stem."""
    candidates = [base] if base.is_file() else [base / name]
    stem = Path(name).stem
    if base.is_dir():
        candidates += [base / f"{stem}{ext}" for ext in (".csv", ".xlsx", ".txt")]
    elif base.stem == stem:
        return base
    for candidate in candidates:
        if candidate.is_file() and (candidate.name == name or candidate.stem == stem):
            return candidate
    return None
