"""What the tool remembers between runs: the state store (ownership, serial, lock) and the apply journal."""
