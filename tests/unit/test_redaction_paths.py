"""Every secret shape through every path a secret takes out of the bridge.

Paths: configuration errors (environment, file, ``*_FILE``, as an ordinary and as a secret
setting), logs (JSON and text; the message, an ``extra=`` field, a ``log.exception``
traceback), dead-letter and retry headers, ``/readyz`` bodies, ``repr(settings)`` and
``Settings.redacted()``. Each shape is tried with its example secret, a long one (past the
80-character cut of error values) and, in a property test, arbitrary passwords.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge.broker.messages import Delivery
from bridge.broker.names import Names
from bridge.config import Settings, load_settings
from bridge.errors import ConfigError, TransientError
from bridge.observability import HealthServer, configure_logging, run_checks
from bridge.pipeline.retry import RetryPolicy
from bridge.redaction import MASK

from .redaction_shapes import SHAPES, Shape, leaked_fragments, neutral_like, passwords, secret_forms

_WORK = Path(tempfile.mkdtemp(prefix="bridge-redaction-"))  # one place, so baselines name the same files


def _config_error(path: str | None = None, **env: str) -> str:
    try:
        settings_ = load_settings(path, env=env)
    except ConfigError as exc:
        return str(exc)
    return repr(settings_) + json.dumps(settings_.redacted())  # a valid value: how settings show it


def via_env(text: str) -> str:
    return _config_error(BRIDGE_HTTP_PORT=text)


def via_file(text: str) -> str:
    path = _WORK / "bridge.yaml"
    path.write_text(yaml.safe_dump({"log_level": text}), encoding="utf-8")
    return _config_error(str(path))


def via_secret_env(text: str) -> str:
    return _config_error(BRIDGE_DATABASE_URL=text)


def via_secret_file(text: str) -> str:
    path = _WORK / "amqp_url"
    path.write_text(text, encoding="utf-8")
    return _config_error(BRIDGE_AMQP_URL_FILE=str(path))


@contextmanager
def _logs(fmt: str) -> Iterator[io.StringIO]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stream = io.StringIO()
    configure_logging("INFO", fmt, stream)
    try:
        yield stream
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def _without_time(fmt: str, output: str) -> str:
    if fmt == "json":
        return "\n".join(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "ts"}, ensure_ascii=False)
            for line in output.splitlines()
        )
    return output.split(" ", 1)[1]  # the timestamp leads the first line


def _log_path(fmt: str, how: str) -> Callable[[str], str]:
    def log(text: str) -> str:
        logger = logging.getLogger("bridge.test.redaction")
        with _logs(fmt) as stream:
            if how == "message":
                logger.warning("broker said: %s", text)
            elif how == "extra":
                logger.warning("broker said", extra={"detail": text, "reply": {"text": text}})
            else:
                try:
                    raise TransientError(f"cannot deliver: {text}")
                except TransientError:
                    logger.exception("delivery failed")
        return _without_time(fmt, stream.getvalue())

    return log


def via_dead_letter(text: str) -> str:
    policy = RetryPolicy(Names(prefix="t"), tiers=(5,))
    delivery = Delivery("t.deliver.mes", 1, "t.canonical", "order.released", b"{}", "m1", None, None, {}, False)
    error = TransientError(f"MES refused: {text}")
    retry, _ = policy.retry_message(delivery, error, "deliver")
    dead = policy.dead_letter_message(delivery, error, "deliver")
    exhausted, _ = policy.retry_message(
        Delivery("t.deliver.mes", 2, "", "t.deliver.mes", b"{}", "m1", None, None, retry.headers, True),
        error,
        "deliver",
    )
    shown = [
        {k: v for k, v in message.headers.items() if "failure" not in k}
        for message in (retry, dead, exhausted)
    ]
    return json.dumps(shown, ensure_ascii=False)


def via_readyz_checks(text: str) -> str:
    def check() -> None:
        raise TransientError(f"cannot reach the broker: {text}")

    return json.dumps(run_checks({"broker": check}), ensure_ascii=False)


def via_settings(text: str) -> str:
    built = Settings(http_host=text)
    return "\n".join((repr(built), str(built), json.dumps(built.redacted(), ensure_ascii=False)))


@dataclass(frozen=True)
class Path_:
    """One way out of the bridge; ``keeps``: the non-secret parts of a shape must stay readable."""

    name: str
    show: Callable[[str], str]
    keeps: bool


PATHS = [
    # configuration errors cut values to 80 characters and mask a secret setting whole when it
    # is not a URL, so the readable parts are checked on the other paths
    Path_("config-env", via_env, keeps=False),
    Path_("config-file", via_file, keeps=False),
    Path_("config-secret-env", via_secret_env, keeps=False),
    Path_("config-secret-file", via_secret_file, keeps=False),
    *(
        Path_(f"log-{fmt}-{how}", _log_path(fmt, how), keeps=True)
        for fmt in ("json", "text")
        for how in ("message", "extra", "exception")
    ),
    Path_("dead-letter-headers", via_dead_letter, keeps=True),
    Path_("readyz", via_readyz_checks, keeps=True),
    Path_("settings", via_settings, keeps=True),
]


def _long(secret: str) -> str:
    return secret * (120 // len(secret) + 1)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def readable(output: str) -> str:
    """The output, and the text inside it when it is JSON (lines): what a reader would see."""
    decoded = []
    for line in output.splitlines():
        try:
            decoded.extend(_strings(json.loads(line)))
        except ValueError:
            continue
    return "\n".join([output, *decoded])


def assert_hidden(path: Path_, shape: Shape, secret: str) -> None:
    output = readable(path.show(shape.text(secret)))
    baseline = readable(path.show(shape.text(neutral_like(secret))))
    assert leaked_fragments(output, secret_forms(shape, secret), baseline) == [], output
    if path.keeps:
        for part in shape.keep:
            assert part in output, output


@pytest.mark.parametrize("length", ["example", "long"])
@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in PATHS])
@pytest.mark.parametrize("shape", [pytest.param(s, id=s.id) for s in SHAPES])
def test_no_secret_shape_leaves_by_any_path(shape: Shape, path: Path_, length: str):
    assert_hidden(path, shape, shape.secret if length == "example" else _long(shape.secret))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_no_password_leaves_by_any_path(data: st.DataObject):
    shape = data.draw(st.sampled_from(SHAPES), label="shape")
    secret = data.draw(passwords(shape, min_size=4), label="password")
    for path in PATHS:
        assert_hidden(path, shape, secret)


# -- the HTTP endpoint itself ---------------------------------------------------------------


class _FailingCheck:
    error = TransientError("")

    def __call__(self) -> None:
        raise self.error


@pytest.fixture(scope="module")
def health() -> Iterator[tuple[HealthServer, _FailingCheck]]:
    check = _FailingCheck()
    with HealthServer("127.0.0.1", 0, {"broker": check, "database": lambda: None}) as server:
        yield server, check


def _readyz_body(server: HealthServer) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/readyz", timeout=10) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.read().decode()


@pytest.mark.parametrize("shape", [pytest.param(s, id=s.id) for s in SHAPES])
def test_readyz_bodies_carry_no_secret(health, shape: Shape):
    server, check = health
    check.error = TransientError(f"cannot reach {shape.text(shape.secret)}")
    body = _readyz_body(server)
    check.error = TransientError(f"cannot reach {shape.text('N')}")
    baseline = _readyz_body(server)
    assert leaked_fragments(body, secret_forms(shape, shape.secret), baseline) == []
    assert json.loads(body)["status"] == "unavailable"
    assert MASK in body


# -- secret settings themselves ----------------------------------------------------------


def _refusal_of(password: str) -> str:
    try:
        Settings(amqp_url=f"amqp://bridge:{password}@rabbit:5672/plant",
                 database_url=f"postgresql+psycopg://ledger:{password}@db:5432/bridge")
    except ValidationError as exc:
        return str(exc)
    return ""


@settings(max_examples=100, deadline=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=4),
    percent=st.booleans(),
)
def test_secret_settings_show_user_host_and_database_but_never_the_password(password, percent):
    from urllib.parse import quote

    written = quote(password, safe="") if percent else password
    amqp_url = f"amqp://bridge:{written}@rabbit:5672/plant"
    database_url = f"postgresql+psycopg://ledger:{written}@db:5432/bridge"
    forms = {password, written, repr(password)[1:-1]}
    baseline = "\n".join(
        (
            repr(Settings()),
            json.dumps(Settings().redacted()),
            "amqp://bridge:***@rabbit:5672/plant",
            "postgresql+psycopg://ledger:***@db:5432/bridge",
        )
    )
    try:
        built = Settings(amqp_url=amqp_url, database_url=database_url)
    except ValidationError as exc:  # a raw "/", "[" ... that pika or SQLAlchemy would misread
        refused = str(exc)
    else:
        refused = None
    if refused is not None:
        assert not percent
        assert "percent-encoded" in refused
        # the refusal's own words ("a URL pika can read") are no leak of a password "/read"
        assert leaked_fragments(refused, forms, baseline + "\n" + _refusal_of("/")) == []
        return
    shown = "\n".join((repr(built), str(built), json.dumps(built.redacted()), built.model_dump_json()))
    assert leaked_fragments(shown, forms, baseline) == []
    assert "amqp://bridge:***@rabbit:5672/plant" in shown
    assert "postgresql+psycopg://ledger:***@db:5432/bridge" in shown
    assert built.amqp_url.reveal() == amqp_url


def test_a_dead_letter_written_before_redaction_is_shown_redacted():
    from bridge.broker.dlq import to_dead_letter
    from bridge.broker.messages import Headers

    headers = {
        Headers.ERROR_CLASS: "TransientError",
        Headers.ERROR_MESSAGE: "MES refused {'password': 'old-s3cret'} from amqp://bridge:old-pw@rabbit/",
    }
    letter = to_dead_letter(Delivery("t.deliver.mes.dlq", 1, "", "t.deliver.mes", b"{}", "m1", None, None, headers, False))
    assert letter.error_message == "MES refused {'password': '***'} from amqp://bridge:***@rabbit/"


def test_a_404_body_does_not_echo_a_secret_in_the_path(health):
    server, _ = health
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/amqp://u:path-s3cret@h/", timeout=10)
    except urllib.error.HTTPError as error:
        with error:
            status, body = error.code, error.read().decode()
    assert status == 404
    assert json.loads(body) == {"status": "not found", "path": "/amqp://u:***@h/"}
