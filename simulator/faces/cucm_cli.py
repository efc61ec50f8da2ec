"""The CUCM platform admin CLI (``admin:``) as a ``Shell`` over a node's ``CliBackend``.

Commands and output shapes follow docs/cucm-domain.md#admin-cli: ``show version active``, ``show cert list
own|trust``, ``show cert own|trust NAME``, ``set cert import trust <unit>`` (paste the PEM at the prompt),
``set cert delete <store> <file>`` (with its confirmation), ``utils service list``, ``utils service
restart|start|stop <Service Name>`` (progress lines; waits until the service settles), ``show itl``/``show
ctl``, ``run sql <select>``, ``set cli pagination off``, ``set cert bulk sftp|export|consolidate|import``
(CUCM as a real SFTP client). What the evidence leaves open follows the ``WireDialect``
(``simulator.faces.dialect``): unknown commands get ``No valid command entered`` by default; ``show cert
trust`` prints the decoded certificate with ``CN=X, OU=Y`` names and no PEM block (``show cert own``
keeps the PEM); output pages under the ANSI-wrapped pager prompt until ``set cli pagination off``, and
the next row, or ``admin:``, follows the prompt's erase-line without a newline.
``cucm_cli_server`` builds the node's ready-to-start ``SshFaceServer``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence

import paramiko
from cryptography import x509

from reconciler.errors import RemoteFaultError
from simulator.faces.backends import CliBackend, ControlAction, ServiceStatus
from simulator.faces.dialect import PAGER_PROMPT, WireDialect
from simulator.faces.faults import FaceFaults
from simulator.faces.sftp import SftpTarget, fetch_all, upload
from simulator.faces.ssh import Shell, SshFaceServer, Terminal

__all__ = ["CucmCli", "cucm_cli_server"]

BANNER = (
    "\nCommand Line Interface is starting up, please wait ...\n\n"
    "   Welcome to the Platform Command Line Interface\n\n"
)
FAILED = "Executed command unsuccessfully"
TrustFileDescriber = Callable[[str, bytes], Sequence[str]]


def _date(value: dt.datetime) -> str:
    return value.strftime("%a %b %d %H:%M:%S %Z %Y")


def _dn(name: x509.Name, style: str) -> str:
    """``CN=X, OU=Y, O=Z`` (CN first, ", " between RDNs) or RFC 4514 (``O=Z,OU=Y,CN=X``)."""
    if style == "rfc4514":
        return name.rfc4514_string()
    rdns = [rdn.rfc4514_string() for rdn in name.rdns]
    cn_last = len(rdns) > 1 and rdns[-1].upper().startswith("CN=") and not rdns[0].upper().startswith("CN=")
    return ", ".join(reversed(rdns) if cn_last else rdns)


def describe_certificate(pem: str, *, dialect: WireDialect | None = None, with_pem: bool = True) -> str:
    """The ``show cert own|trust NAME`` body: a bracketed summary, then the PEM when ``with_pem``."""
    return _describe(pem, dialect or WireDialect(), with_pem)


@functools.lru_cache(maxsize=4096)
def _describe(pem: str, dialect: WireDialect, with_pem: bool) -> str:
    """A certificate's description is a function of its PEM: the 21 nodes of a cluster that hold one
    replicated certificate describe it once (a plan asks for ~1,000 of them)."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    algorithm = cert.signature_hash_algorithm.name.upper() if cert.signature_hash_algorithm else "UNKNOWN"
    key_kind = type(cert.public_key()).__name__.removesuffix("PublicKey").removeprefix("_")
    serial = f"{cert.serial_number:X}" if dialect.serial_style == "hex" else str(cert.serial_number)
    text = (
        "[\n"
        "  Version: V3\n"
        f"  Serial Number: {serial}\n"
        f"  SignatureAlgorithm: {algorithm}with{key_kind}\n"
        f"  Issuer Name: {_dn(cert.issuer, dialect.dn_style)}\n"
        f"  Validity From: {_date(cert.not_valid_before_utc)}\n"
        f"           To:   {_date(cert.not_valid_after_utc)}\n"
        f"  Subject Name: {_dn(cert.subject, dialect.dn_style)}\n"
        "]\n"
    )
    return text + pem.strip() + "\n" if with_pem else text


class _Pager:
    """A terminal that pauses every ``lines`` rows under the pager prompt (the rest of the terminal is
    the session's): space = next page, enter = one more row, q = drop the rest of this output."""

    def __init__(self, term: Terminal, *, lines: int) -> None:
        self.term = term
        self.lines = max(1, lines)
        self.count = 0
        self.quit = False

    def write(self, text: str) -> None:
        for piece in text.splitlines(keepends=True):
            if self.quit:
                return
            self.term.write(piece)
            if not piece.endswith("\n"):
                continue
            self.count += 1
            if self.count >= self.lines:
                self.term.write(PAGER_PROMPT)  # no newline: what follows is written right after it
                key = self.term.read_key()
                if key in (None, "q", "Q"):
                    self.quit = True
                self.count = self.lines - 1 if key in ("\r", "\n") else 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.term, name)


class CucmCli:
    def __init__(
        self,
        backend: CliBackend,
        *,
        user: str = "admin",
        describe_trust_file: TrustFileDescriber | None = None,
        settle_timeout_s: float = 30.0,
        stop: threading.Event | None = None,
        dialect: WireDialect | None = None,
    ) -> None:
        self.backend = backend
        self.dialect = dialect or WireDialect()
        self.user = user
        self.describe_trust_file = describe_trust_file
        self.settle_timeout_s = settle_timeout_s
        self.stop = stop or threading.Event()
        self.pagination = self.dialect.pagination != "never"
        self.sftp: SftpTarget | None = None

    def banner(self) -> str:
        return BANNER

    def prompt(self) -> str:
        return f"{self.user}:"

    def run(self, line: str, term: Terminal) -> bool:
        words = line.split()
        low = [w.lower() for w in words]
        if low[0] in ("quit", "exit"):
            return False
        out: Terminal = _Pager(term, lines=self.dialect.page_lines) if self.pagination else term  # type: ignore[assignment]
        try:
            if any(line.lower().startswith(p) for p in self.dialect.unsupported_commands):
                out.write(self.unknown())
            else:
                self._dispatch(line, words, low, out)
        except RemoteFaultError as exc:
            out.write(f"{FAILED}\n{exc.message}\n")
        return True

    def unknown(self) -> str:
        return f"{self.dialect.unknown_command}\n"

    def _dispatch(self, line: str, words: list[str], low: list[str], term: Terminal) -> None:
        if low == ["show", "version", "active"]:
            term.write(
                f"Active Master Version: {self.backend.active_version()}\n"
                "Active Version Installed Software Options:\nNo Installed Software Options Found.\n"
            )
        elif low[:3] == ["show", "cert", "list"] and len(low) in (4, 5) and low[-1] in ("own", "trust"):
            # one write, as a node's sshd sends a command's output in as few packets as fit: a line per
            # write was an SSH packet per certificate (1,000 for a listing) on both ends of the wire
            term.write(
                "".join(
                    f"{entry.unit}/{entry.filename}: {entry.description}\n"
                    for entry in self.backend.certificates(low[-1])
                )
            )
        elif low[:2] == ["show", "cert"] and len(low) == 4 and low[2] in ("own", "trust"):
            self._show_cert(low[2], words[3], term)
        elif low[:4] == ["set", "cert", "import", "trust"] and len(low) == 5:
            term.write("Paste the Certificate and Hit Enter\n")
            pem = term.read_paste()
            self.backend.import_trust(unit=words[4], pem=pem)
            term.write(
                f"Successfully imported certificate for {words[4]}.\n"
                f"Please restart services related to {words[4]} for the new certificate to become active.\n"
            )
        elif low[:3] == ["set", "cert", "delete"] and len(low) == 5:
            store, filename = words[3], words[4]
            term.write(
                f"Deleting {store}/{filename} removes it from this node and, for trust stores, the cluster.\n"
            )
            if term.confirm("Proceed with deleting the certificate (yes|no)? "):
                self.backend.delete_certificate(store=store, filename=filename)
                term.write(f"Successfully deleted certificate {store}/{filename}.\n")
            else:
                term.write("Certificate deletion cancelled.\n")
        elif low[:3] == ["set", "cert", "bulk"] and len(low) >= 4:
            self._bulk(low[3], words[4] if len(words) > 4 else "all", term)
        elif low == ["utils", "service", "list"]:
            term.write("Requesting service status, please wait...\n")
            for state in self.backend.service_states():
                suffix = (
                    f"  {state.reason}" if state.status is not ServiceStatus.STARTED and state.reason else ""
                )
                term.write(f"{state.name}[{state.status.value.upper()}]{suffix}\n")
        elif low[:2] == ["utils", "service"] and len(low) > 3 and low[2] in ("restart", "start", "stop"):
            self._service(ControlAction(low[2].capitalize()), " ".join(words[3:]), term)
        elif low in (["show", "itl"], ["show", "ctl"]):
            self._show_trust_file("ITL" if low[1] == "itl" else "CTL", term)
        elif low[:2] == ["run", "sql"] and len(words) > 2:
            self._sql(line.split(None, 2)[2], term)
        elif (
            low[:3] == ["set", "cli", "pagination"]
            and len(low) == 4
            and low[3] in ("on", "off")
            and self.dialect.pagination == "session"
        ):
            self.pagination = low[3] == "on"
            term.write(f"Automatic pagination is turned {low[3]}\n")
        else:
            term.write(self.unknown())

    def _show_cert(self, kind: str, name: str, term: Terminal) -> None:
        unit, _, filename = name.partition("/")
        entry = self.backend.certificate(kind, unit=unit, filename=filename)
        if entry is not None:
            with_pem = kind == "own" or self.dialect.show_cert_trust_pem
            term.write(describe_certificate(entry.pem, dialect=self.dialect, with_pem=with_pem))
            return
        term.write(f"{FAILED}\nCertificate {name} not found\n")

    def _service(self, action: ControlAction, name: str, term: Terminal) -> None:
        if action is ControlAction.RESTART:
            term.write(
                "Do not press Ctrl+C while the service is restarting. If the service has not restarted "
                "properly, execute the same command again.\n"
            )
        term.write("Service Manager is running\n")
        if action is not ControlAction.START:
            term.write(f"{name}[STOPPING]\n")
        self.backend.control_services(action=action, names=[name])
        if action is not ControlAction.STOP:
            term.write(f"{name}[STARTING]\n")
        final = self._settle(name)
        term.write(f"{name}[{final.value.upper()}]\n")
        if action is ControlAction.STOP:
            term.write("Commanded Out of Service\n")

    def _settle(self, name: str) -> ServiceStatus:
        waited = 0.0
        while True:
            states = {s.name: s.status for s in self.backend.service_states()}
            status = states.get(name, ServiceStatus.UNKNOWN)
            if (
                status not in (ServiceStatus.STARTING, ServiceStatus.STOPPING)
                or waited >= self.settle_timeout_s
            ):
                return status
            self.stop.wait(0.05)
            waited += 0.05

    def _show_trust_file(self, kind: str, term: Terminal) -> None:
        found = self.backend.trust_file(f"{kind}File.tlv")
        if found is None:
            term.write(
                f"Length of {kind} file: 0\n{kind} File not found. "
                f"Generate it with the CLI (utils {kind.lower()}) or the CTL client.\n"
                f"Error parsing the {kind} File.\n"
            )
            return
        md5, sha1 = hashlib.md5(found.content).hexdigest(), hashlib.sha1(found.content).hexdigest()
        term.write(
            f"The checksum value of the {kind} file:\n{md5}(MD5)\n{sha1}(SHA1)\n\n"
            f"Length of {kind} file: {len(found.content)}\n"
            f"The {kind} File was last modified on {_date(found.modified)}\n\n"
        )
        if self.describe_trust_file is not None:
            term.write("\n".join(self.describe_trust_file(kind, found.content)) + "\n")

    def _sql(self, query: str, term: Terminal) -> None:
        result = self.backend.execute_sql_query(query)
        widths = [
            max([len(col)] + [len(row[i] or "") for row in result.rows])
            for i, col in enumerate(result.columns)
        ]
        term.write(
            " ".join(col.ljust(w) for col, w in zip(result.columns, widths, strict=True)).rstrip() + "\n"
        )
        term.write(" ".join("=" * w for w in widths) + "\n")
        for row in result.rows:
            term.write(
                " ".join((v or "NULL").ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n"
            )

    def _bulk(self, verb: str, unit: str, term: Terminal) -> None:
        if verb == "sftp":
            host = term.ask("SFTP Server IP: ")
            port = term.ask("SFTP Server Port [22]: ")
            user = term.ask("User ID: ")
            password = term.ask("Password: ", echo=False)
            directory = term.ask("Directory: ")
            if None in (host, port, user, password, directory):
                return
            self.sftp = SftpTarget(
                str(host).strip(),
                int(str(port).strip() or 22),
                str(user).strip(),
                str(password),
                str(directory).strip() or "/",
            )
            term.write("Successfully configured the SFTP server for bulk certificate operations.\n")
            return
        if verb not in ("export", "consolidate", "import"):
            term.write(self.unknown())
            return
        if self.sftp is None:
            term.write(
                "Executed command unsuccessfully\nSFTP server information is not configured; "
                "run set cert bulk sftp first.\n"
            )
            return
        try:
            if verb == "export":
                files = self.backend.bulk_export(unit)
                upload(self.sftp, files)
                for item in files:
                    term.write(f"Successfully exported {item.name} to sftp server.\n")
            elif verb == "consolidate":
                merged = self.backend.bulk_consolidate(unit, fetch_all(self.sftp))
                upload(self.sftp, merged)
                term.write(f"Successfully consolidated {unit} certificate(s) on sftp server.\n")
            else:
                for imported in self.backend.bulk_import(unit, fetch_all(self.sftp)):
                    term.write(f"Successfully imported {imported} certificate(s) from sftp server.\n")
        except (paramiko.SSHException, OSError) as exc:
            term.write(f"Executed command unsuccessfully\nSFTP transfer failed: {exc}\n")


def cucm_cli_server(
    backend: CliBackend,
    *,
    name: str,
    host: str,
    port: int,
    host_key: paramiko.PKey,
    users: Mapping[str, str] | Callable[[], Mapping[str, str]],
    faults: FaceFaults | None = None,
    auth_methods: tuple[str, ...] = ("password", "keyboard-interactive"),
    describe_trust_file: TrustFileDescriber | None = None,
    dialect: WireDialect | None = None,
) -> SshFaceServer:
    def shell(user: str) -> Shell:
        return CucmCli(backend, user=user, describe_trust_file=describe_trust_file, dialect=dialect)

    return SshFaceServer(
        name=name,
        host=host,
        port=port,
        host_key=host_key,
        users=users,
        shell_factory=shell,
        faults=faults,
        auth_methods=auth_methods,
    )
