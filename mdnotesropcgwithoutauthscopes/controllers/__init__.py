"""Controllers: one per API area, each a list of endpoint declarations."""
