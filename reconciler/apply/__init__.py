"""Applying a plan: the executor (its run bookkeeping, resume and report), one step with retries, state
bookkeeping, wave gates and their RisPort70 pacing, hooks. Called by ``reconciler apply`` through
``reconciler.commands.apply``."""
