"""The result files: the workbook (and CSV files) that say what happened to every row.

Reads run results, never the journal.
Everything else here is internal.
"""
