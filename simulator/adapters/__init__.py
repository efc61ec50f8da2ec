"""Bridges from the model's ``Lab`` API (``simulator.model``) to each face's backend Protocol
(``simulator.faces.backends``), used by ``simulator.lab.runtime.LabRuntime``.

Where the model's semantics and a face's differ, the adapter decides (never the face); each module's
docstring says how. Per cluster: ``ModelAxl`` (AXL), ``ModelRis`` (RisPort70). Per node:
``ModelServices`` (ControlCenterServices), ``ModelCertmgr`` (certmgr REST), ``ModelCli`` (admin CLI),
``ModelTftp`` (TFTP over HTTP). Per router: ``ModelIos``. ``describe_trust_file`` renders ``show itl``.
"""

from simulator.adapters.axl import ModelAxl
from simulator.adapters.certs import ModelCertmgr, NodeCerts
from simulator.adapters.cli import ModelCli, describe_trust_file
from simulator.adapters.services import ModelRis, ModelServices
from simulator.adapters.tftp import ModelIos, ModelTftp

__all__ = [
    "ModelAxl",
    "ModelCertmgr",
    "ModelCli",
    "ModelIos",
    "ModelRis",
    "ModelServices",
    "ModelTftp",
    "NodeCerts",
    "describe_trust_file",
]
