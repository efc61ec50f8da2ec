"""The in-process model of clusters, nodes, services, trust stores, identities, ITL/CTL, TVS and phones
(issue 4)."""
