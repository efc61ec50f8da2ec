"""Walks a Plan: per-endpoint concurrency, retries, verify, journal, waves and gates (issue 7)."""
