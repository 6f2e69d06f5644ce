"""Synthetic contact exports for benchmarks (deterministic; no real people)."""

from __future__ import annotations

import csv
import random
from pathlib import Path

HEADERS = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number",
    "Job Title", "Company Name", "Website URL", "Street Address", "City", "State/Region",
    "Postal Code", "Country/Region", "Industry", "Number of Employees", "Annual Revenue",
    "LinkedIn URL", "Contact owner", "Lifecycle Stage", "Lead Status", "Create Date",
    "Last Activity Date", "Email Opt Out", "Time Zone", "Department", "Seniority",
    "Original Source", "Notes", "Campaign",
]
FIRST = ["Ann", "Bob", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo"]
LAST = ["Lee", "Smith", "Garcia", "Okafor", "Nguyen", "Rossi", "Kim", "Brown", "Silva", "Ode"]
STATES = ["CA", "NY", "TX", "WA", "IL", "MA", "CO", "GA", "FL", "OR"]
AREA = ["415", "212", "512", "206", "312", "617", "303", "404", "305", "503"]


def row(i: int, rng: random.Random) -> list[str]:
    f, last = rng.choice(FIRST), rng.choice(LAST)
    a = rng.choice(AREA)
    return [
        str(100000 + i), f, last, f"{f.lower()}.{last.lower()}{i}@example.com",
        f"({a}) {rng.randint(201, 989)}-{rng.randint(1000, 9999)}",
        f"+1 {a} {rng.randint(201, 989)} {rng.randint(1000, 9999)}",
        rng.choice(["VP Sales", "SDR", "CTO", "Head of Ops"]), f"Example {i % 997} Inc",
        f"https://example{i % 997}.com", f"{rng.randint(1, 999)} Main St", "Springfield",
        rng.choice(STATES), f"{rng.randint(10000, 99999)}", "United States", "Software",
        str(rng.choice([10, 50, 200, 1000])), str(rng.choice([1000000, 5000000])),
        f"https://www.linkedin.com/in/{f.lower()}-{last.lower()}-{i}", "Pat Owner", "lead",
        rng.choice(["New", "Open"]), "2024-01-05", "2024-03-01", "false", "America/New_York",
        "Sales", "Director", "Organic", "Met at a conference, \"hot\" lead", "Q3 push",
    ]


def write_csv(path: Path, rows: int, seed: int = 7) -> Path:
    if path.exists():
        return path
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(rows):
            w.writerow(row(i, rng))
    tmp.replace(path)
    return path


def write_xlsx(path: Path, rows: int, seed: int = 7) -> Path:
    if path.exists():
        return path
    from openpyxl import Workbook

    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")
    ws.append(HEADERS)
    for i in range(rows):
        r: list[object] = list(row(i, rng))
        r[0] = int(r[0])  # numbers stored as numbers, as Excel users have them
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
