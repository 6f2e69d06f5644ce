"""The user's own files: folders, the API key, remembered mappings and last-seen figures.
Everything else here is internal.
"""
