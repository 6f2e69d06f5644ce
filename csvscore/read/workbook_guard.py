"""Checks a workbook within the read limits before calamine opens it, and each sheet before it
is loaded (calamine cannot be stopped once it allocates: a refused allocation aborts the process).

- **XLSX / XLSB**: the number of parts and each part's declared size; the shared strings' declared
  count (calamine reserves room for it up front); each sheet's reach (:mod:`.sheet_extent`), just
  before that sheet is loaded. Sheets are found as calamine finds them: ``_rels/.rels`` names the
  workbook part, its relationships name the sheet parts. When that cannot be followed, every part
  that could be a sheet is measured instead.
- **ODS**: every sheet is built when the file is opened, so all of ``content.xml`` is measured
  first (:mod:`.ods_extent`).
- **XLS**: the DIMENSIONS records of the workbook stream (:mod:`.xls_extent`).
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

from csvscore.errors import InputError
from csvscore.read.limits import ReadLimits, off_grid, over_cells, over_size
from csvscore.read.ods_extent import ods_sheets
from csvscore.read.sheet_extent import Reach, xlsb_reach, xlsx_reach
from csvscore.read.xls_extent import Damaged, NotCompound, xls_size
from csvscore.read.zipparts import ZipParts, prefetched

_HEAD = 1 << 16
_RELATIONSHIP = re.compile(rb"<(?:[\w.\-]+:)?Relationship\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_SHEET = re.compile(rb"<(?:[\w.\-]+:)?sheet\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR = re.compile(rb"""([\w.\-:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SST = re.compile(rb"<(?:[\w.\-]+:)?sst(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_SHEET_TYPES = ("/worksheet", "/chartsheet", "/dialogsheet")
_SMALL = 1 << 24  # workbook.xml and relationship parts are read whole up to this size
_SCAN = 1 << 21  # sheet XML is measured 2 MiB at a time (numpy calls are per chunk)


class WorkbookGuard:
    """The checks for one workbook file; ``before_sheet()`` is called before each sheet load."""

    def __init__(self, path: Path, name: str, kind: str, limits: ReadLimits) -> None:
        self.path = path
        self.name = name
        self.kind = kind
        self.limits = limits
        self._sheet_parts: dict[str, list[zipfile.ZipInfo]] | None = None
        self._all_sheet_parts: list[zipfile.ZipInfo] = []
        self._checked: set[str] = set()

    # -- before the workbook is opened ---------------------------------------------------------

    def before_open(self) -> None:
        if self.kind in ("xlsx", "xlsb", "ods"):
            with ZipParts(self.path, self.name, self.limits) as parts:
                for part in parts.names():
                    for info in parts.find(part):
                        parts.check_size(info)
                if self.kind == "ods":
                    self._check_ods(parts)
                elif self.kind == "xlsx":
                    self._check_shared_strings(parts)
                    self._find_xlsx_sheets(parts)
                else:
                    self._find_xlsb_sheets(parts)
        elif self.kind == "xls":
            self._check_xls()

    def _check_ods(self, parts: ZipParts) -> None:
        for info in parts.find("content.xml"):
            # Whole, like calamine reads it (its size was checked against the limit above).
            sheets = ods_sheets(b"".join(parts.chunks(info)))
            for sheet in sheets:
                if sheet.cells > self.limits.max_cells:
                    what = "a sheet (with its repeated rows and cells)"
                    raise InputError(
                        over_cells(self.name, what, sheet.rows, sheet.columns, self.limits)
                    )
            total = sum(sheet.cells for sheet in sheets)
            if total > self.limits.max_cells:  # calamine builds every sheet at once
                raise InputError(
                    f"{self.name}: its {len(sheets)} sheets hold {total:,} cells together "
                    f"(repeated rows and cells included), more than csvscore reads "
                    f"({self.limits.max_cells:,} cells); if the file is genuine, raise the limit "
                    "with --max-cells"
                )

    def _check_shared_strings(self, parts: ZipParts) -> None:
        for info in parts.find(self._xl_path(parts) + "sharedStrings.xml"):
            head = parts.head(info.filename, _HEAD)
            found = _SST.search(head)
            if found is None:
                if info.file_size > len(head):
                    raise InputError(
                        f"{self.name}: its shared strings do not start as a workbook's do; "
                        "the file is damaged or was not made by a spreadsheet program"
                    )
                continue
            count = _attribute(found.group(1), b"uniqueCount")
            if count is None or not count.strip().isdigit():
                continue
            declared = int(count)
            # An <si> element takes a dozen bytes at least, so more strings than bytes / 8
            # cannot be there; calamine would still reserve room for all of them.
            if declared > max(info.file_size // 8, 1) or declared > self.limits.max_cells:
                raise InputError(
                    f"{self.name}: its shared strings declare {declared:,} strings in "
                    f"{info.file_size:,} bytes, which cannot be; the file is damaged or was not "
                    "made by a spreadsheet program"
                )

    def _check_xls(self) -> None:
        try:
            size = xls_size(self.path, self.limits.max_bytes)
        except Damaged as exc:
            raise InputError(
                f"{self.name}: is a damaged Excel 97-2003 file ({exc}); open it in Excel and "
                "save it again, or export the contacts again"
            ) from None
        except NotCompound:
            return  # calamine says what it is (a Word document, an encrypted workbook...)
        if size.reserved > self.limits.max_cells:
            raise InputError(
                over_cells(
                    self.name,
                    "a sheet (as its DIMENSIONS record declares)",
                    size.reserved_rows,
                    size.reserved_columns,
                    self.limits,
                )
            )
        if size.rows * size.columns > self.limits.max_cells:
            raise InputError(over_cells(self.name, "a sheet", size.rows, size.columns, self.limits))

    # -- finding the sheet parts ---------------------------------------------------------------

    def _xl_path(self, parts: ZipParts) -> str:
        """The folder of the workbook part, from the package relationships (calamine: xl_path)."""
        rels = parts.read_small("_rels/.rels", _SMALL) or b""
        for attrs in _RELATIONSHIP.findall(rels):
            kind = _attribute(attrs, b"Type") or b""
            target = _attribute(attrs, b"Target")
            if kind.endswith(b"/relationships/officeDocument") and target is not None:
                text = html.unescape(target.decode("utf-8", "replace"))
                folder = text[: text.rfind("/") + 1] if "/" in text else ""
                return folder.removeprefix("/")
        return "xl/"

    def _find_xlsx_sheets(self, parts: ZipParts) -> None:
        xl = self._xl_path(parts)
        rels = parts.read_small(f"{xl}_rels/workbook.xml.rels", _SMALL)
        book = parts.read_small(f"{xl}workbook.xml", _SMALL)
        # A repeated relationship id or sheet name keeps every part it could mean: what is
        # measured must include whichever one calamine picks.
        targets: dict[bytes, list[str]] = {}
        for attrs in _RELATIONSHIP.findall(rels or b""):
            rel_id, kind = _attribute(attrs, b"Id"), _attribute(attrs, b"Type") or b""
            target = _attribute(attrs, b"Target")
            if rel_id is None or target is None:
                continue
            text = html.unescape(target.decode("utf-8", "replace"))
            path = text[1:] if text.startswith("/") else xl + text
            targets.setdefault(rel_id, []).append(path)
            if kind.decode("utf-8", "replace").endswith(_SHEET_TYPES):
                self._all_sheet_parts.extend(parts.find(path))
        sheets: dict[str, list[zipfile.ZipInfo]] = {}
        for attrs in _SHEET.findall(book or b""):
            name = _attribute(attrs, b"name")
            rel_id = next(
                (v for k, v in _attributes(attrs) if k == b"id" or k.endswith(b":id")), None
            )
            if name is None or rel_id is None or rel_id not in targets:
                continue
            sheet = html.unescape(name.decode("utf-8", "replace"))
            for path in targets[rel_id]:
                sheets.setdefault(sheet, []).extend(parts.find(path))
        if rels is None or book is None or not self._all_sheet_parts:
            # Not followed as calamine would: measure every XML part but the known others.
            self._all_sheet_parts = [
                info
                for part in parts.names()
                if part.endswith(".xml") and not part.endswith(("sharedstrings.xml", "styles.xml"))
                for info in parts.find(part)
            ]
            sheets = {}
        self._sheet_parts = sheets

    def _find_xlsb_sheets(self, parts: ZipParts) -> None:
        rels = parts.read_small("xl/_rels/workbook.bin.rels", _SMALL) or b""
        for attrs in _RELATIONSHIP.findall(rels):
            kind = (_attribute(attrs, b"Type") or b"").decode("utf-8", "replace")
            target = _attribute(attrs, b"Target")
            if target is not None and kind.endswith(_SHEET_TYPES):
                text = html.unescape(target.decode("utf-8", "replace"))
                self._all_sheet_parts.extend(
                    parts.find(text[1:] if text.startswith("/") else "xl/" + text)
                )
        if not self._all_sheet_parts:
            self._all_sheet_parts = [
                info
                for part in parts.names()
                if part.endswith(".bin") and part not in ("xl/workbook.bin", "xl/styles.bin")
                for info in parts.find(part)
            ]
        self._sheet_parts = {}

    # -- before a sheet is loaded --------------------------------------------------------------

    def before_sheet(self, sheet: str) -> None:
        """Measure the part(s) of ``sheet`` (every sheet part when its own cannot be told)."""
        if self.kind not in ("xlsx", "xlsb") or self._sheet_parts is None:
            return
        infos = self._sheet_parts.get(sheet) or self._all_sheet_parts
        todo = [info for info in infos if info.filename not in self._checked]
        if not todo:
            return
        with ZipParts(self.path, self.name, self.limits) as parts:
            for info in todo:
                if self.kind == "xlsx":
                    chunks = prefetched(parts.chunks(info, _SCAN))
                    again = parts.chunks(info, _SCAN)
                    reach = xlsx_reach(chunks, again, self.limits.max_cells)
                else:
                    reach = xlsb_reach(parts.chunks(info))
                self._check_reach(sheet, reach)
                self._checked.add(info.filename)

    def _check_reach(self, sheet: str, reach: Reach) -> None:
        what = f"sheet '{sheet}'"
        if reach.off_grid():
            raise InputError(off_grid(self.name, what, reach.row, reach.column))
        if reach.cells > self.limits.max_cells:
            raise InputError(over_cells(self.name, what, reach.rows, reach.columns, self.limits))


def _attributes(attrs: bytes) -> list[tuple[bytes, bytes]]:
    return [(key, double or single) for key, double, single in _ATTR.findall(attrs)]


def _attribute(attrs: bytes, name: bytes) -> bytes | None:
    found = None
    for key, value in _attributes(attrs):
        if key == name:
            found = value
    return found


def check_file_size(name: str, size: int, limits: ReadLimits) -> None:
    """Refuse a file larger than the limit before any of it is read."""
    if size > limits.max_bytes:
        raise InputError(over_size(name, "the file", size, limits))
