"""Operating dead letters with ``bridge dlq`` against the real broker."""

from __future__ import annotations

import hashlib
import json

import pytest
from click.testing import CliRunner

from bridge.cli import main

from .harness import CASES, bridge_topology, browse, ingest, make_settings, running, wait_for, write_config

pytestmark = pytest.mark.integration


def raw_id(path, document_key: str) -> str:
    """The raw message id ingest gives a file: document key plus a content hash."""
    return f"{document_key}:{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"


def bridge(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_list_show_replay_and_purge_dead_letters(rabbitmq, tmp_path):
    settings = make_settings(tmp_path)
    config = str(write_config(settings, tmp_path / "bridge.yaml"))
    dlq = f"{settings.broker.prefix}.translate.dlq"
    order = raw_id(CASES / "LOIPRO05_bad_quantity.xml", "sap:AX2012 Manu:0000000000007699")
    batch = raw_id(CASES / "BATMAS03_bad_expiry.xml", "sap:S4HCLNT100:0000000000620001")
    with bridge_topology(settings), running(settings):
        ingest(settings, [CASES / "LOIPRO05_bad_quantity.xml", CASES / "BATMAS03_bad_expiry.xml"])
        wait_for(lambda: len(browse(dlq)) == 2, timeout=20)

        code, out, err = bridge("dlq", "list", "--config", config)
        assert code == 0, err
        assert "2 dead letter(s)" in err
        row = next(line for line in out.splitlines() if "0000000000007699" in line)
        for part in (
            order,
            "LOIPRO05",
            "translate",
            "MappingError",
            "value '2,00'",
        ):
            assert part in row

        code, out, _ = bridge("dlq", "list", "--config", config, "--json", "--document-type", "BATMAS03")
        [letter] = [json.loads(line) for line in out.splitlines()]
        assert letter["id"] == batch
        assert letter["field"] == "expires_on"
        assert letter["original_routing_key"] == "sap.BATMAS03"
        assert letter["attempts"] == 1

        code, out, _ = bridge("dlq", "show", order, "--config", config)
        assert code == 0
        assert "error_class:          MappingError" in out
        assert "<GAMNG>2,00</GAMNG>" in out

        code, _, err = bridge("dlq", "replay", "--config", config)
        assert code == 2
        assert "needs a filter" in err

        # dry runs say what they would do and leave both where they are
        code, out, err = bridge("dlq", "purge", "--config", config, "--all", "--dry-run")
        assert code == 0, err
        assert sorted(out.splitlines()) == sorted([f"would purge {order}", f"would purge {batch}"])
        code, out, err = bridge("dlq", "replay", "--config", config, "--id", order, "--dry-run")
        assert code == 0, err
        assert out.splitlines() == [f"would replay {order} -> {settings.broker.prefix}.inbound/sap.LOIPRO05"]
        assert "(dry run: nothing was changed)" in err
        assert sorted(props.message_id for props, _ in browse(dlq)) == sorted([order, batch])

        code, out, _ = bridge("dlq", "purge", "--config", config, "--id", batch)
        assert code == 0
        assert f"purged {batch}" in out
        assert [props.message_id for props, _ in browse(dlq)] == [order]

        # the mapping is still wrong: a replay comes back to the dead-letter queue, marked
        code, out, _ = bridge(
            "dlq", "replay", "--config", config, "--error-class", "MappingError", "--by", "night-shift"
        )
        assert code == 0
        assert f"replayed {order} -> " in out
        [(props, _)] = wait_for(
            lambda: [m for m in browse(dlq) if m[0].headers.get("x-bridge-replay-count") == 1], timeout=20
        )
        assert props.headers["x-bridge-replayed-by"] == "night-shift"
        assert props.headers["x-bridge-error-class"] == "MappingError"
