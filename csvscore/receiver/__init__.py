"""The webhook receiver a team runs once: TitanX's signed deliveries in, scores out to the CLI.

Installed with the ``receiver`` extra. Only :mod:`~csvscore.receiver.app`,
:mod:`~csvscore.receiver.serve` and :mod:`~csvscore.receiver.postgres` import Starlette, uvicorn
or psycopg, and nothing outside this package imports them, so the ops install never needs them.
"""
