"""Scores coming back from TitanX, pure: reading a scored contact, ranking its statuses, and
matching results to the rows of a run (no network, no database)."""
