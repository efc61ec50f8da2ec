"""networkx DiGraph of resource addresses: cycle report, deterministic order, DOT/Mermaid (issue 7)."""
