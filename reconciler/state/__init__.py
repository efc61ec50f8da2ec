"""What the tool remembers between runs: the state store (ownership, serial), its lock
(``lockfile``), the apply journal, and the durable-write helpers they share (``files``)."""
