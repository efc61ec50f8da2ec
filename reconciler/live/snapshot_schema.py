"""The JSON Schema of a snapshot document (``reconciler.live.snapshot``), committed as
docs/snapshot.schema.json; ``tests/unit/test_snapshot.py`` checks that the file is current and that a
recorded snapshot validates against it. ``reconciler snapshot --schema`` prints it."""

from __future__ import annotations

from typing import Any

from reconciler.live.snapshot import METHODS, SNAPSHOT_VERSION
from reconciler.vocabulary import ReadFace

__all__ = ["snapshot_schema"]

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_NBOOL = {"type": ["boolean", "null"]}
_IDENTITY = {
    "type": "object",
    "required": ["serial", "issuer"],
    "additionalProperties": False,
    "properties": {"serial": {"type": "string", "pattern": "^[0-9]+$"}, "issuer": _STR},
}
_REF = {
    "type": ["object", "null"],
    "required": ["identity", "subject"],
    "additionalProperties": False,
    "properties": {"identity": {"$ref": "#/$defs/identity"}, "subject": _STR, "sha1": _NSTR},
}
_NODE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "publisher", "services", "trust", "reachable"],
    "properties": {
        "name": _STR,
        "publisher": {"type": "boolean"},
        "services": {"type": "array", "items": _STR},
        "callmanager": {"$ref": "#/$defs/ref"},
        "tvs": {"$ref": "#/$defs/ref"},
        "itl_recovery": {"$ref": "#/$defs/ref"},
        "trust": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"$ref": "#/$defs/identity"}},
        },
        "trust_subjects": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["identity", "subject"],
                "properties": {"identity": {"$ref": "#/$defs/identity"}, "subject": _STR},
            },
        },
        "tvs_started_at": _NSTR,
        "trust_changed_at": _NSTR,
        "reachable": {"type": "boolean"},
        "ctl_valid": _NBOOL,
        "itl_valid": _NBOOL,
    },
}
_CLUSTER = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "version", "nodes", "mixed_mode"],
    "properties": {
        "name": _STR,
        "version": _STR,
        "nodes": {"type": "array", "items": _NODE},
        "itl_recovery": {"$ref": "#/$defs/ref"},
        "rollback_to_pre8": _NBOOL,
        "mixed_mode": {"type": "boolean"},
    },
}
_TRUST_LIST = {
    "type": ["array", "null"],
    "items": {
        "type": "object",
        "required": ["identity", "role"],
        "properties": {
            "identity": {"$ref": "#/$defs/identity"},
            "role": {"type": "integer"},
            "subject": _STR,
        },
    },
}
_PHONE = {
    "type": "object",
    "required": ["name", "scope", "cluster", "cm_group"],
    "properties": {
        "name": _STR,
        "scope": _STR,
        "cluster": _STR,
        "cm_group": _STR,
        "ctl": _TRUST_LIST,
        "itl": _TRUST_LIST,
        "tftp_node": _NSTR,
    },
}
_FILE = {
    "type": "object",
    "required": ["cluster", "node", "name", "data"],
    "properties": {
        "cluster": _STR,
        "node": _STR,
        "name": _STR,
        "data": {**_NSTR, "contentEncoding": "base64"},
        "error": _NSTR,
    },
}
_NO_KEY = {"type": "string", "not": {"pattern": "PRIVATE KEY"}}
_ADDRS = {"type": ["array", "null"], "items": _STR}
_PAIR_KEY = {"type": "array", "items": _STR, "minItems": 2, "maxItems": 2}
_ANSWERS: dict[str, Any] = {
    "clusters": {"type": "object", "additionalProperties": _CLUSTER},
    "identity_pems": {"type": "array", "items": {"type": "array", "prefixItems": [_PAIR_KEY, _NO_KEY]}},
    "parameters": {"type": "object", "additionalProperties": _NSTR},
    "callmanager_groups": {"type": "object", "additionalProperties": {"type": "array", "items": _STR}},
    "option150": {"type": "array", "items": {"type": "array", "prefixItems": [_PAIR_KEY, _ADDRS]}},
    "phones": {"type": "object", "additionalProperties": {"type": "array", "items": _PHONE}},
    "tftp_files": {
        "type": "object",
        "additionalProperties": {"type": "array", "items": _FILE, "minItems": 2, "maxItems": 2},
    },
    "registrations": {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "required": ["name", "cluster", "status"],
            "properties": {"name": _STR, "cluster": _STR, "node": _NSTR, "status": _STR},
        },
    },
}


_FAILURE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["cluster", "node", "face", "error", "message"],
    "properties": {
        "cluster": _STR,
        "node": _NSTR,
        "face": {"enum": [str(f) for f in ReadFace]},
        "error": _STR,
        "message": _STR,
    },
}


def snapshot_schema() -> dict[str, Any]:
    """The schema (draft 2020-12) of ``reconciler.live.snapshot.to_document``'s output."""
    calls = [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["method", "args", "answer"],
            "properties": {
                "method": {"const": method},
                "args": {"type": "array"},
                "answer": _ANSWERS[method],
            },
        }
        for method in METHODS
    ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "reconciler estate snapshot",
        "description": "Everything a plan read from the live estate, sanitised (docs/first-contact.md).",
        "type": "object",
        "additionalProperties": False,
        "required": ["snapshot_version", "source", "calls"],
        "properties": {
            "snapshot_version": {"const": SNAPSHOT_VERSION},
            "source": {"type": "object"},
            "calls": {"type": "array", "items": {"oneOf": calls}},
            "read_failures": {
                "type": "array",
                "description": "Reads that failed and were answered around: node, face, error.",
                "items": _FAILURE,
            },
            "unknown_reads": {
                "type": "array",
                "description": "Whole reads that failed (no answer in calls): unknown, not empty.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["method", "args", "failure"],
                    "properties": {
                        "method": {"enum": list(METHODS)},
                        "args": {"type": "array"},
                        "failure": _FAILURE,
                    },
                },
            },
        },
        "$defs": {"identity": _IDENTITY, "ref": _REF},
    }
