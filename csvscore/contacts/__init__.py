"""Building contacts: a Table and a Mapping in, one API contact (or a local verdict) per row out.

Offline: no network, no journal, no user folders.
Everything else here is internal.
"""
