"""Reading + mapping benchmark (issue 2): csvscore vs plain pandas/openpyxl, same run.

Goals: XLSX read >= 4x faster than openpyxl; CSV within 1.5x of pandas.read_csv(dtype=str);
a 300-column header mapped in under 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.datagen import junk_headers, write_csv, write_xlsx
from benchmarks.measure import PEAK, env_info, measure

OUT = Path(__file__).parent / "out"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    csv_path = write_csv(OUT / f"contacts_{args.rows}.csv", args.rows)
    xlsx_path = write_xlsx(OUT / f"contacts_{args.rows}.xlsx", args.rows)
    print(f"# read + map, {args.rows} rows x 30 columns ({env_info()})")

    cases = [
        (
            "csv  pandas.read_csv(dtype=str)",
            "import pandas as pd",
            f"df = pd.read_csv({str(csv_path)!r}, dtype=str, keep_default_na=False)" + PEAK,
        ),
        (
            "csv  csvscore read_table + map",
            "from csvscore.reader import read_table\nfrom csvscore.matcher import map_columns",
            f"t = read_table({str(csv_path)!r})\n"
            "m = map_columns(t.headers, [t.samples(i) for i in range(len(t.headers))])" + PEAK,
        ),
        (
            "xlsx openpyxl read_only values",
            "import openpyxl",
            f"wb = openpyxl.load_workbook({str(xlsx_path)!r}, read_only=True)\n"
            "rows = [[('' if v is None else str(v)) for v in r] "
            "for r in wb.active.iter_rows(values_only=True)]" + PEAK,
        ),
        (
            "xlsx csvscore read_table + map",
            "from csvscore.reader import read_table\nfrom csvscore.matcher import map_columns",
            f"t = read_table({str(xlsx_path)!r})\n"
            "m = map_columns(t.headers, [t.samples(i) for i in range(len(t.headers))])" + PEAK,
        ),
    ]
    results = {}
    for name, setup, body in cases:
        m = measure(name, setup, body)
        results[name] = m
        print(f"{name:<36} {m.seconds:8.2f} s   peak {m.peak_mb:7.0f} MB")
    pd_csv = results["csv  pandas.read_csv(dtype=str)"].seconds
    cs_csv = results["csv  csvscore read_table + map"].seconds
    op_x = results["xlsx openpyxl read_only values"].seconds
    cs_x = results["xlsx csvscore read_table + map"].seconds
    print(f"CSV:  csvscore / pandas   = {cs_csv / pd_csv:5.2f}x   (goal <= 1.5x)")
    print(f"XLSX: openpyxl / csvscore = {op_x / cs_x:5.2f}x faster (goal >= 4x)")

    from csvscore.matcher import map_columns

    headers = junk_headers(300)
    samples: list[list[str]] = [[] for _ in headers]
    map_columns(headers, samples)  # warm the synonym cache, as a real run has by then
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        map_columns(headers, samples)
        times.append(time.perf_counter() - t0)
    print(
        f"300-column header mapped: median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms (goal < 50 ms)"
    )
    t0 = time.perf_counter()
    import importlib

    import csvscore.synonyms as syn

    importlib.reload(syn)
    print(f"(synonym index cold load: {(time.perf_counter() - t0) * 1000:.1f} ms, once per process)")


if __name__ == "__main__":
    main()
