"""Workbooks written by hand, part by part: shapes no spreadsheet program writes (hostile files).

Used by the hostile-file tests and the reader fuzzer. Each function returns the file's bytes; the
parts are the smallest set calamine needs to open an XLSX (content types, package and workbook
relationships, workbook, one sheet each) or an ODS (mimetype, manifest, content).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">'
    f'<Relationship Id="rId1" Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)


def cell_xml(ref: str, text: str) -> str:
    """An inline-string cell: ``<c r="A1" t="inlineStr"><is><t>text</t></is></c>``."""
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def sheet_xml(cells: Iterable[tuple[str, str]], *, raw: str = "") -> str:
    """A worksheet part with ``cells`` ((ref, text), grouped into rows) and ``raw`` XML after."""
    rows: dict[int, list[str]] = {}
    for ref, text in cells:
        number = int(re.sub(r"[A-Za-z]", "", ref) or "1")
        rows.setdefault(number, []).append(cell_xml(ref, text))
    body = "".join(f'<row r="{n}">{"".join(c)}</row>' for n, c in sorted(rows.items()))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
        f"<sheetData>{body}{raw}</sheetData></worksheet>"
    )


def xlsx(
    sheets: dict[str, str],
    *,
    shared_strings: str | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """An XLSX whose sheets are ``{name: worksheet XML}`` (in order)."""
    book = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(sheets, 1)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    if shared_strings is not None:
        rels += (
            f'<Relationship Id="rId{len(sheets) + 1}" Type="{DOC_RELS}/sharedStrings" '
            'Target="sharedStrings.xml"/>'
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
            f'xmlns:r="{DOC_RELS}"><sheets>{book}</sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{RELS}">{rels}'
            "</Relationships>",
        )
        for i, xml in enumerate(sheets.values(), 1):
            archive.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


CONTACTS = [
    ("A1", "First Name"),
    ("B1", "Last Name"),
    ("C1", "Phone"),
    ("A2", "Ann"),
    ("B2", "Lee"),
    ("C2", "415-555-0134"),
]


def contacts_xlsx(*more: tuple[str, str], raw: str = "") -> bytes:
    """A one-sheet contact list (header and one contact) plus ``more`` cells and ``raw`` XML."""
    return xlsx({"Contacts": sheet_xml([*CONTACTS, *more], raw=raw)})


ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def ods_cell(text: str, repeat: int | None = None) -> str:
    times = f' table:number-columns-repeated="{repeat}"' if repeat else ""
    return (
        f'<table:table-cell office:value-type="string"{times}>'
        f"<text:p>{escape(text)}</text:p></table:table-cell>"
    )


def ods(rows_xml: str, name: str = "Contacts") -> bytes:
    """An ODS with one sheet whose rows are ``rows_xml`` (``<table:table-row>`` elements)."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NS} '
        'office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="{escape(name)}">{rows_xml}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(
            "META-INF/manifest.xml",
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
            'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<manifest:file-entry manifest:full-path="/" '
            'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            "</manifest:manifest>",
        )
    return out.getvalue()


def ods_row(*cells: str, repeat: int | None = None) -> str:
    times = f' table:number-rows-repeated="{repeat}"' if repeat else ""
    return f"<table:table-row{times}>{''.join(cells)}</table:table-row>"


def ods_contacts(*more_rows: str) -> bytes:
    header = ods_row(ods_cell("First Name"), ods_cell("Last Name"), ods_cell("Phone"))
    ann = ods_row(ods_cell("Ann"), ods_cell("Lee"), ods_cell("415-555-0134"))
    return ods(header + ann + "".join(more_rows))
