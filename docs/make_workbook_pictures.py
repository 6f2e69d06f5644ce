"""Make docs/summary.png, docs/results.png and docs/call-list.png: a real result workbook, drawn.

Runs ``csvscore score fixtures/exports/hubspot.csv --sandbox --yes --wait-scores 60`` (the
sandbox scores it; nothing leaves the machine) in empty config and state folders, has
LibreOffice print the workbook to PDF (``soffice --headless``), and cuts the pictures out of its
pages with ``pdftoppm``. The row sheets print one page wide, which makes 40 columns unreadable,
so a copy of them is printed with only their first columns (openpyxl sets the print area).
Rerun it after changing how the workbook looks::

    .venv/bin/python docs/make_workbook_pictures.py

Needs LibreOffice and poppler-utils on the PATH, and csvscore's ``receiver`` extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORT = ROOT / "fixtures" / "exports" / "hubspot.csv"
# (picture, page, dots per inch, crop: x, y, width, height in pixels at that resolution)
PICTURES = (
    ("summary.png", 1, 110, (60, 60, 1240, 540)),
    ("results.png", 2, 150, (80, 90, 1600, 150)),
    ("call-list.png", 3, 150, (80, 90, 1600, 150)),
)
SHOWN_COLUMNS = {"Results": 14, "Call List": 11}


def main() -> None:
    import openpyxl
    from openpyxl.utils import get_column_letter

    with tempfile.TemporaryDirectory(prefix="csvscore-pictures-") as folder:
        work = Path(folder)
        export = work / EXPORT.name
        shutil.copy(EXPORT, export)
        env = dict(
            os.environ,
            CSVSCORE_CONFIG_DIR=str(work / "config"),
            CSVSCORE_STATE_DIR=str(work / "state"),
            CSVSCORE_KEYRING="0",
        )
        args = [sys.executable, "-m", "csvscore", "score", export.name, "--sandbox", "--yes"]
        subprocess.run(
            [*args, "--wait-scores", "60"], env=env, cwd=work, check=True, capture_output=True
        )
        result = work / "hubspot.scored.xlsx"
        wb = openpyxl.load_workbook(result)
        keep = ["Summary", *SHOWN_COLUMNS]
        for ws in wb.worksheets:
            if ws.title not in keep:
                wb.remove(ws)
            elif ws.title in SHOWN_COLUMNS:
                last = get_column_letter(min(SHOWN_COLUMNS[ws.title], ws.max_column))
                ws.print_area = f"A1:{last}{ws.max_row}"
        copy = work / "pictures.xlsx"
        wb.save(copy)
        # The Summary from the workbook itself: openpyxl's copy loses the chart's looks.
        for source, name in ((result, "whole"), (copy, "cut")):
            subprocess.run(
                ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work), source],
                check=True,
                capture_output=True,
                timeout=180,
            )
            (work / f"{source.stem}.pdf").rename(work / f"{name}.pdf")
        for picture, page, dpi, (x, y, w, h) in PICTURES:
            pdf = work / ("whole.pdf" if picture == "summary.png" else "cut.pdf")
            stem = work / picture.removesuffix(".png")
            subprocess.run(
                ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                 "-singlefile", "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h),
                 str(pdf), str(stem)],
                check=True,
            )  # fmt: skip
            shutil.copy(stem.with_suffix(".png"), ROOT / "docs" / picture)
            print(f"docs/{picture}")


if __name__ == "__main__":
    main()
