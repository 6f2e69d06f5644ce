"""The column-mapping engine: headers and sample values in, a ``Mapping`` (``model``) out.

Pure apart from loading its YAML data and the mapping file a user names; it never imports
``read``. Empty on purpose: naming ``Mapping`` must not load rapidfuzz and numpy.
"""
