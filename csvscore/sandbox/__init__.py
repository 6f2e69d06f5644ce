"""A local simulator of the TitanX API on 127.0.0.1, for tests, demos and ``--sandbox`` runs.
Everything else here is internal.
"""
