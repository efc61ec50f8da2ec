"""The configuration: YAML loading with positions, schema errors, semantic checks, secrets, desired values.

Called by the commands (``validate``, ``plan``, ``apply``, ``explain``, ``drift``) through
``reconciler.config.loader``; the planner and drift use ``reconciler.config.desired``."""
