"""Append-only, fsync'd record of an apply that makes ``apply --resume`` possible (issue 7)."""
