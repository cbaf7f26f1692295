"""Small worlds with a declared truth, for the known-truth tests."""
