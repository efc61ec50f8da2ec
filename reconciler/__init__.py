"""reconciler: declarative migration of IP phones between secure (mixed-mode) CUCM clusters.

The engine (planner, executor, state, journal, drift), the CLI and the CUCM domain knowledge live here;
see docs/architecture.md for the layering.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
