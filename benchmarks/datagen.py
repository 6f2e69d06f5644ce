"""Synthetic 30-column HubSpot-like contact exports for benchmarks (deterministic; no real people).

Names are drawn from small lists, e-mail addresses and websites are under example.com, and
phone numbers are in the fictional 555-01xx range (valid US numbers for libphonenumber, so the
sandbox accepts them). Row ``i``'s two numbers are derived from ``i``, office and mobile from
different area codes, so that no two of the first 250,000 rows have the same pair of numbers:
nothing is dropped as a duplicate, and every row of a generated file is accepted as it is.

Files are cached in the output folder by name; :data:`DATA_VERSION` is part of the name, so
changing the generator means new files rather than stale ones.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

DATA_VERSION = 3

HEADERS = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Job Title", "Company Name", "Website URL", "Street Address", "City", "State/Region",
    "Postal Code", "Country/Region", "Industry", "Number of Employees", "Annual Revenue",
    "LinkedIn URL", "Contact owner", "Lifecycle Stage", "Lead Status", "Create Date",
    "Last Activity Date", "Email Opt Out", "Time Zone", "Department", "Seniority",
    "Original Source", "Notes", "Campaign",
]  # fmt: skip
FIRST = ["Ann", "Bob", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo"]
LAST = ["Lee", "Smith", "Garcia", "Okafor", "Nguyen", "Rossi", "Kim", "Brown", "Silva", "Ode"]
STATES = ["CA", "NY", "TX", "WA", "IL", "MA", "CO", "GA", "FL", "OR"]
OFFICE_AREAS = ["415", "212", "512", "206", "312"]
MOBILE_AREAS = ["617", "303", "404", "305", "503"]
NUMBERS_PER_KIND = 100 * len(OFFICE_AREAS)  # 555-0100..555-0199 in each area


def fictional_number(areas: list[str], n: int) -> tuple[str, str]:
    """(area code, "555-01xx") for ``n`` in 0..499: distinct fictional US numbers."""
    return areas[(n // 100) % len(areas)], f"555-01{n % 100:02d}"


def row(i: int, rng: random.Random) -> list[str]:
    """Row ``i`` of an export, as the text a CRM writes."""
    f, last = rng.choice(FIRST), rng.choice(LAST)
    office_area, office = fictional_number(OFFICE_AREAS, i % NUMBERS_PER_KIND)
    mobile_area, mobile = fictional_number(MOBILE_AREAS, (i // NUMBERS_PER_KIND) % NUMBERS_PER_KIND)
    return [
        str(100000 + i), f, last, f"{f.lower()}.{last.lower()}{i}@example.com",
        f"({office_area}) {office}",
        f"+1 {mobile_area} {mobile.replace('-', ' ')}",
        rng.choice(["VP Sales", "SDR", "CTO", "Head of Ops"]), f"Example {i % 997} Inc",
        f"https://c{i % 997}.example.com", f"{rng.randint(1, 999)} Main St", "Springfield",
        rng.choice(STATES), f"{rng.randint(10000, 99999)}", "United States", "Software",
        str(rng.choice([10, 50, 200, 1000])), str(rng.choice([1000000, 5000000])),
        f"https://www.linkedin.com/in/example-{f.lower()}-{last.lower()}-{i}", "Pat Owner", "lead",
        rng.choice(["New", "Open"]), "2024-01-05", "2024-03-01", "false", "America/New_York",
        "Sales", "Director", "Organic", "Met at a conference, \"hot\" lead", "Q3 push",
    ]  # fmt: skip


def export_path(folder: Path, rows: int, ext: str = "csv") -> Path:
    """Where the generated export of ``rows`` rows lives (the name carries the data version)."""
    return folder / f"contacts-v{DATA_VERSION}-{rows}.{ext}"


def write_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """Write (or reuse) a CSV export of ``rows`` data rows plus the header; returns ``path``."""
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(rows):
            w.writerow(row(i, rng))
    tmp.replace(path)
    return path


def write_xlsx(path: Path, rows: int, seed: int = 7) -> Path:
    """Write (or reuse) the same export as an XLSX workbook, record IDs stored as numbers."""
    if path.exists():
        return path
    from openpyxl import Workbook

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")
    ws.append(HEADERS)
    for i in range(rows):
        r: list[object] = list(row(i, rng))
        r[0] = int(str(r[0]))  # numbers stored as numbers, as Excel users have them
        ws.append(r)
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    return path


def junk_headers(n: int, seed: int = 3) -> list[str]:
    """A wide header: real export names mixed with custom fields, as big CRMs produce."""
    rng = random.Random(seed)
    out = list(HEADERS)
    words = ["Custom", "Score", "Region", "Tier", "Flag", "Date", "Owner", "Source", "Stage", "Q"]
    while len(out) < n:
        out.append(f"{rng.choice(words)} {rng.choice(words)} {len(out)}")
    return out[:n]
