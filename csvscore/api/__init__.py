"""TitanX over HTTP: the client, reading its answers, its errors and its rate limits.

The only package that imports ``requests``. Empty on purpose: ``api.errors`` is imported by
the sending code, which must not load ``requests`` through this face.
"""
