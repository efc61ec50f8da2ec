"""Refresh-only comparison of live vs last applied vs desired (issue 7)."""
