"""Pure data of the engine: Address, Action, Change, Plan, Outcome (issue 7 fills this in)."""
