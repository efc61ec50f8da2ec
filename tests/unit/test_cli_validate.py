"""``reconciler validate``, ``schema`` and ``explain`` through the real CLI app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml
from typer.testing import CliRunner

from reconciler.cli import app
from tests.unit.desired_fixtures import VALID, line_col, write

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _bad_file() -> str:
    """A misspelt key, a duplicate key, a bad IP, an unknown reference and R2 (issue 2, "Done when")."""
    return (
        VALID.replace("        services: [callmanager, tvs]", "        servces: [callmanager, tvs]")
        .replace("    role: target\n", "    role: target\n    role: target\n")
        .replace("host: 127.0.20.2", "host: 127.0.20.300")
        .replace("server: cucm-dhcp", "server: cucm-dhpc")
        .replace("prepare_cluster_for_rollback: false", "prepare_cluster_for_rollback: true")
    )


def test_examples_are_valid() -> None:
    code, output = _run("--no-color", "validate", *map(str, EXAMPLES))
    assert code == 0, output
    for example in EXAMPLES:
        assert f"{example}: valid" in output


def test_bad_file_names_every_problem_with_file_line_col(tmp_path: Path) -> None:
    text = _bad_file()
    path = write(tmp_path, text)
    code, output = _run("--no-color", "validate", str(path))
    assert code == 1

    def at(needle: str, occurrence: int = 1, shift: int = 0) -> str:
        line, col = line_col(text, needle, occurrence=occurrence)
        return f"{path}:{line}:{col + shift}: error"

    expected = {
        "misspelt key": (at("servces"), "unknown key 'servces' (did you mean 'services'?)"),
        "duplicate key": (at("role: target", 2), "duplicate key 'role'"),
        "bad ip": (at("127.0.20.300"), "'127.0.20.300' is not a valid IPv4 address"),
        "unknown reference": (at("cucm-dhpc"), "unknown DHCP server 'cucm-dhpc' (did you mean 'cucm-dhcp'?)"),
        "R2": (at("prepare_cluster_for_rollback: true", shift=len("prepare_cluster_for_rollback: ")), "(R2)"),
    }
    lines = output.splitlines()
    for name, (prefix, message) in expected.items():
        assert any(line.startswith(prefix) and message in line for line in lines), (name, prefix, output)
    assert f"{path}: 5 error(s)" in output


def test_json_output_shape(tmp_path: Path) -> None:
    good = write(tmp_path, VALID, "good.yaml")
    bad = write(tmp_path, _bad_file(), "bad.yaml")
    code, output = _run("--json", "validate", str(good), str(bad))
    assert code == 1
    data = json.loads(output)
    assert data["valid"] is False
    assert [(f["file"], f["valid"], f["errors"]) for f in data["files"]] == [
        (str(good), True, 0),
        (str(bad), False, 5),
    ]
    r2 = next(d for d in data["files"][1]["diagnostics"] if d["rule"] == "R2")
    assert r2["severity"] == "error"
    assert r2["position"]["file"] == str(bad) and r2["position"]["line"] > 0
    assert r2["address"] == "parameters.old.prepare_cluster_for_rollback"


def test_no_color_output_has_no_escape_codes(tmp_path: Path) -> None:
    _, output = _run("--no-color", "validate", str(write(tmp_path, _bad_file())))
    assert "\x1b[" not in output


def test_schema_validates_every_example_and_rejects_a_typo() -> None:
    code, output = _run("schema")
    assert code == 0
    schema = json.loads(output)
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    for example in EXAMPLES:
        errors = list(validator.iter_errors(yaml.safe_load(example.read_text())))
        assert errors == [], (example.name, [e.message for e in errors])
    broken = yaml.safe_load(VALID.replace("services: [callmanager, tvs]", "servces: [callmanager, tvs]"))
    assert list(validator.iter_errors(broken))


def test_committed_schema_file_is_current() -> None:
    """docs/desired-state.schema.json (the examples' yaml-language-server line) = `reconciler schema`."""
    _, output = _run("schema")
    assert json.loads((ROOT / "docs" / "desired-state.schema.json").read_text()) == json.loads(output)


def test_explain_lab_example() -> None:
    code, output = _run("--no-color", "explain", str(ROOT / "examples" / "lab.yaml"))
    assert code == 0, output
    assert "declared  R4/R5  callmanager of new/cucm-new-sub1 -> old Phone-SAST-trust" in output
    assert "declared  R6     itlrecovery of new -> old Phone-SAST-trust" in output
    assert "rollback possible: no (R11)" in output
    assert "wave-3: reset phones; gate 90% Registered on new within 1800s" in output


def test_explain_names_a_wave_that_waits_for_reboots() -> None:
    code, output = _run("--no-color", "explain", str(ROOT / "examples" / "manual-method.yaml"))
    assert code == 0, output
    assert "wait for natural reboots" in output


def test_explain_reports_missing_trust(tmp_path: Path) -> None:
    """VALID declares only Phone-SAST-trust: CallManager-trust (R5) and ITLRecovery (R6) are missing."""
    code, output = _run("--no-color", "explain", str(write(tmp_path, VALID)))
    assert code == 0
    assert "MISSING   R4/R5  callmanager of new/new-sub -> old CallManager-trust" in output
    assert "MISSING   R6     itlrecovery of new -> old Phone-SAST-trust" in output


def test_explain_invalid_file_exits_1(tmp_path: Path) -> None:
    code, output = _run("--no-color", "explain", str(write(tmp_path, _bad_file())))
    assert code == 1
    assert "(R2)" in output


def test_cli_import_stays_light() -> None:
    """`reconciler --help` must not pay for zeep, paramiko, cryptography or even the schema models."""
    probe = (
        "import sys, reconciler.cli; "
        "print(','.join(m for m in ('zeep', 'paramiko', 'cryptography', 'netmiko', "
        "'reconciler.config.loader', 'schemas.document') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""


def test_explain_json_for_bulk_covers_both_directions() -> None:
    """Bulk (R9) imports both ways, so every requirement incl. reverse trust (R11) is covered."""
    code, output = _run("--json", "explain", str(ROOT / "examples" / "bulk-method.yaml"))
    assert code == 0
    data = json.loads(output)
    assert data["method"] == "bulk" and data["rollback_possible"] is True
    rules = {r["rule"] for r in data["requirements"]}
    assert {"R4/R5", "R11"} <= rules
    assert all(r["declared"] for r in data["requirements"])
    assert [len(w["scopes"]) for w in data["waves"]] == [1, 2, 1]


def test_explain_requires_what_the_planner_requires_beyond_r6s_wording(tmp_path: Path) -> None:
    """explain and reconciler.cucm.movetrust.required_trust agree: a 12.5 source moving to 14.0 still needs
    the target's ITLRecovery, because it signs the target's CTL and ITL (R6's wording names only
    pre-12 sources)."""
    text = VALID.replace('version: "11.5.1.21900-40"', 'version: "12.5.1.14900-63"')
    code, output = _run("--no-color", "explain", str(write(tmp_path, text)))
    assert code == 0, output
    assert "R6     itlrecovery of new -> old Phone-SAST-trust" in output
