"""The state file: atomic writes, permissions, serial/lineage, ownership, secrets refused, the lock.

Lock and crash tests use real processes (subprocess + SIGKILL, fork to leave a lock behind), never fakes.
"""

from __future__ import annotations

import json
import os
import select
import signal
import stat
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from reconciler.errors import LockError, StateError
from reconciler.model import Address, freeze
from reconciler.state.store import (
    STATE_FORMAT_VERSION,
    OwnedCertificate,
    StateSnapshot,
    StateStore,
    ensure_plain_json,
)

REPO = Path(__file__).resolve().parents[2]


def _cert(cert_id: str = "abc123", store: str = "CallManager-trust") -> OwnedCertificate:
    return OwnedCertificate(
        cluster="old",
        store=store,
        cert_id=cert_id,
        sha256="ab" * 32,
        added_at="2026-11-27T07:00:00Z",
        apply_id="20261127T070000Z-deadbeef",
    )


def _write(store: StateStore, change: object = None) -> StateSnapshot:
    with store.lock(timeout=5, command="test"):
        snap = store.read()
        snap = snap.with_essence("param.old.rollback", {"value": False, "n": change})
        return store.write(snap)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / ".reconciler")


# --- content, serial, lineage ---------------------------------------------------------------------


def test_round_trip_with_ownership_and_essence(store: StateStore) -> None:
    assert store.read() == StateSnapshot()
    with store.lock(timeout=5, command="apply"):
        snap = (
            store.read()
            .with_owned(_cert())
            .with_essence(
                Address.parse("tvs.old.cucm-old-sub1"), freeze({"restarted_at": "2026-11-27T07:01:00Z"})
            )
        )
        written = store.write(snap)
    again = store.read()
    assert again == written
    assert again.serial == 1
    assert uuid.UUID(again.lineage or "").version == 4
    assert again.owns(cluster="old", store="CallManager-trust", cert_id="abc123")
    assert again.essence_of("tvs.old.cucm-old-sub1") == {"restarted_at": "2026-11-27T07:01:00Z"}
    data = json.loads(store.path.read_text())
    assert data["format_version"] == STATE_FORMAT_VERSION
    assert data["owned_certificates"][0]["sha256"] == "ab" * 32


def test_serial_increments_and_lineage_is_fixed(store: StateStore) -> None:
    first = _write(store, 1)
    second = _write(store, 2)
    third = _write(store, 3)
    assert [first.serial, second.serial, third.serial] == [1, 2, 3]
    assert first.lineage == second.lineage == third.lineage


def test_backup_holds_the_previous_state(store: StateStore) -> None:
    _write(store, 1)
    _write(store, 2)
    backup = json.loads(store.backup_path.read_text())
    assert backup["serial"] == 1
    assert backup["essence"]["param.old.rollback"]["n"] == 1


def test_mode_exact_sees_only_owned_certificates(store: StateStore) -> None:
    snap = StateSnapshot().with_owned(_cert("a")).with_owned(_cert("b", store="Phone-SAST-trust"))
    assert [c.cert_id for c in snap.owned_in(cluster="old", store="CallManager-trust")] == ["a"]
    assert not snap.owns(cluster="old", store="CallManager-trust", cert_id="someone-elses")
    removed = snap.without_owned(cluster="old", store="CallManager-trust", cert_id="a")
    assert not removed.owns(cluster="old", store="CallManager-trust", cert_id="a")
    assert removed.owns(cluster="old", store="Phone-SAST-trust", cert_id="b")
    assert snap.with_owned(_cert("a")).owned_in(cluster="old", store="CallManager-trust") == (_cert("a"),)


def test_write_requires_the_lock(store: StateStore) -> None:
    with pytest.raises(StateError, match="without holding the lock"):
        store.write(StateSnapshot())


def test_write_refuses_a_snapshot_read_before_another_write(store: StateStore) -> None:
    _write(store, 1)
    old = store.read()
    _write(store, 2)
    with store.lock(timeout=5, command="test"), pytest.raises(StateError, match="changed since it was read"):
        store.write(old.with_essence("x.y", 1))
    assert store.read().serial == 2


# --- files on disk ----------------------------------------------------------------------------------


def test_permissions_are_0600_and_0700_whatever_the_umask(store: StateStore) -> None:
    previous = os.umask(0)
    try:
        _write(store, 1)
        _write(store, 2)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.backup_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.lock_path).st_mode) == 0o600


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "not a reconciler state"),
        (json.dumps({"format_version": 99}).encode(), "format version 99"),
        (json.dumps({"format_version": 1, "lineage": "x"}).encode(), "malformed state"),
    ],
)
def test_corrupt_or_wrong_version_names_file_and_fix(store: StateStore, content: bytes, match: str) -> None:
    store.directory.mkdir(parents=True)
    store.path.write_bytes(content)
    with pytest.raises(StateError, match=match) as info:
        store.read()
    assert str(store.path) in str(info.value)
    assert info.value.hint
    assert store.path.read_bytes() == content  # never lost or rewritten


def test_newer_format_says_upgrade(store: StateStore) -> None:
    store.directory.mkdir(parents=True)
    store.path.write_text(json.dumps({"format_version": STATE_FORMAT_VERSION + 1}))
    with pytest.raises(StateError) as info:
        store.read()
    assert "upgrade" in (info.value.hint or "")


def test_failed_write_leaves_previous_state_readable(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(store, 1)
    before = store.path.read_bytes()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StateError, match="previous state is unchanged"):
        _write(store, 2)
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert store.read().serial == 1
    assert [p.name for p in store.directory.iterdir() if p.name.endswith(".tmp")] == []


_WRITER = textwrap.dedent(
    """
    import sys
    from reconciler.state.store import StateStore
    store = StateStore(sys.argv[1])
    with store.lock(timeout=10, command="writer"):
        for i in range(100000):
            snap = store.read()
            store.write(snap.with_essence("param.old.n", {"i": i, "pad": "x" * 4000}))
            if i == 20:
                print("ready", flush=True)
    """
)


def test_sigkill_during_writes_never_leaves_a_torn_state(store: StateStore) -> None:
    """A writer killed at an arbitrary moment leaves a readable state and backup (atomic rename)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(store.directory)], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert _readline(proc, timeout=60) == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    snap = store.read()
    assert snap.serial >= 21
    assert snap.essence_of("param.old.n") == {"i": snap.serial - 1, "pad": "x" * 4000}
    assert json.loads(store.backup_path.read_text())["serial"] in (snap.serial - 1, snap.serial)


# --- secrets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        SecretStr("hunter2"),
        {"password": "hunter2"},
        {"axl": {"Passphrase": "x"}},
        {"api_key": "x"},
        ["-----BEGIN RSA PRIVATE KEY-----\nMIIE..."],
        b"bytes",
        float("nan"),
        {1: "int key"},
    ],
)
def test_secrets_and_non_json_values_cannot_be_stored(value: object) -> None:
    with pytest.raises(StateError):
        StateSnapshot().with_essence("param.old.x", value)
    with pytest.raises(StateError):
        ensure_plain_json(value, where="t")


def test_plain_json_including_frozen_model_values_is_accepted() -> None:
    value = freeze({"sha256": ["aa", "bb"], "ok": True, "n": 1.5, "none": None})
    snap = StateSnapshot().with_essence("trust.old.CallManager-trust.x", value)
    assert snap.essence_of("trust.old.CallManager-trust.x") == {
        "sha256": ["aa", "bb"],
        "ok": True,
        "n": 1.5,
        "none": None,
    }


# --- the lock -------------------------------------------------------------------------------------------

_HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from reconciler.state.store import StateStore
    store = StateStore(sys.argv[1])
    with store.lock(timeout=10, command="reconciler apply site.yaml") as info:
        if sys.argv[2] == "orphan":
            child = os.fork()
            if child == 0:  # inherits the locked file description, outlives its parent
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                time.sleep(120)
                os._exit(0)
            print(info.lock_id, child, flush=True)
            os._exit(0)
        print(info.lock_id, os.getpid(), flush=True)
        sys.stdin.readline()
    """
)


def _readline(proc: subprocess.Popen[str], *, timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "child did not answer in time"
    return proc.stdout.readline().strip()


@pytest.fixture
def holder(store: StateStore) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store.directory), "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        lock_id, _pid = _readline(proc, timeout=60).split()
        yield proc, lock_id
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def test_contended_lock_names_the_holder(
    store: StateStore, holder: tuple[subprocess.Popen[str], str]
) -> None:
    proc, _ = holder
    with pytest.raises(LockError) as info, store.lock(timeout=0.3, command="plan"):
        pass
    message = str(info.value)
    assert f"pid {proc.pid}" in message
    assert "reconciler apply site.yaml" in message
    assert "--lock-timeout" in (info.value.hint or "")


def test_force_unlock_refuses_a_live_holder(
    store: StateStore, holder: tuple[subprocess.Popen[str], str]
) -> None:
    _, lock_id = holder
    with pytest.raises(LockError, match="running process"):
        store.force_unlock(lock_id)


def test_lock_is_acquired_once_the_holder_releases(
    store: StateStore, holder: tuple[subprocess.Popen[str], str]
) -> None:
    proc, _ = holder
    assert proc.stdin is not None
    proc.stdin.write("release\n")
    proc.stdin.flush()
    with store.lock(timeout=30, command="apply") as info:  # waits until the holder has let go
        assert store.lock_holder() == info
    assert store.lock_holder() is None


def test_lock_of_a_killed_process_is_free(store: StateStore) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(store.directory), "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    _readline(proc, timeout=60)
    proc.kill()
    proc.wait(timeout=30)
    with store.lock(timeout=5, command="apply --resume"):
        pass


def test_stale_lock_of_a_dead_pid_says_so_and_force_unlock_breaks_it(store: StateStore) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _HOLDER, str(store.directory), "orphan"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    lock_id, orphan = proc.stdout.split()
    try:
        with (
            pytest.raises(LockError, match="no longer exists on this host") as info,
            store.lock(timeout=0.2, command="apply"),
        ):
            pass
        assert f"force-unlock {lock_id}" in (info.value.hint or "")
        with pytest.raises(LockError, match="does not match"):
            store.force_unlock("not-the-id")
        store.force_unlock(lock_id)
        with store.lock(timeout=5, command="apply") as info2:
            assert info2.lock_id != lock_id
    finally:
        os.kill(int(orphan), signal.SIGKILL)


def test_public_names_are_pinned() -> None:
    from reconciler.state import store as state

    assert sorted(state.__all__) == [
        "DEFAULT_STATE_DIR",
        "JSONValue",
        "LockInfo",
        "OwnedCertificate",
        "STATE_FORMAT_VERSION",
        "StateSnapshot",
        "StateStore",
        "ensure_plain_json",
        "utc_now",
    ]
