"""Planning: the planner, its steps and rule checks, the forecast, the saved-plan document, the fingerprint of
the live facts it relied on, drift, and the dependency graph. Never changes anything."""
