"""The ``csvscore`` command: parsing arguments, the review prompt, all that the terminal shows.

The entry point is :func:`main` (``csvscore.cli:main``); everything else here is internal.
"""

from csvscore.cli.app import main

__all__ = ["main"]
