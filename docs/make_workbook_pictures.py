"""Make docs/summary.png and docs/results.png: a real result workbook, rendered as a person sees it.

Scores a small export against the sandbox with a few things going wrong on purpose (a refused
batch, one whose answer is lost, the credits running out, rows TitanX would reject, a duplicate),
so every status shows; converts the workbook to PDF with LibreOffice (headless) and the first two
pages (Summary, Results) to PNG with pdftoppm. Nothing is drawn by hand: rerun it after changing
the workbook::

    .venv/bin/python docs/make_workbook_pictures.py         # writes docs/summary.png, results.png

Needs LibreOffice and poppler-utils (Debian: libreoffice-calc-nogui poppler-utils).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import csvscore  # noqa: E402
from csvscore.sandbox.server import Sandbox  # noqa: E402
from tests.support import HEADERS, contact_row  # noqa: E402

FAULTS = ["", "400:contacts[3].phone must be a string", "drop_before_create", "low_credits"]


def demo_workbook(folder: Path) -> Path:
    src = folder / "acme-contacts.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(40):
            w.writerow(contact_row(i))
        w.writerow(["Bob", "", "bob@example.com", "(415) 555-0199", "", "CTO", "Ads"])
        w.writerow(["Cy", "NoPhone", "cy@example.com", "12345", "", "CEO", "Ads"])
        w.writerow(contact_row(3))
    out = folder / "acme-contacts.scored.xlsx"
    with Sandbox(faults=FAULTS) as sb:
        env = {
            "CSVSCORE_STATE_DIR": str(folder / "state"),
            "CSVSCORE_CONFIG_DIR": str(folder / "config"),
            "CSVSCORE_KEYRING": "0",
            "TITANX_API_KEY": sb.api_key,
        }
        options = csvscore.ScoreOptions(batch_size=8, workers=1)
        request = csvscore.ScoreRequest(base_url=sb.url, output=out, options=options)
        csvscore.score_file(src, request, env=env)
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workbook = demo_workbook(folder)
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(folder), workbook],
            check=True,
            capture_output=True,
        )
        pdf = workbook.with_suffix(".pdf")
        for page, name, crop in (
            (1, "summary", (0, 0, 1290, 640)),
            (2, "results", (0, 60, 1290, 520)),
        ):
            x, y, w, h = crop
            stem = folder / name
            subprocess.run(
                ["pdftoppm", "-r", "110", "-f", str(page), "-l", str(page), "-png", "-singlefile",
                 "-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h), str(pdf), str(stem)],
                check=True,
            )  # fmt: skip
            shutil.copy(stem.with_suffix(".png"), ROOT / "docs" / f"{name}.png")
            print(f"wrote docs/{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
