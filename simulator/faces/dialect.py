"""``WireDialect``: how the lab's faces phrase what CUCM says where the public evidence is thin.

Every face takes one (``simulator.lab.faces`` passes the ``LabSpec``'s); the default is the form the public
evidence backs (docs/cucm-interfaces.md, "Later public evidence"), and each field is a knob for the other
forms a real cluster may use, so the clients' tests can run against every combination that matters:

- ``certmgr_service``: the ``service`` token certmgr REST accepts for a trust store: ``unit``
  (``CallManager``, default), ``store`` (``CallManager-trust``) or ``both``;
- ``show_cert_trust_pem``: whether ``show cert trust NAME`` appends the PEM block (default: no);
- ``dn_style``: how ``show cert`` prints names: ``comma`` (``CN=X, OU=Y, O=Z``, default) or ``rfc4514``
  (``C=Z,O=Y,CN=X``: reversed, no spaces);
- ``serial_style``: ``hex`` (default) or ``decimal`` print form of ``Serial Number:`` (unknown on CUCM);
- ``unknown_command``: the answer to a command the CLI does not support (default
  ``No valid command entered``; the other documented form is ``Executed command unsuccessfully``);
- ``unsupported_commands``: command prefixes (lower case) this CLI does not support at all;
- ``pagination``: ``session`` (on until ``set cli pagination off``, default), ``always`` (the off command is
  not supported) or ``never``; ``page_lines`` rows per page;
- ``start_time``: ControlCenter ``StartTime``: ``naive`` (``Fri Nov 27 07:47:15 2026`` in the node's zone,
  no zone printed, default), ``zoned`` (``Fri Nov 27 07:47:15 PST 2026``), ``iso`` (ISO 8601 with offset)
  or ``empty``; ``node_utc_offset_h`` is the node's zone (default -8, west of UTC); ``UpTime`` is always
  integer seconds;
- ``strict_node_name``: ``soapDoControlServices`` refuses a ``NodeName`` that is not the node's own
  process-node name (default on; empty or absent means "this node").

Plain frozen data; no decision logic of the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PAGER_PROMPT", "WireDialect"]

#: The pager prompt byte-exactly (ANSI bold, reset, erase to end of line; no newline after it).
PAGER_PROMPT = "\x1b[1mPress <enter> for 1 line, <space> for one page, or <q> to quit\x1b[0m\x1b[K"


@dataclass(frozen=True, slots=True, kw_only=True)
class WireDialect:
    certmgr_service: Literal["unit", "store", "both"] = "unit"
    show_cert_trust_pem: bool = False
    dn_style: Literal["comma", "rfc4514"] = "comma"
    serial_style: Literal["hex", "decimal"] = "hex"
    unknown_command: str = "No valid command entered"
    unsupported_commands: tuple[str, ...] = ()
    pagination: Literal["session", "always", "never"] = "session"
    page_lines: int = 20
    start_time: Literal["naive", "zoned", "iso", "empty"] = "naive"
    node_utc_offset_h: int = -8
    strict_node_name: bool = True
