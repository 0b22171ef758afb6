"""Tests of the ``mdnotes`` command line."""
