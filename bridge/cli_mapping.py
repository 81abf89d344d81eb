"""``bridge mapping``: test and lint the YAML mappings integrators edit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bridge.cli_kit import EXIT_BAD_INPUT, EXIT_CONFIG, fail, reported

__all__ = ["mapping", "mappings_option"]

mappings_option = click.option(
    "--mappings",
    "mappings_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of mapping files (default $BRIDGE_MAPPINGS_DIR or ./mappings).",
)


@click.group()
def mapping() -> None:
    """Test and lint YAML mappings."""


@mapping.command("test")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@mappings_option
@click.option("-v", "--verbose", is_flag=True, help="Also print details of passing cases.")
def mapping_test(path: Path | None, mappings_dir: Path | None, verbose: bool) -> None:
    """Run the test cases next to each mapping (or those below PATH) and print a table."""
    from bridge.mapping import MappingCatalog
    from bridge.mapping.testing import run_cases

    with reported():
        catalog = MappingCatalog.load(mappings_dir)
        results = run_cases(catalog, path)
    if not results:
        fail("no mapping test cases found", EXIT_CONFIG)
    width = max(len(r.case.id) for r in results)
    for result in results:
        status = "PASS" if result.passed else "FAIL"
        click.echo(f"{status}  {result.case.id.ljust(width)}  {result.case.file.name}:{result.case.line}")
        if result.detail and (verbose or not result.passed):
            for line in result.detail.splitlines():
                click.echo(f"      {line}")
    failed = sum(not r.passed for r in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        sys.exit(EXIT_BAD_INPUT)


@mapping.command("lint")
@mappings_option
def mapping_lint(mappings_dir: Path | None) -> None:
    """Validate every mapping against the schema; check transforms, lookups and paths exist."""
    from bridge.mapping import MappingCatalog

    with reported():
        catalog = MappingCatalog.load(mappings_dir)
    for compiled in catalog:
        click.echo(f"ok  {compiled.name}  {compiled.file}")
    click.echo(f"{len(catalog.mappings)} mapping(s) valid, {len(catalog.lookups)} lookup table(s)")
