"""Authentication managers."""
