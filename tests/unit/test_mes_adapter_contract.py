"""The MES adapter keeps the adapter contract; its error table and settings say what they mean."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adapters.mes.adapter import adapter
from adapters.mes.errors import ERRORS
from adapters.mes.settings import MesSourceSettings
from bridge.adapter import ErrorFacts, ErrorKind
from bridge.config import SourceSettings, adapter_source_settings
from tests.contract import AdapterContract

from ..conftest import DATA, MAPPINGS

# the invalid and the order envelope decode too: translate, not the codec, refuses them
SAMPLES = (*sorted((DATA / "mes").glob("*.json")), *sorted((MAPPINGS / "mes" / "cases").glob("*.json")))


class TestMesAdapterContract(AdapterContract):
    adapter = adapter
    samples = SAMPLES


def test_the_samples_cover_both_kinds_of_document():
    kinds = {d.document_type for s in SAMPLES for d in adapter.codec().decode(s.read_bytes())}
    assert {"canonical.report", "canonical.lot", "work-report"} <= kinds


@pytest.mark.parametrize(
    ("facts", "kind"),
    [
        pytest.param(ErrorFacts(status=409, text="Order is LOCKED"), ErrorKind.TRANSIENT, id="409 lock"),
        pytest.param(ErrorFacts(status=409, text="duplicate report"), ErrorKind.PERMANENT, id="409 otherwise"),
        pytest.param(ErrorFacts(status=400), ErrorKind.PERMANENT, id="bad request"),
        pytest.param(ErrorFacts(status=403), ErrorKind.CONFIGURATION, id="forbidden"),
        pytest.param(ErrorFacts(status=502), ErrorKind.TRANSIENT, id="bad gateway"),
        pytest.param(ErrorFacts(text="no idea"), ErrorKind.PERMANENT, id="unknown: the default"),
    ],
)
def test_mes_answers_are_classified(facts: ErrorFacts, kind: ErrorKind) -> None:
    assert ERRORS.kind(facts) is kind


def test_the_sources_mes_section_is_validated_by_the_adapter():
    settings = adapter_source_settings(
        "mes", SourceSettings.model_validate({"feedback": {"token_env": "PLANT1_TOKEN", "max_body_bytes": 2048}})
    )
    assert isinstance(settings, MesSourceSettings)
    assert settings.feedback.token_env == "PLANT1_TOKEN"
    assert settings.feedback.max_body_bytes == 2048
    assert settings.feedback.path == "/api/v1/feedback"
    assert settings.codec_options() == {}


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"feedback": {"token": "s3cret"}}, "feedback.token"),
        ({"feedback": {"token_env": "not a name"}}, "feedback.token_env"),
        ({"feedback": {"max_body_bytes": 0}}, "feedback.max_body_bytes"),
        ({"encoding": "gbk"}, "encoding"),
    ],
)
def test_a_wrong_mes_setting_is_named(section: dict, named: str):
    with pytest.raises(ValidationError) as caught:
        adapter_source_settings("mes", SourceSettings.model_validate(section))
    assert named in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
