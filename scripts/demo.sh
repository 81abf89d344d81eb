#!/usr/bin/env bash
# The main job, as far as it goes today: translate the sample SAP documents shipped with the
# mappings into canonical envelopes, and a canonical work report into an SAP confirmation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${BRIDGE_DEMO_OUT:-out}
mkdir -p "$out"
echo "== IDoc -> canonical (JSON lines in $out/canonical.jsonl)"
.venv/bin/bridge translate mappings/sap/cases/*.xml mappings/sap/cases/*.idoc > "$out/canonical.jsonl"
wc -l "$out/canonical.jsonl"
echo "== canonical report -> SAP BAPI_PRODORDCONF_CREATE_TT ($out/confirmation.xml)"
.venv/bin/bridge translate mappings/sap/cases/report_final_with_movements.json > "$out/confirmation.xml"
head -n 12 "$out/confirmation.xml"
echo "== canonical JSON Schemas ($out/schemas)"
.venv/bin/bridge schema export "$out/schemas"
echo "== mapping test cases"
.venv/bin/bridge mapping test
