"""``bridge mapping``: test, lint and measure the coverage of the YAML mappings integrators edit."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.cli_kit import EXIT_BAD_INPUT, EXIT_CONFIG, definitions_option, fail, reported

if TYPE_CHECKING:
    from bridge.mapping.testing import CaseResult

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
    """Test, lint and measure YAML mappings."""


@mapping.command("test", short_help="Run the mappings' test cases (text, JUnit XML or JSON).")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@mappings_option
@click.option("-v", "--verbose", is_flag=True, help="Also print details of passing cases (text).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "junit", "json"]),
    default="text",
    show_default=True,
    help="text: a pass/fail table; junit: JUnit XML for CI servers; json: one object per case per line.",
)
def mapping_test(path: Path | None, mappings_dir: Path | None, verbose: bool, output_format: str) -> None:
    """Run the test cases next to each mapping (or those below PATH). Exits 1 when one fails.

    --format junit writes JUnit XML (a testsuite per mapping, a testcase per case, failures
    with their detail) for a CI server; --format json one JSON object per case and line.
    """
    from bridge.mapping import MappingCatalog
    from bridge.mapping.testing import discover_cases, run_case

    with reported():
        catalog = MappingCatalog.load(mappings_dir)
        timed = []
        for case in discover_cases(catalog, path):
            started = time.perf_counter()
            result = run_case(case, catalog)
            timed.append((result, time.perf_counter() - started))
    if not timed:
        fail("no mapping test cases found", EXIT_CONFIG)
    failed = sum(not r.passed for r, _ in timed)
    if output_format == "text":
        for line in _table([r for r, _ in timed], verbose=verbose):
            click.echo(line)
    else:
        if output_format == "junit":
            click.echo(_junit(timed))
        else:
            for result, seconds in timed:
                click.echo(json.dumps(_case_json(result, seconds), ensure_ascii=False))
        click.echo(f"{len(timed) - failed} passed, {failed} failed", err=True)  # stdout stays XML/JSON
    if failed:
        sys.exit(EXIT_BAD_INPUT)


def _table(results: list[CaseResult], *, verbose: bool) -> list[str]:
    """The pass/fail table with a summary line."""
    lines = []
    width = max(len(r.case.id) for r in results)
    for result in results:
        status = "PASS" if result.passed else "FAIL"
        lines.append(f"{status}  {result.case.id.ljust(width)}  {result.case.file.name}:{result.case.line}")
        if result.detail and (verbose or not result.passed):
            lines.extend(f"      {line}" for line in result.detail.splitlines())
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results) - failed} passed, {failed} failed")
    return lines


def _case_json(result: CaseResult, seconds: float) -> dict[str, Any]:
    """One case as a JSON object (``bridge mapping test --format json`` prints one per line)."""
    case = result.case
    return {
        "mapping": case.mapping,
        "case": case.name,
        "file": str(case.file),
        "line": case.line,
        "status": "pass" if result.passed else "fail",
        "passed": result.passed,
        "detail": result.detail,
        "seconds": round(seconds, 6),
    }


# XML 1.0 allows tab, newline, carriage return and these ranges only (no other control characters)
_NOT_XML = re.compile(r"[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _xml(text: str) -> str:
    """Text safe for XML: characters XML 1.0 cannot carry are written as ``\\xNN``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _junit(timed: list[tuple[CaseResult, float]]) -> str:
    """JUnit XML: one testsuite per mapping, one testcase per case, failures with their detail."""
    from xml.etree import ElementTree as ET

    suites: dict[str, list[tuple[CaseResult, float]]] = {}
    for result, seconds in timed:
        suites.setdefault(result.case.mapping, []).append((result, seconds))
    failed = sum(not r.passed for r, _ in timed)
    root = ET.Element(
        "testsuites",
        name="bridge mapping test",
        tests=str(len(timed)),
        failures=str(failed),
        errors="0",
        time=f"{sum(s for _, s in timed):.3f}",
    )
    for name, members in suites.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_xml(name),
            tests=str(len(members)),
            failures=str(sum(not r.passed for r, _ in members)),
            errors="0",
            skipped="0",
            time=f"{sum(s for _, s in members):.3f}",
            file=_xml(str(members[0][0].case.file)),
        )
        for result, seconds in members:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_xml(name),
                name=_xml(result.case.name),
                file=_xml(str(result.case.file)),
                line=str(result.case.line or 0),
                time=f"{seconds:.3f}",
            )
            if not result.passed:
                detail = _xml(result.detail or "failed")
                failure = ET.SubElement(
                    case, "failure", message=detail.splitlines()[0], type="MappingCaseFailure"
                )
                failure.text = detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


@mapping.command("lint", short_help="Report every mistake of every mapping as file:line: message.")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@mappings_option
@definitions_option
@click.option("--strict", is_flag=True, help="Fail on warnings too (paths no sample shows).")
def mapping_lint(
    path: Path | None, mappings_dir: Path | None, definitions: tuple[Path, ...], strict: bool
) -> None:
    """Check every mapping (or the mapping file or folder PATH) and print every problem as
    file:line: message.

    Checked: what the loader refuses (schema, transforms, lookups), source paths against the
    IDoc definitions and the cases' sample documents, target fields, required fields and events
    against the canonical model, document types two mappings claim, the cases files. A path
    only the samples lack, unlike any known name, is a warning. Exits 1 on errors (with
    --strict, on warnings too).
    """
    from bridge.mapping.lint import lint

    with reported():
        report = lint(path, mappings_dir, [str(d) for d in definitions])
    for problem in report.problems:
        click.echo(str(problem))
    errors = sum(p.error for p in report.problems)
    warnings = len(report.problems) - errors
    noted = f", {warnings} warning(s)" if warnings else ""
    # the summary goes to stderr: stdout stays the list of problems
    if errors or (strict and warnings):
        files = len({p.file for p in report.problems if p.error or strict})
        click.echo(
            f"{errors} error(s){noted} in {files} file(s); {len(report.files)} mapping file(s) checked",
            err=True,
        )
        sys.exit(EXIT_BAD_INPUT)
    click.echo(
        f"ok: {len(report.files)} mapping file(s) without errors{noted}, {report.lookups} lookup table(s)",
        err=True,
    )


@mapping.command("coverage", short_help="List the sample fields no rule of a mapping reads.")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@mappings_option
def mapping_coverage(path: Path | None, mappings_dir: Path | None) -> None:
    """List the source fields the test cases' documents carry that no rule of the mapping
    reads (IDoc: SEGMENT.FIELD; JSON: dotted paths), as mapping: path lines on stdout; the
    counts go to stderr."""
    from bridge.mapping.coverage import coverage, summary_lines, unread_lines

    with reported():
        results = coverage(path, mappings_dir)
    for line in unread_lines(results):
        click.echo(line)
    for line in summary_lines(results):  # stderr: stdout stays the list
        click.echo(line, err=True)


def _register_tools() -> None:
    from bridge.cli_mapping_tools import mapping_diff, mapping_scaffold

    mapping.add_command(mapping_scaffold)
    mapping.add_command(mapping_diff)


_register_tools()
