# syntax=docker/dockerfile:1
# erp-mes-bridge: the bridge as a container between ERP and MES.
#
#   docker build -t erp-mes-bridge .
#   docker run --rm -p 8080:8080 -e BRIDGE_AMQP_URL=amqp://... erp-mes-bridge          # bridge run
#   docker run --rm erp-mes-bridge mapping lint                                         # any bridge command
#
# Two stages: the builder turns the project (pip, as scripts/setup.sh installs it, without the
# dev extras) into wheels, the runtime installs them from there with no index and no compiler.
# Mount points: /etc/bridge/config (BRIDGE_CONFIG=/etc/bridge/config/bridge.yaml), /etc/bridge/mappings
# (the shipped mappings are the default; mount a folder over them), /var/lib/bridge (the data
# volume: the default SQLite ledger, file ports, file sinks), secrets as files (*_FILE variables).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY adapters ./adapters
# the project's wheel and every dependency's wheel (lxml, psycopg, google-re2 ship binary wheels)
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
# No BRIDGE_DATABASE_URL here: a variable wins over the configuration file's database_url, and
# the bridge refuses it together with BRIDGE_DATABASE_URL_FILE (the way secrets are mounted).
# The built-in default, sqlite:///bridge-ledger.sqlite, is relative to the working directory:
# /var/lib/bridge/bridge-ledger.sqlite, in the data directory the user bridge owns.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BRIDGE_MAPPINGS_DIR=/etc/bridge/mappings
# The user the bridge runs as owns its data directory (the working directory, where the default
# SQLite ledger is created) and nothing else: code, mappings and configuration stay root's.
# uid 10001, numeric in USER so that Kubernetes' runAsNonRoot can check it (deploy/k8s runs as it).
RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --home-dir /var/lib/bridge \
        --no-create-home --shell /usr/sbin/nologin bridge \
    && install -d -o bridge -g bridge -m 0750 /var/lib/bridge /var/lib/bridge/file-port \
    && install -d -m 0755 /etc/bridge /etc/bridge/config /usr/share/erp-mes-bridge/seeds
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links=/wheels /wheels/erp_mes_bridge-*.whl
COPY mappings /etc/bridge/mappings
COPY examples /etc/bridge/examples
# the simulators' demo seeds at a fixed path (bridge simulate kingdee --seed ...; yonyou has --demo)
COPY adapters/kingdee/simulator/demo_seed.json /usr/share/erp-mes-bridge/seeds/kingdee.json
COPY adapters/yonyou/simulator/demo_seed.json /usr/share/erp-mes-bridge/seeds/yonyou.json
# an image whose shipped mappings do not load is not built
RUN bridge mapping lint
WORKDIR /var/lib/bridge
VOLUME ["/var/lib/bridge"]
EXPOSE 8080
USER 10001:10001
# alive = the HTTP port answers /healthz (python: the slim image has no curl); /readyz, which
# checks the broker and the database, is for load balancers and Kubernetes' readiness probe.
# A configuration with another http_port sets BRIDGE_HTTP_PORT too, for this check.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('BRIDGE_HTTP_PORT', '8080'), timeout=4)"]
# exec form: bridge is PID 1 and gets the SIGTERM itself; it stops consuming, finishes the
# deliveries in hand and exits 0 (give it the time: docker stop -t 60, terminationGracePeriodSeconds)
STOPSIGNAL SIGTERM
ENTRYPOINT ["bridge"]
CMD ["run"]
