"""Reading exports: a CSV/TSV/TXT or XLSX/XLS/ODS file in, a ``Table`` of text cells out.

Knows no TitanX fields, no network and no user folders. Empty on purpose: naming ``Table`` must
not load calamine; import from the modules (``reader.read_table``, ``table.Table``).
"""
