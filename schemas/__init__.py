"""pydantic v2 models of the desired-state YAML and their JSON Schema export; imports nothing of ours.

The public names are re-exported here; each lives in a small module (``cluster``, ``trust``, ``dhcp``,
``migration``, ``policy``, ``secret``, ``common``, ``version``, ``document``).
"""

from schemas.cluster import (
    DEFAULT_PORTS,
    SERVICE_NAMES,
    CertificateApi,
    Cluster,
    ClusterCredentials,
    Node,
    Ports,
    Role,
    Service,
    SshSettings,
)
from schemas.common import TlsSettings
from schemas.dhcp import (
    CucmDhcpServer,
    DhcpConfig,
    DhcpKind,
    DhcpScope,
    DhcpServer,
    IosDhcpServer,
    KeaDhcpServer,
    TftpNodesOf,
)
from schemas.document import (
    ROLLBACK_PARAMETER,
    SCHEMA_VERSION,
    ClusterParameters,
    Dependency,
    DesiredState,
    json_schema,
)
from schemas.migration import Gate, Method, Migration, OnFailure, SftpSettings, Wave
from schemas.policy import Concurrency, Policy, Retries
from schemas.secret import Credential, SecretRef, SecretScheme
from schemas.trust import (
    CertificateRef,
    Identity,
    IdentityRef,
    NodeRole,
    NodeSelector,
    PemRef,
    TrustMode,
    TrustStore,
    TrustStoreDecl,
)
from schemas.version import CucmVersion

__all__ = [
    "DEFAULT_PORTS",
    "ROLLBACK_PARAMETER",
    "SCHEMA_VERSION",
    "SERVICE_NAMES",
    "CertificateApi",
    "CertificateRef",
    "Cluster",
    "ClusterCredentials",
    "ClusterParameters",
    "Concurrency",
    "Credential",
    "CucmDhcpServer",
    "CucmVersion",
    "Dependency",
    "DesiredState",
    "DhcpConfig",
    "DhcpKind",
    "DhcpScope",
    "DhcpServer",
    "Gate",
    "Identity",
    "IdentityRef",
    "IosDhcpServer",
    "KeaDhcpServer",
    "Method",
    "Migration",
    "Node",
    "NodeRole",
    "NodeSelector",
    "OnFailure",
    "PemRef",
    "Policy",
    "Ports",
    "Retries",
    "Role",
    "SecretRef",
    "SecretScheme",
    "Service",
    "SftpSettings",
    "SshSettings",
    "TftpNodesOf",
    "TlsSettings",
    "TrustMode",
    "TrustStore",
    "TrustStoreDecl",
    "Wave",
    "json_schema",
]
