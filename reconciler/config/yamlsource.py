"""The config layer's name for the kernel's position-aware YAML reader (``reconciler.yamlsource``).

The reader moved to the kernel so the lab-spec loader (``simulator.lab.specfile``), which may not import
``reconciler.config``, shares the same limits and positions; the config modules keep importing it from
here.
"""

from reconciler.yamlsource import DEFAULT_LIMITS, DataPath, Limits, SourceMap, format_path, parse_yaml

__all__ = ["DEFAULT_LIMITS", "DataPath", "Limits", "SourceMap", "format_path", "parse_yaml"]
