"""R8: the identities a TVS restart recorded in the state match the same certificates however a node
printed their issuer (the admin CLI's ``CN=X, OU=Y`` against the certificate's ``CN=X;OU=Y``)."""

from __future__ import annotations

from reconciler.cucm.certs import CertIdentity
from reconciler.plan.tvsfresh import identity_key, loads_value


def test_identity_key_does_not_depend_on_how_the_issuer_was_printed() -> None:
    as_signed = CertIdentity(serial=0x1A2B, issuer="CN=cucm-new-pub;OU=new;O=Reconciler Lab;C=US")
    as_listed = CertIdentity(serial=0x1A2B, issuer="CN=cucm-new-pub, OU=new, O=Reconciler Lab, C=US")
    assert identity_key(as_signed) == identity_key(as_listed)
    assert loads_value([as_signed]) == loads_value([as_listed])


def test_identity_key_still_tells_certificates_apart() -> None:
    a = CertIdentity(serial=0x1A2B, issuer="CN=cucm-new-pub;OU=new")
    assert identity_key(a) != identity_key(CertIdentity(serial=0x1A2C, issuer="CN=cucm-new-pub;OU=new"))
    assert identity_key(a) != identity_key(CertIdentity(serial=0x1A2B, issuer="CN=cucm-new-sub;OU=new"))
