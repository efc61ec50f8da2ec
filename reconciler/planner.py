"""refresh -> diff -> rules -> graph -> Plan; never mutates anything (issue 7)."""
