"""The model side of the wire boot (``simulator.model.labwire``): with a booter attached a reset only marks
the phones rebooting and hands them over; a commit installs what the phone accepted; a boot superseded by
a newer reset is dropped. The network side is tested in tests/integration/test_lab_wireboot.py."""

from __future__ import annotations

from simulator.model import Lab, RegStatus, build_lab
from simulator.model.boot import BootOutcome
from simulator.model.clock import ManualClock
from simulator.spec import default_lab


def _lab() -> tuple[Lab, list[tuple[str, ...]]]:
    lab = build_lab(default_lab(phones_per_scope=1), clock=ManualClock())
    handed: list[tuple[str, ...]] = []
    lab.attach_booter(handed.append)
    return lab, handed


def test_a_reset_marks_the_phones_rebooting_and_hands_them_to_the_booter() -> None:
    lab, handed = _lab()
    stats = lab.reset_phones(scope="scope-a")
    names = tuple(p.name for p in lab.phones(scope="scope-a"))
    assert handed == [names] and stats.phones == len(names) and stats.registered == 0
    assert {(p.status, p.reason) for p in lab.phones(scope="scope-a")} == {
        (RegStatus.UNREGISTERED, "rebooting (reset)")
    }
    assert lab.boots_pending() == len(names)
    assert [o.op for o in lab.operation_log.entries()][-1] == "reset_phones"


def test_a_commit_registers_the_phone_and_a_superseded_boot_changes_nothing() -> None:
    lab, _ = _lab()
    name = lab.phones(scope="scope-b")[0].name
    lab.reset_phones([name])
    first = lab.boot_context(name)
    lab.reset_phones([name])
    second = lab.boot_context(name)
    outcome = BootOutcome(ctl=second.ctl, itl=second.itl, config_cluster=None, reason="")
    assert not lab.boot_commit(first, tftp="127.0.10.1", outcome=outcome)
    assert lab.phone(name).status is RegStatus.UNREGISTERED
    ops = len(lab.operation_log)
    assert lab.boot_commit(second, tftp="127.0.10.1", outcome=outcome)
    phone = lab.phone(name)
    assert (phone.status, phone.cluster, phone.tftp) == (RegStatus.REGISTERED, "old", "127.0.10.1")
    assert lab.boots_pending() == 0
    assert len(lab.operation_log) == ops  # a boot is the phone's doing, not an operation


def test_an_unregistered_commit_carries_its_reason() -> None:
    lab, _ = _lab()
    name = lab.phones(scope="scope-c")[0].name
    lab.reset_phones([name])
    context = lab.boot_context(name)
    assert lab.boot_commit(context, unregistered="DHCP source ios did not answer")
    phone = lab.phone(name)
    assert (phone.status, phone.node, phone.reason) == (
        RegStatus.UNREGISTERED,
        None,
        "DHCP source ios did not answer",
    )
