"""MES adapter: canonical events to the MES over AMQP (sink.py), and the MES's feedback into
the bridge (canonical envelopes passed through, plain work reports mapped) over the broker's
feedback exchange or ``POST /api/v1/feedback``."""

from __future__ import annotations

from adapters.mes.codec import MesCodec
from adapters.mes.settings import FeedbackSettings, MesSourceSettings
from adapters.mes.source import FeedbackReceiver

__all__ = ["FeedbackReceiver", "FeedbackSettings", "MesCodec", "MesSourceSettings"]
