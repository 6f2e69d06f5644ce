"""The operating system: Desktop shortcuts, the macOS droplet, opening a result with its app.

Imports nothing of the library but ``errors``.
Everything else here is internal.
"""
