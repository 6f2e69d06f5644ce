"""Sending safely: the send plan, batches, the journal, the ledger of charges, reconciliation.

Knows the API's errors (``api.errors``), never its client: the client is handed in.
Everything else here is internal.
"""
