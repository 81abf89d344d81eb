"""Redaction: the pattern pass over any text, and secret values that mask themselves."""

from __future__ import annotations

import copy
import json
import pickle
import time

import pika
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from bridge.config import redact as redact_from_config
from bridge.redaction import (
    MASK,
    REVEAL_SECRETS,
    Secret,
    SecretUrl,
    is_secret_key,
    mask_url,
    redact,
    redact_data,
)

from ..conftest import DATA
from .redaction_shapes import SHAPES, Shape, leaked_fragments, neutral_like, passwords, secret_forms

SHAPE_PARAMS = [pytest.param(shape, id=shape.id) for shape in SHAPES]

# -- every shape of the corpus ------------------------------------------------------------


def test_the_corpus_readme_describes_every_file():
    folder = DATA / "hostile" / "secrets"
    readme = (folder / "README.md").read_text(encoding="utf-8")
    for path in folder.iterdir():
        assert path.name == "README.md" or f"`{path.name}`" in readme


@pytest.mark.parametrize("shape", SHAPE_PARAMS)
def test_redact_hides_the_secret_of_every_shape_and_keeps_the_rest(shape: Shape):
    output = redact(shape.text(shape.secret))
    assert shape.encoded(shape.secret) not in output
    assert leaked_fragments(output, secret_forms(shape, shape.secret), redact(shape.text("N"))) == []
    assert MASK in output
    for part in shape.keep:
        assert part in output


@pytest.mark.parametrize("shape", SHAPE_PARAMS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_password_in_any_shape_is_masked_whole(shape: Shape, data: st.DataObject):
    secret = data.draw(passwords(shape), label="password")
    # the redacted text is the same whatever the password: none of it, however short, is left
    assert redact(shape.text(secret)) == redact(shape.text(neutral_like(secret)))


# -- the shapes of the old redact() tests, and what must stay untouched --------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("http://mes:8080/api/orders", "http://mes:8080/api/orders", id="port-is-not-a-password"),
        pytest.param("amqp://guest@localhost/", "amqp://guest@localhost/", id="user-without-password"),
        pytest.param("no urls here: a:b@c", "no urls here: a:b@c", id="no-scheme"),
        pytest.param("ops@plant.example, 10:30", "ops@plant.example, 10:30", id="mail-and-time"),
        pytest.param("bypass=1 passenger=2 compass: N", "bypass=1 passenger=2 compass: N", id="pass-inside-words"),
        pytest.param("on_missing: pass", "on_missing: pass", id="pass-as-a-value"),
        pytest.param(
            "two lines: amqp://a:1@h1\namqp://b:2@h2",
            "two lines: amqp://a:***@h1\namqp://b:***@h2",
            id="one-url-per-line-keeps-each-host",
        ),
        pytest.param(
            "two: amqp://a:1@h1 and amqp://b:2@h2",
            "two: amqp://a:***@h2",
            id="two-urls-on-one-line-mask-the-text-between",
        ),
        pytest.param(
            "jdbc:sap://h?user=u&password=pw&x=1", "jdbc:sap://h?user=u&password=***&x=1", id="only-the-value"
        ),
        pytest.param("token=a&b&c=1", "token=***&c=1", id="ampersand-inside-an-unquoted-value"),
        pytest.param("password=", "password=", id="empty-value"),
        pytest.param("password='abc", "password='***", id="unterminated-quote"),
        pytest.param("redirect=h%3Fpassword%3Dx", "redirect=h%3Fpassword%3D***", id="percent-encoded-equals"),
        pytest.param("db_pass=zz pw: 3", "db_pass=*** pw: ***", id="short-key-names"),
    ],
)
def test_redact_masks_only_what_may_be_secret(text, expected):
    assert redact(text) == expected


def test_redact_is_still_importable_from_bridge_config():
    assert redact_from_config is redact


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a://b:" * 100_000, id="many-url-heads-without-at"),
        pytest.param("a://b:c@" * 100_000, id="many-urls"),
        pytest.param("token" * 200_000, id="a-long-word-of-secret-words"),
        pytest.param("password=" * 100_000, id="many-keys"),
        pytest.param("x" * 1_000_000 + "://u:p@h", id="a-long-scheme"),
        pytest.param("<password" * 100_000, id="many-open-tags"),
        pytest.param("token=" + "&" * 500_000, id="many-ampersands"),
    ],
)
def test_redact_takes_linear_time_on_hostile_text(text):
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 5  # quadratic would take hours


# -- by key name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        *(
            pytest.param(name, True, id=name)
            for name in (
                "password",
                "DB_PASSWORD",
                "passwd",
                "pwd",
                "client_secret",
                "app_secret",
                "appSecret",
                "secret_key",
                "private_key",
                "access_token",
                "X-Api-Signature",
                "kdservice-sessionid",
                "JSESSIONID",
                "Authorization",
                "Set-Cookie",
                "api_key",
                "credentials",
                "db_pass",
            )
        ),
        *(
            pytest.param(name, False, id=name)
            for name in ("amqp_url", "user", "host", "bypass", "compass", "passenger", "message_id", "plant")
        ),
    ],
)
def test_secret_key_names(name, secret):
    assert is_secret_key(name) is secret


def test_redact_data_masks_by_name_by_type_and_by_pattern():
    data = {
        "password": 1234,
        "appSecret": {"nested": "x"},
        "netloc": "bridge:pw@rabbit",
        "token": None,
        "passwordless": True,
        "url": SecretUrl("amqp://u:pw@h/"),
        "note": "amqp://a:b@c",
        "items": ("password=x", 5),
    }
    assert redact_data(data) == {
        "password": MASK,
        "appSecret": MASK,
        "netloc": "bridge:***@rabbit",
        "token": None,
        "passwordless": True,
        "url": "amqp://u:***@h/",
        "note": "amqp://a:***@c",
        "items": ["password=***", 5],
    }


# -- structural: URLs and Secret values --------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("amqp://guest:guest@localhost:5672/%2F", "amqp://guest:***@localhost:5672/%2F", id="amqp"),
        pytest.param("Postgresql://u:pw@h/db", "Postgresql://u:***@h/db", id="capital-scheme"),
        pytest.param("amqp://u:p@ss@h/", "amqp://u:***@h/", id="at-in-password"),
        pytest.param("amqp://u:p/w?x#y@h/v", "amqp://u:***@h/v", id="slash-query-hash-in-password"),
        pytest.param("amqp://u:pw@[::1]:5672/", "amqp://u:***@[::1]:5672/", id="ipv6"),
        pytest.param(
            "postgresql://u:pw@db/x?password=qp&sslmode=require",
            "postgresql://u:***@db/x?password=***&sslmode=require",
            id="password-in-the-query",
        ),
        pytest.param(
            "amqp://token:pw@token.example:5672/", "amqp://token:***@token.example:5672/", id="secret-like-user-and-host"
        ),
        pytest.param("sqlite:///bridge-ledger.sqlite", "sqlite:///bridge-ledger.sqlite", id="no-credentials"),
        pytest.param("amqp://guest@h/", "amqp://guest@h/", id="user-only"),
        pytest.param("bridge.sqlite", MASK, id="not-a-url-is-masked-whole"),
        pytest.param("hunter2", MASK, id="a-bare-password"),
        pytest.param("", "", id="empty"),
    ],
)
def test_mask_url_masks_the_password_component(url, shown):
    assert mask_url(url) == shown


@settings(max_examples=200, deadline=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1),
    percent=st.booleans(),
)
def test_mask_url_hides_any_password(password, percent):
    from urllib.parse import quote

    written = quote(password, safe="") if percent else password
    assert mask_url(f"postgresql+psycopg://bridge:{written}@db:5432/ledger") == (
        "postgresql+psycopg://bridge:***@db:5432/ledger"
    )


def test_a_secret_url_shows_itself_masked_in_every_text_form():
    url = SecretUrl("amqp://bridge:s3cret@rabbit:5672/%2F")
    shown = "amqp://bridge:***@rabbit:5672/%2F"
    assert str(url) == f"{url}" == "%s" % url == "{}".format(url) == shown  # noqa: UP031, UP032
    assert repr(url) == repr(shown)
    assert f"{url:>40}" == f"{shown:>40}"
    assert url.masked() == shown
    assert url.reveal() == "amqp://bridge:s3cret@rabbit:5672/%2F"
    assert type(url.reveal()) is str
    assert url == "amqp://bridge:s3cret@rabbit:5672/%2F"  # it is the real value for code


def test_a_plain_secret_is_masked_whole():
    secret = Secret("kd-app-s3cret")
    assert (str(secret), repr(secret), secret.reveal()) == (MASK, repr(MASK), "kd-app-s3cret")
    assert str(Secret("")) == ""


def test_libraries_read_the_real_value_of_a_secret_url():
    params = pika.URLParameters(SecretUrl("amqp://bridge:p%40ss@rabbit:5673/plant"))
    assert (params.host, params.port, params.virtual_host) == ("rabbit", 5673, "plant")
    assert (params.credentials.username, params.credentials.password) == ("bridge", "p@ss")
    url = make_url(SecretUrl("postgresql+psycopg://bridge:pg-pw@db:5432/ledger"))
    assert (url.username, url.password, url.host, url.database) == ("bridge", "pg-pw", "db", "ledger")


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_secret_survives_pickling_and_copies(protocol):
    url = SecretUrl("amqp://u:pw@h/")
    again = pickle.loads(pickle.dumps(url, protocol=protocol))
    assert type(again) is SecretUrl
    assert again.reveal() == "amqp://u:pw@h/"
    assert copy.deepcopy(url).reveal() == "amqp://u:pw@h/"


class _Credentials(BaseModel):
    url: SecretUrl
    app_secret: Secret


def test_secret_fields_dump_masked_to_json_and_revealed_only_on_request():
    model = _Credentials(url="amqp://u:pw@h/", app_secret="kd-s3cret")
    assert isinstance(model.url, SecretUrl)
    assert json.loads(model.model_dump_json()) == {"url": "amqp://u:***@h/", "app_secret": MASK}
    assert model.model_dump(mode="json") == {"url": "amqp://u:***@h/", "app_secret": MASK}
    assert model.model_dump(mode="json", context=REVEAL_SECRETS) == {
        "url": "amqp://u:pw@h/",
        "app_secret": "kd-s3cret",
    }
    assert "pw@" not in repr(model)
    assert "kd-s3cret" not in str(model)
    python = model.model_dump()
    assert isinstance(python["url"], SecretUrl)
    assert python["app_secret"].reveal() == "kd-s3cret"


def _redact_without_shortcuts(text: str) -> str:
    from bridge import redaction

    text = redaction._mask_urls(text)
    text = redaction._XML_ELEMENT.sub(rf"\1{MASK}", text)
    text = redaction._BEARER.sub(rf"\1{MASK}", text)
    return redaction._PAIR.sub(redaction._mask_pair, text)


_PIECES = st.sampled_from(
    [*"aAsSkKiI:=<>@/'\" &;\nſıİK", "password", "PASSWORD", "Token", "bearer ", "<Password>", "netloc=", "amqp://u:"]
)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_PIECES, max_size=30).map("".join))
def test_the_fast_paths_of_redact_change_nothing(text):
    assert redact(text) == _redact_without_shortcuts(text)
