"""The SAP adapter's commands: ``bridge idoc show``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from adapters.sap.inspect import describe_json
from bridge.cli_kit import definitions_option, echo_chunks, encoding_option, reported, warning_printer

__all__ = ["idoc"]


@click.group()
def idoc() -> None:
    """Inspect SAP IDocs."""


@idoc.command("show")
@click.argument("file", type=click.Path(path_type=Path))
@definitions_option
@click.option(
    "--idoc-type",
    help="Decode the IDoc as this basic type, whatever its control record's IDOCTYP says.",
)
@encoding_option
def idoc_show(file: Path, definitions: Sequence[Path], idoc_type: str | None, encoding: str | None) -> None:
    """Print a parsed IDoc as JSON: control record and segment tree (several IDocs: a list).

    What the decoder doubts is printed as ``bridge: warning: FILE: ...`` on stderr, as for
    translate. The JSON is written as it is made, IDoc by IDoc and segment by segment.
    """
    from bridge.translate import read_input

    options: dict[str, Any] = {
        "origin": file.name,
        "definitions": list(definitions),
        "idoc_type": idoc_type,
        "on_warning": warning_printer(file),
    }
    if encoding:
        options["encoding"] = encoding  # passed on to the codec
    with reported():
        chunks = describe_json(read_input(file), **options)  # the bytes are not kept meanwhile
    echo_chunks(chunks)
