"""Observability: Prometheus metrics, the /metrics /healthz /readyz endpoint, structured logs."""

from bridge.observability.http import HealthServer, run_checks
from bridge.observability.logging import configure_logging, current_context, log_context
from bridge.observability.metrics import (
    COMPONENTS,
    ENTITIES,
    ERROR_CLASSES,
    OUTCOMES,
    STAGES,
    Metrics,
    error_class_label,
    mark_process_dead,
    metrics_payload,
    multiprocess_dir,
)

__all__ = [
    "COMPONENTS",
    "ENTITIES",
    "ERROR_CLASSES",
    "OUTCOMES",
    "STAGES",
    "HealthServer",
    "Metrics",
    "configure_logging",
    "current_context",
    "error_class_label",
    "log_context",
    "mark_process_dead",
    "metrics_payload",
    "multiprocess_dir",
    "run_checks",
]
