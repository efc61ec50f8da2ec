"""Certificates and keys for the CUCM domain tests, generated once per test session.

Real RSA/EC keys and real X.509 certificates (reconciler.cucm.certs generators); cached with
``functools.cache`` so every test module shares them and the suite stays fast.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from reconciler.cucm.certs import IssuedCert, generate_ca, generate_identity, generate_key

#: A fixed clock for reproducible validity periods.
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@functools.cache
def rsa_key(slot: int) -> object:
    return generate_key("rsa2048")


@functools.cache
def lab_ca() -> IssuedCert:
    return generate_ca(common_name="Reconciler Test CA", now=NOW)


@functools.cache
def identity(kind: str, host: str, cluster: str, *, ec: bool = False) -> IssuedCert:
    """A distinct identity per (kind, host, cluster); RSA keys come from a small pool (slot by kind)."""
    if ec:
        key = generate_key("ec-p256", seed=hash((kind, host, cluster)) & 0xFFFFFFFF)
    else:
        key = rsa_key({"CallManager": 0, "TVS": 1, "ITLRecovery": 2, "CAPF": 3, "tomcat": 4}[kind])
    return generate_identity(kind=kind, host=host, cluster=cluster, key=key, now=NOW)  # type: ignore[arg-type]
