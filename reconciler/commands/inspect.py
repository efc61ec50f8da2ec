"""``reconciler inspect tlv FILE [--json]``: show an ITL or CTL file like CUCM's ``show itl``/``show ctl``.

Exit 0 when the file parses and its signature verifies, 1 otherwise (with the reason). The codec
(``reconciler.cucm.tlv``, which needs ``cryptography``) is imported inside the command body so that
``reconciler --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    inspect_app = typer.Typer(help="Inspect CUCM artefacts (ITL/CTL files).", no_args_is_help=True)

    @inspect_app.command("tlv")
    def tlv_command(
        ctx: typer.Context,
        file: Path = typer.Argument(..., help="An ITLFile.tlv / CTLFile.tlv (or ITLSEP<MAC>.tlv) file."),
        json_output: bool = typer.Option(False, "--json", help="Print a stable JSON document."),
    ) -> None:
        """Print an ITL or CTL file's header, signer, digest and records, and whether it verifies."""
        from reconciler.boundedio import MAX_TLV_BYTES, read_bounded
        from reconciler.cucm import tlv
        from reconciler.errors import SignatureError, TlvError
        from reconciler.render.tlv import tlv_document, tlv_text

        as_json = json_output or bool(getattr(ctx.obj, "json", False))
        try:
            data = read_bounded(file, limit=MAX_TLV_BYTES)
        except OSError as exc:
            _fail(f"cannot read {file}: {exc.strerror or exc}", as_json=as_json)
        try:
            parsed = tlv.parse(data)
        except TlvError as exc:
            _fail(f"{file} is not a valid ITL/CTL file: {exc}", as_json=as_json, offset=exc.offset)
        signature_error: str | None = None
        try:
            tlv.verify(parsed)
        except SignatureError as exc:
            signature_error = str(exc)
        if as_json:
            typer.echo(json.dumps(tlv_document(parsed, signature_error=signature_error), indent=2))
        else:
            typer.echo(tlv_text(parsed, signature_error=signature_error))
        if signature_error is not None:
            if not as_json:
                typer.echo(f"error: signature does not verify: {signature_error}", err=True)
            raise typer.Exit(1)

    app.add_typer(inspect_app, name="inspect")


def _fail(message: str, *, as_json: bool, offset: int | None = None) -> None:
    if as_json:
        typer.echo(json.dumps({"error": message, "offset": offset}, indent=2))
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)
