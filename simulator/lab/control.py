"""The running lab's small control endpoint (plain HTTP on the lab's loopback range, basic auth) and its
client, for ``reconciler lab status|phones|fault``.

Served by ``simulator.lab.runtime.LabRuntime`` (on ``<prefix>.30.252``, a kernel-chosen port written to the
inventory, password in ``credentials/control.password``)::

    GET  /status   the lab's summary (clusters, phones per status, active faults, operations)
    GET  /phones   every phone: name, scope, cluster, node, status, reason, rule, ip, tftp
    GET  /operations  the operation log: seq, at (lab clock), op, target, detail (tests check apply's order)
    GET  /boots    the wire boots, one entry per phone boot: seq, at, phone (target), detail (its DHCP,
                   TFTP and TVS requests; docs/lab.md#how-phones-boot)
    POST /faults   {"kind": ..., "cluster"/"node"/"face"/"seconds"/"count"/"off"}  -> {"applied": text}
    GET  /faults   the active faults

The client (``control_request``) uses only the stdlib so the lab commands stay light.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reconciler.errors import LabError
from simulator.faces.https import Request, Response

__all__ = ["ControlHandler", "control_request"]


def _json(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload, indent=2).encode(), "application/json")


class ControlHandler:
    def __init__(
        self,
        *,
        status: Callable[[], Mapping[str, Any]],
        phones: Callable[[], list[dict[str, Any]]],
        apply_fault: Callable[[Mapping[str, Any]], str],
        faults: Callable[[], list[dict[str, Any]]],
        operations: Callable[[], list[dict[str, Any]]] = list,
        boots: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self._status = status
        self._boots = boots
        self._operations = operations
        self._phones = phones
        self._apply = apply_fault
        self._faults = faults

    def __call__(self, request: Request) -> Response:
        key = (request.method, request.path.rstrip("/") or "/")
        try:
            if key == ("GET", "/status"):
                return _json(200, dict(self._status()))
            if key == ("GET", "/phones"):
                return _json(200, self._phones())
            if key == ("GET", "/operations"):
                return _json(200, self._operations())
            if key == ("GET", "/boots"):
                return _json(200, self._boots())
            if key == ("GET", "/faults"):
                return _json(200, self._faults())
            if key == ("POST", "/faults"):
                body = json.loads(request.body or b"{}")
                if not isinstance(body, dict):
                    return _json(400, {"error": "body must be a JSON object"})
                return _json(200, {"applied": self._apply(body)})
        except LabError as exc:
            return _json(400, {"error": exc.message, "hint": exc.hint})
        except (ValueError, KeyError) as exc:
            return _json(400, {"error": str(exc)})
        return _json(404, {"error": f"no {request.method} {request.path}"})


def control_request(
    control: Mapping[str, Any], method: str, path: str, body: Any = None, *, timeout: float = 10.0
) -> Any:
    """Call the control endpoint described by the inventory's ``control`` section; ``LabError`` when the
    lab does not answer or refuses."""
    try:
        password = Path(str(control["password_file"])).read_text().strip()
        url = str(control["url"]).rstrip("/") + path
        user = str(control["username"])
    except (KeyError, OSError) as exc:
        raise LabError(f"the inventory's control section is unusable: {exc}") from exc
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    if data is not None:
        request.add_header("Content-Type", "application/json")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}")
        except ValueError:
            detail = {}
        raise LabError(
            str(detail.get("error") or f"HTTP {exc.code}"), hint=detail.get("hint") or None
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LabError(
            f"the lab at {url} does not answer: {exc}", hint="is it up? 'reconciler lab status'"
        ) from exc
