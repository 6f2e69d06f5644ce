"""Templates of the Desktop wrapper scripts (data, installed with the package)."""
