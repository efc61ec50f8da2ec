"""JUnit XML for ``reconciler drift --junit FILE``: one test case per check, a failure per finding.

CI systems show JUnit reports natively, so a scheduled drift job (docs/drift.md) shows each drifted
resource as a failed test named by its address and rule. Built with ``xml.etree`` (escaping is its job).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from reconciler.diagnostics import Diagnostic, Severity

__all__ = ["junit_xml"]


def junit_xml(
    findings: Sequence[Diagnostic], *, checks: Sequence[str], suite: str = "reconciler drift"
) -> str:
    """``checks`` are the names of the checks that ran (passing ones appear as passed cases)."""
    failing = [d for d in findings if d.severity is not Severity.INFO]
    root = ET.Element("testsuites")
    ts = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(checks) + len(failing)), failures=str(len(failing))
    )
    for check in checks:
        ET.SubElement(ts, "testcase", classname=suite, name=check)
    for d in failing:
        case = ET.SubElement(
            ts, "testcase", classname=f"{suite}.{d.rule or 'drift'}", name=d.address or d.summary
        )
        failure = ET.SubElement(case, "failure", message=d.summary, type=d.rule or "drift")
        failure.text = "\n".join(x for x in (d.detail, f"fix: {d.fix}" if d.fix else None) if x)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
