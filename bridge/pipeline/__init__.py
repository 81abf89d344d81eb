"""The pipeline: ingest -> translate -> deliver, each stage a worker on its own queue."""

from bridge.pipeline.deliver import DeliverStage
from bridge.pipeline.ingest import Ingestor, RawDocument
from bridge.pipeline.outcome import Outcome, OutcomeKind
from bridge.pipeline.retry import RetryPolicy
from bridge.pipeline.translate import TranslateStage
from bridge.pipeline.worker import Worker

__all__ = [
    "DeliverStage",
    "Ingestor",
    "Outcome",
    "OutcomeKind",
    "RawDocument",
    "RetryPolicy",
    "TranslateStage",
    "Worker",
]
