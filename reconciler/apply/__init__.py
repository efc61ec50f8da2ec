"""Applying a plan: the executor, one step with retries, state bookkeeping, wave gates, hooks. Called by
``reconciler apply`` through ``reconciler.commands.apply``."""
