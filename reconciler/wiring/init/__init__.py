"""``reconciler init``: discover an estate from a seed and write a desired state that validates.

``init_document(seed_path, out=)`` reads the seed (``.discover.read_seed``), discovers the clusters
through AXL, builds an in-memory desired state with the nodes found (so that the DHCP servers, the CUCM
DHCP server's node included, are reached exactly as ``plan`` reaches them), reads every scope, and
returns the commented YAML text (``.write.render_document``). Called by ``reconciler.commands.init``,
which validates the text with the loader before it writes the file.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.wiring.init.discover import Discovery, cluster_for_nodes, discover, read_seed
from reconciler.wiring.init.write import render_document
from schemas.document import DesiredState

__all__ = ["Discovery", "init_document"]


def init_document(seed_path: Path, *, out: Path) -> str:
    seed = read_seed(seed_path)
    clusters_only = discover(seed)
    by_name = {c.name: c for c in clusters_only.clusters}
    source = next(c for c in seed.clusters if str(c.role) == "source")
    target = next(c for c in seed.clusters if str(c.role) == "target")
    reading = DesiredState.model_validate(
        {
            "version": 1,
            "clusters": [cluster_for_nodes(c, by_name[c.name]) for c in seed.clusters],
            "dhcp": {"servers": (seed.raw.get("dhcp") or {}).get("servers") or []},
            "migration": {
                "source": source.name,
                "target": target.name,
                "waves": [
                    {"name": "read", "scopes": [], "gate": {"min_registered_share": 1, "deadline": "1m"}}
                ],
            },
        },
        context={"base_dir": seed_path.resolve().parent},
    )
    found = discover(seed, desired_for_dhcp=reading)
    return render_document(seed, found, out=out)
