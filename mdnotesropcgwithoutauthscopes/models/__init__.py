"""Data models of the MdNotes API."""
