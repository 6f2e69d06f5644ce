"""csvscore: map CRM contact exports to TitanX's scoring API and submit them safely."""

__version__ = "0.1.0"
