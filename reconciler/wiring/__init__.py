"""The concrete world behind the CLI: a ``LiveEstate`` and the executor's provider registry over the
providers in ``providers/``, the only place where concrete providers meet the engine.

Only the command modules import this package; engine modules never do (an import-linter contract in
pyproject.toml).

- ``factory``: the ``WiringFactory`` the CLI's global options hold (``ProviderWiring`` is the real
  one): ``open_estate`` for plan and drift, ``open_apply`` (estate + registry, ``owned()`` reading the
  given state directory) for apply.
- ``gates.gate_handler(plan, desired, estate, clock=, cancel=)``: the wave gates apply adds under ``ris``.
- ``connections.Connections(desired)``: every client, made on first use (credentials resolved then),
  thread-safe, closed once.
- ``estate.ProviderEstate(conns, parallelism=)``: ``reconciler.live.protocol.LiveEstate`` over those clients
  (cluster reads: ``estate_clusters``; phone reads: ``estate_phones``; shared state: ``estate_base``).
- ``registry.build_registry(desired, conns=, estate=, owned=)``: provider kind/endpoint → provider,
  translating the plan's values into the providers' (trust, replication, TVS, parameters, option 150,
  reset); the wave gates are added by ``reconciler apply`` (``gates``).
- ``reset.ResetProvider``: ``reset.<wave>`` through the source's AXL with bounded concurrency.
"""
