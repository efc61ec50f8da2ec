"""YAML -> schemas with FILE:LINE:COL diagnostics; secret references resolved late (issue 2)."""
