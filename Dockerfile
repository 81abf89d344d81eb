# erp-mes-bridge: the bridge as a container between ERP and MES.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BRIDGE_MAPPINGS_DIR=/etc/bridge/mappings
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bridge ./bridge
COPY adapters ./adapters
RUN pip install --no-cache-dir . && useradd --system --home /app bridge
COPY mappings /etc/bridge/mappings
COPY examples /etc/bridge/examples
EXPOSE 8080
USER bridge
ENTRYPOINT ["bridge"]
CMD ["run"]
