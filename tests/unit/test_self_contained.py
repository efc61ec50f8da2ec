"""The repository is self-contained: product files cite only documents inside it, and no "issue N" notes.

The project started from design notes that are not part of the repository (a design, a procedure, interface
and test-infrastructure fact sheets, a style guide). Their facts now live in ``docs/`` (the rules R1–R14, the
trust model and the uncertain interface facts in docs/cucm-domain.md). A reader of the code has only the
repository, so every tracked file under the product directories must cite ``docs/…`` instead, and a note
like "(issue 7)" must say what the code does rather than where the request came from. Citations of the form
``docs/<page>.md#<anchor>`` (and links between docs pages) must name a page that exists and a heading on it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = (
    "reconciler",
    "providers",
    "simulator",
    "schemas",
    "docs",
    "examples",
    "bench",
    "scripts",
    "README.md",
)
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".wsdl", ".xsd", ".txt", ".sh", ".cfg", ""}

# Documents that exist only outside the repository.
_SHARED_ONLY = re.compile(
    r"design\.md|procedure\.md|axl-shapes\.md|test-infrastructure\.md|style\.md|\.\./shared"
)
# cucm-interfaces.md is in the repository only as docs/cucm-interfaces.md (or a relative link inside docs/).
_INTERFACES = re.compile(r"cucm-interfaces\.md")
_ISSUE_NOTE = re.compile(r"\bissues?\s*#?\d+", re.IGNORECASE)
_DOC_ANCHOR = re.compile(r"docs/([\w-]+\.md)#([\w-]+)")
_RELATIVE_ANCHOR = re.compile(r"\]\(([\w-]+\.md)#([\w-]+)\)")  # a link from one docs/ page to another


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--", *PRODUCT_DIRS],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        names = [n for n in out.decode().split("\0") if n]
        paths = [ROOT / n for n in names]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file under the dirs
        tops = [ROOT / d for d in PRODUCT_DIRS]
        paths = [p for t in tops for p in ([t] if t.is_file() else t.rglob("*"))]
    return [p for p in paths if p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts and p.is_file()]


def violations(relpath: str, text: str) -> list[str]:
    """Every shared-document citation and "issue N" note in one file's text, as ``path:line: what``."""
    found: list[str] = []
    in_docs = relpath.startswith("docs/")
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _SHARED_ONLY.finditer(line):
            found.append(f"{relpath}:{number}: cites {match.group(0)!r}, which is not in the repository")
        for match in _INTERFACES.finditer(line):
            before = line[: match.start()]
            if before.endswith("docs/") or (in_docs and before.endswith("](")):
                continue
            found.append(f"{relpath}:{number}: cucm-interfaces.md, not as docs/cucm-interfaces.md")
        for match in _ISSUE_NOTE.finditer(line):
            found.append(f"{relpath}:{number}: {match.group(0)!r} note; say what the code does and why")
    return found


def _slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's rules) gives a heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", page.read_text(), re.MULTILINE)}


def test_the_checker_flags_what_it_must_and_only_that() -> None:
    bad = {
        "reconciler/x.py": "rules R1-R14 (procedure.md)",
        "providers/y.py": "see design.md §4",
        "simulator/z.py": "shapes: docs/axl-shapes.md",
        "schemas/a.py": "test-infrastructure.md §1b",
        "docs/b.md": "the shared ../shared/docs",
        "bench/c.py": "(style.md §8.4)",
        "examples/d.yaml": "# cucm-interfaces.md §6.1",
        "reconciler/e.py": "wired by the CLI (issue 7)",
        "simulator/f.py": "the AXL face (Issue 5 item 1)",
        "docs/g.md": "see cucm-interfaces.md §2",
    }
    for path, text in bad.items():
        assert violations(path, text), (path, text)
    good = {
        "reconciler/x.py": "rules R1-R14 (docs/cucm-domain.md#procedure-rules)",
        "providers/y.py": "wire details: docs/cucm-interfaces.md",
        "docs/h.md": "[docs/cucm-interfaces.md](cucm-interfaces.md)",
        "reconciler/i.py": "tissue 5, reissue the request; R8 issues a restart",
    }
    for path, text in good.items():
        assert violations(path, text) == [], (path, text)


def test_product_files_cite_only_documents_in_the_repository() -> None:
    files = _tracked_files()
    assert any(p.name == "cucm-domain.md" for p in files)  # the scan really covers docs/
    texts = {p.relative_to(ROOT).as_posix(): p.read_text(errors="replace") for p in files}
    found = [v for rel, text in texts.items() for v in violations(rel, text)]
    assert found == [], "\n".join(found)


def test_doc_citations_name_an_existing_page_and_heading() -> None:
    broken: list[str] = []
    cache: dict[str, set[str]] = {}
    for path in _tracked_files():
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            matches = list(_DOC_ANCHOR.finditer(line))
            if rel.startswith("docs/"):
                matches += _RELATIVE_ANCHOR.finditer(line)
            for match in matches:
                page, anchor = match.groups()
                target = ROOT / "docs" / page
                if not target.is_file():
                    broken.append(f"{rel}:{number}: docs/{page} does not exist")
                    continue
                if anchor not in cache.setdefault(page, _anchors(target)):
                    broken.append(f"{rel}:{number}: docs/{page} has no heading for #{anchor}")
    assert broken == [], "\n".join(broken)


def test_the_domain_page_states_every_rule_with_a_source() -> None:
    text = (ROOT / "docs" / "cucm-domain.md").read_text()
    rules = text[text.index("## Procedure rules") : text.index("## Sources")]
    for number in range(1, 15):
        row = re.search(rf"^\| R{number} \|(.+)\|(.+)\|$", rules, re.MULTILINE)
        assert row is not None, f"R{number} missing from docs/cucm-domain.md#procedure-rules"
        assert row.group(2).strip(), f"R{number} has no source"
    assert "First use" in text[text.index("### Uncertain points") :]
