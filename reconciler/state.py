"""The state file: ownership, last-applied essence, serial, lineage, exclusive lock (issue 7)."""
