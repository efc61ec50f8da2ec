"""The read side: the ``LiveEstate`` protocol the planner and drift read the world through, and the refresh
that reads every fact a plan needs with bounded parallelism."""
