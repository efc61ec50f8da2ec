"""``reconciler explain FILE``: validate one desired state and say what it means.

Prints the clusters, the trust the procedure requires (R4–R6, R11) next to what the file declares,
the method's steps (R2, R7–R9, R12, R13) and the waves with their gates. ``make demo`` runs it on
examples/lab.yaml. Exit 1 when the file has errors (they are printed instead).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import typer

from reconciler.commands.common import global_options, load_or_exit

__all__ = ["register"]


def explain(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Desired-state YAML file.", show_default=False),
) -> None:
    """Explain a desired state: clusters, required trust (R4-R6, R11), steps, waves and gates."""
    from rich.text import Text

    from reconciler.config.explain import explain as build
    from reconciler.render.diagnostics import make_console

    opts = global_options(ctx)
    color, as_json = opts.color, opts.json
    loaded = load_or_exit(file, opts, stderr=False)
    ex = build(loaded.desired)
    if as_json:
        sys.stdout.write(json.dumps(dataclasses.asdict(ex), indent=2) + "\n")
        raise typer.Exit(0)
    out = make_console(color=color)
    out.print(Text(f"{file}: move phones from {ex.source} to {ex.target}, method {ex.method}", style="bold"))
    out.print(Text("\nClusters", style="bold underline"))
    for cluster in ex.clusters:
        out.print(
            Text(
                f"  {cluster.name} ({cluster.role}, CUCM {cluster.version}, "
                f"certificates via {cluster.certificate_api})"
            )
        )
        for node in cluster.nodes:
            out.print(Text(f"    {node.name:<16} {node.host:<16} {', '.join(node.services)}"))
    out.print(Text("\nTrust the procedure requires", style="bold underline"))
    for req in ex.requirements:
        mark, style = ("declared", "green") if req.declared else ("MISSING ", "bold red")
        line = Text("  ")
        line.append(mark, style=style)
        line.append(f"  {req.rule:<6} {req.describe()}")
        out.print(line)
    out.print(Text(f"  rollback possible: {'yes' if ex.rollback_possible else 'no'} (R11)"))
    out.print(Text("\nSteps", style="bold underline"))
    for index, step in enumerate(ex.steps, start=1):
        out.print(Text(f"  {index}. {step}"))
    out.print(Text("\nWaves", style="bold underline"))
    for wave in ex.waves:
        how = "reset phones" if wave.reset else "wait for natural reboots"
        out.print(
            Text(
                f"  {wave.name}: {how}; gate {wave.min_registered_share:.0%} Registered on "
                f"{ex.target} within {wave.deadline_seconds}s"
            )
        )
        for scope in wave.scopes:
            out.print(
                Text(
                    f"    {scope.name} {scope.subnet} via {scope.server}: "
                    f"option 150 -> {', '.join(scope.option150)}"
                )
            )
    warnings = loaded.warnings
    if warnings:
        out.print(
            Text(f"\n{warnings} warning(s); run 'reconciler validate {file}' to see them", style="yellow")
        )


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
