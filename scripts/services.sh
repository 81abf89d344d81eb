#!/usr/bin/env bash
# Make sure RabbitMQ (127.0.0.1:5672) and PostgreSQL (127.0.0.1:5432, database `test`) run;
# install them from Debian's packages on a bare machine. Idempotent; needs root to install.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 90); do port_open "$1" && return 0; sleep 1; done
  echo "service on port $1 did not come up" >&2; return 1
}
apt_ready=0
apt_install() {
  if [ "$apt_ready" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_ready=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! port_open 5672; then
  echo "== starting RabbitMQ"
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  rabbitmq-server -detached || true
  wait_port 5672
  rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

if [ "${BRIDGE_NEEDS_POSTGRES:-1}" = 1 ] && ! port_open 5432; then
  echo "== starting PostgreSQL"
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # the bridge's tests connect over loopback without a password, as on the developers' machines
  if ! grep -q "erp-mes-bridge trust" "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust # erp-mes-bridge trust\nhost all all ::1/128 trust # erp-mes-bridge trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432
fi
if [ "${BRIDGE_NEEDS_POSTGRES:-1}" = 1 ] && command -v psql >/dev/null; then
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "create database test" >/dev/null 2>&1 || true
fi
