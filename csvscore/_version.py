"""The version, alone in a module: internal code imports it from here, never from the root."""

__version__ = "0.2.0"
