#!/usr/bin/env bash
# The main job: the bridge running between a (simulated) ERP and MES with sample traffic.
#   1. translate the sample SAP documents offline (no broker needed);
#   2. start `bridge run` (RabbitMQ + SQLite ledger), ingest real SAP IDocs (XML and flat) and
#      one broken IDoc, show what reached the MES, the dead letter with its reason, the metrics;
#   3. stop the bridge with SIGTERM (it finishes in-flight messages and exits 0);
#   4.-6. the closed loops with SAP, Kingdee K/3 Cloud and Yonyou YonBIP, each against its
#      simulator: an ERP order reaches the MES, the MES reports work, the ERP holds it once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out=out
rm -rf "$out"; mkdir -p "$out"
samples=(
  mappings/sap/cases/LOIPRO05_S4HANA_Original.xml       # real S/4HANA production order (SOAP-IDoc XML)
  mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml        # production order from a non-SAP ERP
  mappings/sap/cases/MATMAS05_3PL_material_master.xml   # material master (XML)
  mappings/sap/cases/MATMAS05_3PL_material_master.idoc  # the same material as a flat IDoc file
  mappings/sap/cases/MATMAS05_DMC_S1SP02677_finished.xml
  mappings/sap/cases/BATMAS03_example.xml               # batch master
)

echo "== 1. offline: IDoc -> canonical ($out/canonical.jsonl) and a work report -> SAP confirmation"
.venv/bin/bridge translate "${samples[@]}" > "$out/canonical.jsonl"
wc -l < "$out/canonical.jsonl" | xargs echo "canonical envelopes:"
.venv/bin/bridge translate --target-system sap mappings/sap/cases/report_final_with_movements.json > "$out/confirmation.xml"
head -n 6 "$out/confirmation.xml"
.venv/bin/bridge schema export "$out/schemas" >/dev/null && echo "JSON Schemas in $out/schemas/"

echo "== 2. the bridge on RabbitMQ"
BRIDGE_NEEDS_POSTGRES=0 bash scripts/services.sh
export BRIDGE_CONFIG=scripts/demo-bridge.yaml
.venv/bin/bridge topology declare > "$out/topology.txt"
.venv/bin/bridge dlq purge --all >/dev/null 2>&1   # a fresh demo: forget earlier runs' dead letters
# the MES side: a queue on the MES exchange (a real MES binds its own)
.venv/bin/python - <<'PY'
import pika
c = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
ch = c.channel()
ch.queue_declare("demo.mes-inbox", durable=True)
ch.queue_bind("demo.mes-inbox", "demo.mes.events", "#")
ch.queue_purge("demo.mes-inbox")
c.close()
PY
.venv/bin/bridge run > "$out/bridge.log" 2>&1 &
bridge_pid=$!
trap 'kill -TERM $bridge_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 30); do curl -fs localhost:8080/readyz >/dev/null 2>&1 && break; sleep 1; done
curl -fs localhost:8080/readyz && echo
.venv/bin/bridge ingest --source-system sap "${samples[@]}" mappings/sap/cases/LOIPRO05_bad_quantity.xml
for _ in $(seq 1 30); do [ "$(wc -l < "$out/mes-events.jsonl" 2>/dev/null || echo 0)" -ge 5 ] && break; sleep 1; done
echo "events delivered to the MES (routing key <entity>.<event>):"
.venv/bin/python -c "
import json
for line in open('$out/mes-events.jsonl'):
    e = json.loads(line); print('  ', e['entity'] + '.' + e['event'], e['message_id'])"
sleep 1
echo "dead letters (bridge dlq list):"
.venv/bin/bridge dlq list
echo "metrics (curl localhost:8080/metrics | grep bridge_messages_):"
curl -fs localhost:8080/metrics | grep -E "^bridge_messages_(translated|delivered|dead_lettered)_total" || true
kill -TERM $bridge_pid
wait $bridge_pid && echo "bridge stopped cleanly (exit 0); log in $out/bridge.log"
trap - EXIT

echo "== 3. the closed loop with SAP (examples/sap-loop.yaml against bridge simulate sap)"
export SAP_URL=http://127.0.0.1:8100 SAP_USER=BRIDGE SAP_PASSWORD=demo-sap-secret
export SAP_INBOUND_USER=SAPPORT SAP_INBOUND_PASSWORD=demo-port-secret MES_FEEDBACK_TOKEN=demo-mes-token
export SAP_FILE_PORT_DIR="$out/sap-file-port" BRIDGE_HTTP_PORT=8081
export BRIDGE_DATABASE_URL="sqlite:///$out/loop-ledger.sqlite" BRIDGE_CONFIG=examples/sap-loop.yaml
mkdir -p "$SAP_FILE_PORT_DIR"
.venv/bin/python scripts/demo_reset.py   # each loop starts with empty queues of its own
.venv/bin/bridge topology declare > "$out/loop-topology.txt"
.venv/bin/python - <<'PY'
import pika
c = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
ch = c.channel()
ch.queue_declare("demo.loop-mes-inbox", durable=True)
ch.queue_bind("demo.loop-mes-inbox", "mes.events", "#")
ch.queue_purge("demo.loop-mes-inbox")
c.close()
PY
SAP_SIM_PASSWORD=$SAP_PASSWORD SAP_SIM_PUSH_PASSWORD=$SAP_INBOUND_PASSWORD .venv/bin/bridge simulate sap \
  --port 8100 --user "$SAP_USER" --seed mappings/sap/cases/LOIPRO05_DMC_nonSAP_ERP.xml \
  --stock R1CH01007:DM01:B-4711=1000 \
  --push-to http://127.0.0.1:8081/api/v1/sap/idoc --push-user "$SAP_INBOUND_USER" > "$out/sap-simulator.log" 2>&1 &
sim_pid=$!
.venv/bin/bridge run > "$out/loop-bridge.log" 2>&1 &
loop_pid=$!
trap 'kill -TERM $loop_pid $sim_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 30); do curl -fs localhost:8081/readyz >/dev/null 2>&1 && break; sleep 1; done
echo "SAP (simulated) pushes its production order LOIPRO05 to the bridge's receiver; the MES answers:"
.venv/bin/python scripts/demo_mes.py demo.loop-mes-inbox http://127.0.0.1:8081 "$SAP_URL"
echo "reconciliation (对账) of what the MES reported against SAP's confirmations:"
.venv/bin/bridge reconcile run quantities --html "$out/sap-quantities.html"
kill -TERM $loop_pid
wait $loop_pid && echo "bridge stopped cleanly (exit 0); logs in $out/loop-bridge.log and $out/sap-simulator.log"
kill -TERM $sim_pid; wait $sim_pid || true
trap - EXIT
.venv/bin/python scripts/demo_reset.py   # no queue of this loop stays bound to mes.feedback

erp_loop() {  # erp_loop NAME PORT SIM_PORT CONFIG SIMULATE_ARGS...
  local name=$1 port=$2 sim_port=$3 config=$4; shift 4
  export BRIDGE_HTTP_PORT=$port BRIDGE_DATABASE_URL="sqlite:///$out/$name-ledger.sqlite" BRIDGE_CONFIG=$config
  .venv/bin/python scripts/demo_reset.py
  .venv/bin/bridge topology declare > "$out/$name-topology.txt"
  .venv/bin/python - "$name" <<'PY'
import sys
import pika
c = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
ch = c.channel()
queue = f"demo.{sys.argv[1]}-mes-inbox"
ch.queue_declare(queue, durable=True)
ch.queue_bind(queue, "mes.events", "#")  # orders, materials and lots: the MES takes them all
ch.queue_purge(queue)
c.close()
PY
  .venv/bin/bridge simulate "$name" --port "$sim_port" "$@" > "$out/$name-simulator.log" 2>&1 &
  local sim_pid=$!
  .venv/bin/bridge run > "$out/$name-bridge.log" 2>&1 &
  local run_pid=$!
  trap "kill -TERM $run_pid $sim_pid 2>/dev/null || true" EXIT
  for _ in $(seq 1 30); do curl -fs "localhost:$port/readyz" >/dev/null 2>&1 && break; sleep 1; done
  .venv/bin/python scripts/demo_erp.py "$name" "demo.$name-mes-inbox" "http://127.0.0.1:$port"
  echo "reconciliation (对账) of what the MES reported against what $name now holds:"
  .venv/bin/bridge reconcile run quantities --html "$out/$name-quantities.html"
  kill -TERM $run_pid
  wait $run_pid && echo "bridge stopped cleanly (exit 0); logs in $out/$name-bridge.log and $out/$name-simulator.log"
  kill -TERM $sim_pid; wait $sim_pid || true
  trap - EXIT
  .venv/bin/python scripts/demo_reset.py
}

echo "== 4. the closed loop with Kingdee K/3 Cloud (examples/kingdee-loop.yaml against bridge simulate kingdee)"
export KINGDEE_URL=http://127.0.0.1:8200/k3cloud KINGDEE_ACCT_ID=65f0a1b2c3d4e5 KINGDEE_USER=mes_bridge
export KINGDEE_APP_ID=300123_MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u KINGDEE_APP_SECRET=demo-kingdee-app-secret
echo "K/3 Cloud (simulated) holds 2 audited production orders (3 entry rows), 3 materials and 2 lots; the bridge polls them:"
erp_loop kingdee 8082 8200 examples/kingdee-loop.yaml --seed adapters/kingdee/simulator/demo_seed.json

echo "== 5. the closed loop with Yonyou YonBIP (examples/yonyou-loop.yaml against bridge simulate yonyou)"
export YONYOU_URL=http://127.0.0.1:8300 YONYOU_TENANT_ID=demo-tenant
export YONYOU_APP_KEY=demo-yonyou-app-key YONYOU_APP_SECRET=demo-yonyou-app-secret
echo "YonBIP (simulated) holds 2 audited production orders (3 lines), 4 materials and 4 batch numbers; the bridge polls them:"
erp_loop yonyou 8083 8300 examples/yonyou-loop.yaml --seed adapters/yonyou/simulator/demo_seed.json

echo "== summary: what went where (read from each flow's ledger in $out/)"
.venv/bin/python scripts/demo_summary.py "SAP IDocs, bridge run (section 2)=$out/demo-ledger.sqlite" \
  "SAP loop=$out/loop-ledger.sqlite" "Kingdee K/3 Cloud loop=$out/kingdee-ledger.sqlite" \
  "Yonyou YonBIP loop=$out/yonyou-ledger.sqlite"
echo "HTML reconciliation reports: $out/sap-quantities.html, $out/kingdee-quantities.html, $out/yonyou-quantities.html"
