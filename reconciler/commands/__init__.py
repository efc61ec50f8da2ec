"""CLI command groups, one module each; ``reconciler.cli`` registers them. Commands are thin: parse,
call the engine, render, return an exit code. Heavy libraries are imported inside the command bodies."""
