#!/usr/bin/env bash
# The main job, as far as it goes today: translate the sample SAP documents shipped with the
# mappings into canonical envelopes, and a canonical work report into an SAP confirmation.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=${BRIDGE_DEMO_OUT:-out}
mkdir -p "$out"
echo "== IDoc -> canonical (JSON lines in $out/canonical.jsonl)"
samples=(
  mappings/sap/cases/LOIPRO05_S4HANA_Original.xml       # real S/4HANA production order (SOAP-IDoc XML)
  mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml        # production order from a non-SAP ERP
  mappings/sap/cases/MATMAS05_3PL_material_master.xml   # material master (XML)
  mappings/sap/cases/MATMAS05_3PL_material_master.idoc  # the same material as a flat IDoc file
  mappings/sap/cases/MATMAS05_DMC_S1SP02677_finished.xml
  mappings/sap/cases/BATMAS03_example.xml               # batch master
)
.venv/bin/bridge translate "${samples[@]}" > "$out/canonical.jsonl"
wc -l "$out/canonical.jsonl"
echo "== canonical report -> SAP BAPI_PRODORDCONF_CREATE_TT ($out/confirmation.xml)"
.venv/bin/bridge translate mappings/sap/cases/report_final_with_movements.json > "$out/confirmation.xml"
head -n 12 "$out/confirmation.xml"
echo "== canonical JSON Schemas ($out/schemas)"
.venv/bin/bridge schema export "$out/schemas"
echo "== a flat IDoc as the bridge reads it (first lines of bridge idoc show)"
.venv/bin/bridge idoc show mappings/sap/cases/MATMAS05_3PL_material_master.idoc | head -n 20
echo "== a bad document is explained, not a traceback (exit code 1 expected)"
.venv/bin/bridge translate mappings/sap/cases/LOIPRO05_bad_quantity.xml || true
echo "== mapping test cases"
.venv/bin/bridge mapping test
