"""The provider contract (read, diff, apply, verify, close) and its request/result models (issue 6)."""
