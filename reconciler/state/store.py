"""The state file: what the tool owns, the essence it last applied, serial, lineage and the state lock.

``StateStore`` reads and writes ``.reconciler/state.json`` (directory mode 0700, file mode 0600) and takes
the exclusive lock ``.reconciler/state.lock`` (``reconciler.state.lockfile``; atomic writes and
``utc_now``: ``reconciler.state.files``). ``StateSnapshot`` is the immutable content: the trust
certificates reconciler added (so that ``mode: exact`` removes only those, never a certificate someone
else put there) and, per resource address, the JSON essence last applied (what ``drift`` compares live
facts against). Called by the planner (read, for the plan's serial/lineage), the executor (lock, read,
write after each verified step) and drift (read). See docs/state-and-drift.md.

Guarantees:

* Writes are atomic: temp file in the same directory, fsync, rename, fsync of the directory. The previous
  state is first copied to ``state.json.backup`` the same way, so a crash or a bad write never loses it.
* ``serial`` grows by one on every write; ``lineage`` (uuid4) is fixed when the state is first written.
  A write whose snapshot was not read from the current file (lineage or serial differ) is refused.
* Secrets never enter the state: only plain JSON types are accepted, and keys or values that look like
  credentials (``password``, ``-----BEGIN ... PRIVATE KEY-----`` ...) are refused (``ensure_plain_json``).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TypeAlias

from reconciler.boundedio import MAX_STATE_BYTES, read_bounded
from reconciler.errors import StateError
from reconciler.state.files import atomic_write, utc_now
from reconciler.state.lockfile import LockInfo, StateLock

__all__ = [
    "DEFAULT_STATE_DIR",
    "STATE_FORMAT_VERSION",
    "JSONValue",
    "LockInfo",
    "OwnedCertificate",
    "StateSnapshot",
    "StateStore",
    "ensure_plain_json",
    "utc_now",
]

STATE_FORMAT_VERSION = 1
DEFAULT_STATE_DIR = Path(".reconciler")
JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

_SECRET_KEY = re.compile(r"pass(word|phrase|wd)?$|secret|private[_-]?key|token|credential|api[_-]?key", re.I)
_SECRET_VALUE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def ensure_plain_json(value: object, *, where: str) -> JSONValue:
    """Return ``value`` as a deep copy of plain JSON, or raise ``StateError`` naming ``where``.

    Only ``None``, ``bool``, ``int``, finite ``float``, ``str``, ``list``/``tuple`` and mappings with
    ``str`` keys pass (so frozen ``reconciler.model`` values do too). Anything else (pydantic
    ``SecretStr``, bytes, custom objects) is refused, and so are keys named like credentials and PEM
    private keys: secrets are never written to state or journals.
    """
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and _SECRET_VALUE.search(value):
            raise StateError(f"{where}: refusing to store a private key", hint="never pass secrets to state")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StateError(f"{where}: {value!r} is not valid JSON")
        return value
    if isinstance(value, list | tuple):
        return [ensure_plain_json(item, where=f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):  # dict, or reconciler.model.FrozenMap
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StateError(f"{where}: key {key!r} is not a string")
            if _SECRET_KEY.search(key):
                raise StateError(
                    f"{where}.{key}: refusing to store a value under a credential-like key",
                    hint="state and journals never hold secrets; store a fingerprint or nothing",
                )
            out[key] = ensure_plain_json(item, where=f"{where}.{key}")
        return out
    raise StateError(
        f"{where}: {type(value).__name__} is not a plain JSON value",
        hint="pass str/int/float/bool/None/list/dict only (secret types are refused on purpose)",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnedCertificate:
    """A trust certificate reconciler added (R5/R6/R11); ``mode: exact`` may remove only these."""

    cluster: str
    store: str
    cert_id: str
    sha256: str
    added_at: str
    apply_id: str

    @property
    def address(self) -> str:
        return f"trust.{self.cluster}.{self.store}.{self.cert_id}"

    def as_dict(self) -> dict[str, JSONValue]:
        return dict(asdict(self))


@dataclass(frozen=True, slots=True, kw_only=True)
class StateSnapshot:
    """One version of the state. ``lineage`` is ``None`` until the state is first written."""

    lineage: str | None = None
    serial: int = 0
    updated_at: str | None = None
    owned: tuple[OwnedCertificate, ...] = ()
    essence: Mapping[str, JSONValue] = field(default_factory=dict)

    # --- queries ----------------------------------------------------------------------------------
    def owns(self, *, cluster: str, store: str, cert_id: str) -> bool:
        return any((c.cluster, c.store, c.cert_id) == (cluster, store, cert_id) for c in self.owned)

    def owned_in(self, *, cluster: str, store: str) -> tuple[OwnedCertificate, ...]:
        return tuple(c for c in self.owned if (c.cluster, c.store) == (cluster, store))

    def essence_of(self, address: object) -> JSONValue:
        """The essence last applied at ``address`` (any object whose ``str()`` is the address), or None."""
        return self.essence.get(str(address))

    # --- derived snapshots (the snapshot itself never changes) ------------------------------------
    def with_owned(self, cert: OwnedCertificate) -> StateSnapshot:
        kept = tuple(c for c in self.owned if c.address != cert.address)
        return replace(self, owned=(*kept, cert))

    def without_owned(self, *, cluster: str, store: str, cert_id: str) -> StateSnapshot:
        key = (cluster, store, cert_id)
        return replace(self, owned=tuple(c for c in self.owned if (c.cluster, c.store, c.cert_id) != key))

    def with_essence(self, address: object, value: object) -> StateSnapshot:
        checked = ensure_plain_json(value, where=f"essence[{address}]")
        return replace(self, essence={**self.essence, str(address): checked})

    def without_essence(self, address: object) -> StateSnapshot:
        return replace(self, essence={k: v for k, v in self.essence.items() if k != str(address)})

    # --- serialisation ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, JSONValue]:
        owned = sorted(self.owned, key=lambda c: (c.cluster, c.store, c.cert_id))
        return {
            "format_version": STATE_FORMAT_VERSION,
            "lineage": self.lineage,
            "serial": self.serial,
            "updated_at": self.updated_at,
            "owned_certificates": [c.as_dict() for c in owned],
            "essence": {k: self.essence[k] for k in sorted(self.essence)},
        }

    @classmethod
    def from_json(cls, data: object, *, source: Path) -> StateSnapshot:
        fix = f"restore {source.name}.backup next to it, or move {source} away to start a new state"
        if not isinstance(data, dict):
            raise StateError(f"{source}: not a reconciler state (top level is not an object)", hint=fix)
        version = data.get("format_version")
        if version != STATE_FORMAT_VERSION:
            newer = isinstance(version, int) and version > STATE_FORMAT_VERSION
            raise StateError(
                f"{source}: state format version {version!r}, this reconciler reads {STATE_FORMAT_VERSION}",
                hint="upgrade reconciler" if newer else fix,
            )
        try:
            lineage, serial = data["lineage"], data["serial"]
            if not isinstance(lineage, str) or not isinstance(serial, int) or serial < 1:
                raise TypeError("lineage must be a string and serial a positive integer")
            owned = tuple(OwnedCertificate(**_str_fields(c)) for c in data["owned_certificates"])
            essence = ensure_plain_json(data["essence"], where="essence")
            if not isinstance(essence, dict):
                raise TypeError("essence must be an object")
        except (KeyError, TypeError, StateError) as exc:
            raise StateError(f"{source}: malformed state ({exc})", hint=fix) from exc
        updated = data.get("updated_at")
        return cls(
            lineage=lineage,
            serial=serial,
            updated_at=updated if isinstance(updated, str) else None,
            owned=owned,
            essence=essence,
        )


def _str_fields(raw: object) -> dict[str, str]:
    names = ("cluster", "store", "cert_id", "sha256", "added_at", "apply_id")
    if not isinstance(raw, dict) or set(raw) != set(names) or not all(isinstance(raw[n], str) for n in names):
        raise TypeError(f"owned certificate {raw!r} must have exactly the string fields {', '.join(names)}")
    return {n: raw[n] for n in names}


class StateStore:
    """The state directory: ``state.json``, ``state.json.backup`` and ``state.lock``."""

    def __init__(self, directory: Path = DEFAULT_STATE_DIR, *, filename: str = "state.json") -> None:
        self.directory = Path(directory)
        self.path = self.directory / filename
        self.backup_path = self.directory / f"{filename}.backup"
        self.lock_path = self.directory / "state.lock"
        self._lock = StateLock(directory=self.directory, path=self.lock_path)

    # --- reading and writing ----------------------------------------------------------------------
    def read(self) -> StateSnapshot:
        """The current state; an empty snapshot (no lineage, serial 0) when none was written yet."""
        try:
            raw = read_bounded(self.path, limit=MAX_STATE_BYTES)
        except FileNotFoundError:
            return StateSnapshot()
        except OSError as exc:
            raise StateError(f"{self.path}: cannot read state ({exc.strerror})") from exc
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[... nested
            raise StateError(
                f"{self.path}: state file is not valid JSON ({exc})",
                hint=f"restore {self.backup_path} (the previous state) or move the file away",
            ) from exc
        return StateSnapshot.from_json(data, source=self.path)

    def write(self, snapshot: StateSnapshot, *, steps: int = 1) -> StateSnapshot:
        """Persist ``snapshot`` as the next serial and return what was written. Requires the lock.

        ``snapshot`` must derive from the current file (same lineage and serial), else ``StateError``.
        ``steps``: how many verified steps the write records (a batch's: one write, the serial moves by
        one per step, as ``apply --resume`` counts them).
        """
        if not self._lock.held:
            raise StateError("state written without holding the lock", hint="use `with store.lock(...)`")
        current = self.read()
        if (snapshot.lineage, snapshot.serial) != (current.lineage, current.serial):
            raise StateError(
                f"{self.path}: state changed since it was read (lineage {current.lineage}, serial "
                f"{current.serial} on disk; {snapshot.lineage}, {snapshot.serial} in memory)",
                hint="re-run plan against the current state",
            )
        new = replace(
            snapshot,
            lineage=snapshot.lineage or str(uuid.uuid4()),
            serial=snapshot.serial + max(1, steps),
            updated_at=utc_now(),
        )
        data = (json.dumps(new.to_json(), indent=2, sort_keys=True) + "\n").encode()
        try:
            if current.lineage is not None:
                atomic_write(self.backup_path, self.path.read_bytes())
            atomic_write(self.path, data)
        except OSError as exc:
            raise StateError(
                f"{self.path}: cannot write state ({exc.strerror}); the previous state is unchanged",
                hint="free disk space / fix permissions of the state directory, then re-run apply --resume",
            ) from exc
        return new

    # --- locking (``reconciler.state.lockfile``) ----------------------------------------------------
    @contextlib.contextmanager
    def lock(self, *, timeout: float, command: str, poll: float = 0.1) -> Iterator[LockInfo]:
        """Hold the exclusive state lock, waiting up to ``timeout`` seconds; yields our ``LockInfo``.

        Raises ``LockError`` naming the holder (and saying whether its process still exists).
        """
        with self._lock.hold(timeout=timeout, command=command, poll=poll) as info:
            yield info

    def lock_holder(self) -> LockInfo | None:
        """The holder recorded in the lock file, or None when the file is empty/absent."""
        return self._lock.holder()

    def force_unlock(self, lock_id: str) -> None:
        """Break a lock whose holder is gone (never while its process lives on this host); see
        ``reconciler.state.lockfile.StateLock.force_unlock``."""
        self._lock.force_unlock(lock_id)
