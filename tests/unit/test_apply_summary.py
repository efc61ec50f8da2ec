"""``summary_lines``: revert steps of waves whose gate passed (R13) read as "not needed", apart from steps
skipped because something failed, so a clean apply does not look as if it left work undone."""

from __future__ import annotations

from reconciler.apply.hooks import ApplyReport, ApplyStatus
from reconciler.model import Address, Outcome, OutcomeStatus
from reconciler.render.apply import summary_lines


def _outcome(address: str, status: OutcomeStatus, detail: str = "") -> Outcome:
    return Outcome(address=Address.parse(address), status=status, detail=detail)


def _report(*outcomes: Outcome, status: ApplyStatus = ApplyStatus.SUCCEEDED) -> ApplyReport:
    return ApplyReport(status=status, outcomes=outcomes, stranded=(), elapsed=1.0, apply_id="a1")


def test_revert_steps_of_passed_gates_are_not_needed_not_skipped() -> None:
    report = _report(
        _outcome("gate.wave-1", OutcomeStatus.UNCHANGED),
        _outcome("restore.router.scope-a", OutcomeStatus.SKIPPED, "not needed: gate.wave-1 passed"),
        _outcome("revert-reset.wave-1", OutcomeStatus.SKIPPED, "not needed: gate.wave-1 passed"),
    )
    head = summary_lines(report)[0]
    assert head == "Apply complete! 1 unchanged, 2 not needed (revert steps of passed gates) in 1.0s."
    assert "skipped" not in head


def test_steps_skipped_after_a_failure_still_count_as_skipped() -> None:
    report = _report(
        _outcome("gate.wave-1", OutcomeStatus.FAILED, "2 of 3 phones stayed"),
        _outcome("reset.wave-2", OutcomeStatus.SKIPPED, "not run: gate.wave-1 failed"),
        _outcome("restore.router.scope-c", OutcomeStatus.SKIPPED, "not needed: gate.wave-3 passed"),
        status=ApplyStatus.FAILED,
    )
    head = summary_lines(report)[0]
    assert "1 failed" in head and "1 skipped" in head and "1 not needed" in head
