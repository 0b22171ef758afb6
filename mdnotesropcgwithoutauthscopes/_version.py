"""The package's version: pyproject.toml reads it, the User-Agent sends it, ``mdnotes --version`` prints it."""

__version__ = "1.0.0"
