"""Settings: defaults, YAML + environment precedence, errors that name the setting, redaction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import DEFAULT_AMQP_URL, Settings, load_settings, parse_duration, redact
from bridge.errors import ConfigError
from bridge.redaction import mask_url

from ..conftest import ROOT


def write(tmp_path: Path, text: str, name: str = "bridge.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_or_environment_the_defaults_apply():
    settings = load_settings(env={})
    assert settings.amqp_url == DEFAULT_AMQP_URL
    assert settings.database_url == "sqlite:///bridge-ledger.sqlite"
    assert (settings.http_port, settings.http_host) == (8080, "0.0.0.0")
    assert settings.mappings_dir == Path("mappings")
    assert (settings.log_level, settings.log_format) == ("INFO", "json")
    broker = settings.broker
    assert (broker.prefix, broker.queue_type, broker.prefetch, broker.batch_size) == (
        "bridge",
        "quorum",
        200,
        100,
    )
    assert (broker.batch_wait_ms, broker.delivery_limit, broker.in_process_attempts) == (20, 10, 3)
    assert broker.retry_tiers == (5.0, 30.0, 300.0, 1800.0)
    assert (broker.mes_exchange, broker.heartbeat_s) == ("mes.events", 30)
    assert (broker.reconnect_max_wait_s, broker.confirm_timeout_s) == (30.0, 30.0)
    assert settings.sources == {}
    assert [(r.name, r.sink, r.events, r.path, r.enabled) for r in settings.routes] == [
        ("mes", "mes", ("#",), None, True)
    ]


def test_the_shipped_example_file_is_valid():
    settings = load_settings(ROOT / "bridge.example.yaml", env={})
    assert settings.sources["sap"].timezone == "Asia/Shanghai"
    assert [route.name for route in settings.routes] == ["mes", "order-audit"]
    assert settings.routes[1].path == Path("out/order-audit.jsonl")


def test_the_file_comes_from_bridge_config_when_no_path_is_given(tmp_path):
    path = write(tmp_path, "http_port: 9000\n")
    assert load_settings(env={"BRIDGE_CONFIG": str(path)}).http_port == 9000


def test_an_explicit_path_wins_over_bridge_config(tmp_path):
    chosen = write(tmp_path, "http_port: 9001\n", "chosen.yaml")
    assert load_settings(chosen, env={"BRIDGE_CONFIG": str(tmp_path / "absent.yaml")}).http_port == 9001


def test_environment_variables_override_the_file(tmp_path):
    path = write(
        tmp_path,
        "http_port: 9000\nlog_format: text\nbroker:\n  prefetch: 100\n  batch_size: 50\n  queue_type: classic\n",
    )
    env = {
        "BRIDGE_HTTP_PORT": "9100",
        "BRIDGE_PREFETCH": "300",
        "BRIDGE_LOG_LEVEL": "debug",
        "BRIDGE_QUEUE_TYPE": "quorum",
        "BRIDGE_BROKER_PREFIX": "plant1",
        "BRIDGE_MAPPINGS_DIR": "/etc/bridge/mappings",
        "BRIDGE_HTTP_HOST": "127.0.0.1",
        "BRIDGE_LOG_FORMAT": "",  # empty counts as unset
        "BRIDGE_DIRECT_DELIVERY": "false",
    }
    settings = load_settings(path, env=env)
    assert settings.http_port == 9100
    assert settings.broker.direct_delivery is False
    assert (settings.broker.prefetch, settings.broker.batch_size) == (300, 50)
    assert (settings.broker.queue_type, settings.broker.prefix) == ("quorum", "plant1")
    assert (settings.log_level, settings.log_format) == ("DEBUG", "text")
    assert (settings.mappings_dir, settings.http_host) == (Path("/etc/bridge/mappings"), "127.0.0.1")


def test_durations_accept_units_and_plain_seconds(tmp_path):
    path = write(tmp_path, "broker:\n  retry_tiers: [500ms, 2, '5s', 1.5m, 1h]\n")
    assert load_settings(path, env={}).broker.retry_tiers == (0.5, 2.0, 5.0, 90.0, 3600.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("5s", 5.0), ("5m", 300.0), ("1h", 3600.0), ("30", 30.0), (12, 12.0), (" 2.5s ", 2.5)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "-1s", "s", "1 day", -3, True])
def test_parse_duration_rejects_nonsense(text):
    with pytest.raises(ConfigError, match="invalid duration"):
        parse_duration(text)


INVALID = [
    pytest.param("http_port: 70000\n", {}, ["http_port = 70000", "bridge.yaml:1", "65535"], id="bad-port"),
    pytest.param(
        "",
        {"BRIDGE_HTTP_PORT": "http"},
        ["http_port = 'http'", "from BRIDGE_HTTP_PORT"],
        id="port-not-a-number",
    ),
    pytest.param(
        "", {"BRIDGE_PREFETCH": "0"}, ["broker.prefetch = '0'", "from BRIDGE_PREFETCH"], id="prefetch-0"
    ),
    pytest.param(
        "broker:\n  prefetch: 0\n  batch_size: 0\n",
        {},
        ["broker.prefetch = 0", "bridge.yaml:2"],
        id="prefetch-0-in-file",
    ),
    pytest.param(
        "log_levle: DEBUG\n",
        {},
        ["log_levle", "unknown setting", "did you mean 'log_level'"],
        id="unknown-key",
    ),
    pytest.param(
        "broker:\n  prefech: 10\n",
        {},
        ["broker.prefech = 10", "bridge.yaml:2", "did you mean 'prefetch'"],
        id="unknown-nested-key",
    ),
    pytest.param(
        "sources:\n  sap:\n    tz: UTC\n",
        {},
        ["sources.sap.tz", "unknown setting", "bridge.yaml:3"],
        id="unknown-source-key",
    ),
    pytest.param(
        "broker:\n  retry_tiers: [5s, 5 minutes]\n",
        {},
        ["broker.retry_tiers[1] = '5 minutes'", "invalid duration"],
        id="bad-duration",
    ),
    pytest.param(
        "broker:\n  retry_tiers: [5s, 1m, 30s]\n",
        {},
        ["broker.retry_tiers", "strictly increasing", "bridge.yaml:2"],
        id="decreasing-tiers",
    ),
    pytest.param("broker:\n  retry_tiers: []\n", {}, ["broker.retry_tiers", "at least one"], id="no-tiers"),
    pytest.param(
        "sources:\n  sap:\n    timezone: Europe/Atlantis\n",
        {},
        ["sources.sap.timezone = 'Europe/Atlantis'", "IANA", "bridge.yaml:3"],
        id="bad-timezone",
    ),
    pytest.param("sources:\n  SAP: {}\n", {}, ["sources.SAP", "[a-z0-9_-]+"], id="bad-system-name"),
    pytest.param(
        "routes:\n  - {name: mes, sink: mes, events: ['#']}\n  - {name: mes, sink: file, events: ['#'], path: x}\n",
        {},
        ["routes[1].name = 'mes'", "already used by routes[0]", "bridge.yaml:3"],
        id="duplicate-route-name",
    ),
    pytest.param(
        "routes:\n  - name: audit\n    sink: file\n    events: ['#']\n",
        {},
        ["routes[0].path is not set", "required", "bridge.yaml:2"],
        id="file-sink-without-path",
    ),
    pytest.param(
        "routes:\n  - {name: mes, sink: mes, events: ['#'], path: out.jsonl}\n",
        {},
        ["routes[0].sink = 'mes'", "sink mes takes no setting but", "got: path"],
        id="path-on-mes-sink",
    ),
    pytest.param(
        "routes:\n  - {name: x, sink: infor_ln, events: ['#']}\n",
        {},
        ["routes[0].sink = 'infor_ln'", "bridge.yaml:2", "sink 'infor_ln' is not an installed adapter with a sink", "file, kingdee, mes, sap"],
        id="unknown-sink-adapter",
    ),
    pytest.param(
        "routes:\n  - {name: x, sink: file, events: ['#'], path: '${NO_SUCH_VAR}'}\n",
        {},
        ["routes[0].path", "${NO_SUCH_VAR} is not set", "NO_SUCH_VAR_FILE"],
        id="unset-variable",
    ),
    pytest.param(
        "routes:\n  - {name: mes, sink: mes, events: ['order.*', 'order.**']}\n",
        {},
        ["routes[0].events[1] = 'order.**'", "invalid topic pattern"],
        id="bad-topic-pattern",
    ),
    pytest.param(
        "routes:\n  - {name: mes, sink: mes, events: ['order*']}\n",
        {},
        ["routes[0].events[0] = 'order*'"],
        id="wildcard-inside-a-word",
    ),
    pytest.param(
        "routes:\n  - {name: mes, sink: mes, events: ['order..released']}\n",
        {},
        ["routes[0].events[0]"],
        id="empty-topic-word",
    ),
    pytest.param(
        "routes:\n  - {name: mes, sink: mes, events: []}\n", {}, ["routes[0].events"], id="no-events"
    ),
    pytest.param(
        "routes:\n  - {name: MES, sink: mes, events: ['#']}\n",
        {},
        ["routes[0].name = 'MES'"],
        id="bad-route-name",
    ),
    pytest.param(
        "routes:\n  - {name: x, sink: kafka, events: ['#']}\n",
        {},
        ["routes[0].sink = 'kafka'"],
        id="bad-sink",
    ),
    pytest.param("routes: []\n", {}, ["routes = []", "at least one route"], id="empty-routes"),
    pytest.param(
        "broker:\n  batch_size: 300\n",
        {},
        ["broker.batch_size = 300", "must not exceed broker.prefetch (200)", "bridge.yaml:2"],
        id="batch-size-over-prefetch",
    ),
    pytest.param(
        "",
        {"BRIDGE_PREFETCH": "50"},
        [
            "broker.batch_size = 100 (default)",
            "broker.prefetch (50)",
            "broker.prefetch: from BRIDGE_PREFETCH",
        ],
        id="default-batch-size-over-env-prefetch",
    ),
    pytest.param(
        "",
        {"BRIDGE_QUEUE_TYPE": "stream"},
        ["broker.queue_type = 'stream'", "from BRIDGE_QUEUE_TYPE"],
        id="bad-queue-type",
    ),
    pytest.param("log_format: xml\n", {}, ["log_format = 'xml'"], id="bad-log-format"),
    pytest.param(
        "", {"BRIDGE_LOG_LEVEL": "loud"}, ["log_level = 'loud'", "from BRIDGE_LOG_LEVEL"], id="bad-log-level"
    ),
    pytest.param(
        "",
        {"BRIDGE_AMQP_URL": "http://rabbit"},
        ["amqp_url = 'http://rabbit'", "amqp://"],
        id="bad-amqp-scheme",
    ),
    pytest.param(
        # a secret setting that is not a URL may be a password pasted in the wrong place: masked whole
        "database_url: bridge.sqlite\n",
        {},
        ["database_url = '***'", "bridge.yaml:1", "must be a SQLAlchemy URL"],
        id="bad-database-url",
    ),
    pytest.param("broker: 5\n", {}, ["broker = 5"], id="section-not-a-mapping"),
]


@pytest.mark.parametrize(("yaml_text", "env", "expected"), INVALID)
def test_an_invalid_setting_is_a_config_error_naming_it(tmp_path, yaml_text, env, expected):
    path = write(tmp_path, yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(tmp_path, "http_port: -1\nbroker:\n  delivery_limit: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={"BRIDGE_PREFETCH": "none"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "invalid configuration:"
    assert [line.split(" = ")[0].strip() for line in lines[1:]] == [
        "http_port",
        "broker.prefetch",
        "broker.delivery_limit",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("a: [\n", "bridge.yaml:2: invalid YAML", id="syntax"),
        pytest.param("- 1\n", "must be a mapping", id="list"),
        pytest.param("a: 1\na: 2\n", "appears twice", id="duplicate-key"),
    ],
)
def test_an_unreadable_file_is_a_config_error_naming_it(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=fragment) as caught:
        load_settings(path, env={})
    assert str(path) in str(caught.value)
    assert type(caught.value) is ConfigError


def test_sections_with_everything_commented_out_mean_defaults(tmp_path):
    path = write(tmp_path, "broker:\n  # prefetch: 10\nsources:\nroutes:\n")
    assert load_settings(path, env={}) == load_settings(env={})
    assert load_settings(path, env={"BRIDGE_PREFETCH": "300"}).broker.prefetch == 300


def test_an_empty_file_means_defaults(tmp_path):
    assert load_settings(write(tmp_path, "# nothing yet\n"), env={}) == load_settings(env={})


@pytest.mark.parametrize("how", ["argument", "BRIDGE_CONFIG"])
def test_a_missing_file_is_a_config_error(tmp_path, how):
    missing = tmp_path / "nope.yaml"
    path, env = (missing, {}) if how == "argument" else (None, {"BRIDGE_CONFIG": str(missing)})
    with pytest.raises(ConfigError, match="nope.yaml does not exist"):
        load_settings(path, env=env)


def test_secrets_can_be_read_from_files(tmp_path):
    amqp = write(tmp_path, "amqps://bridge:s3cret@rabbit:5671/plant\n", "amqp_url")
    database = write(tmp_path, "postgresql+psycopg://bridge:pg-pw@db/bridge", "db_url")
    settings = load_settings(
        env={"BRIDGE_AMQP_URL_FILE": str(amqp), "BRIDGE_DATABASE_URL_FILE": str(database)}
    )
    assert settings.amqp_url == "amqps://bridge:s3cret@rabbit:5671/plant"
    assert settings.database_url == "postgresql+psycopg://bridge:pg-pw@db/bridge"


def test_a_secret_file_that_cannot_be_read_is_named(tmp_path):
    with pytest.raises(ConfigError, match="BRIDGE_AMQP_URL_FILE: cannot read .*absent"):
        load_settings(env={"BRIDGE_AMQP_URL_FILE": str(tmp_path / "absent")})


def test_a_secret_set_twice_is_an_error(tmp_path):
    amqp = write(tmp_path, "amqp://a:b@h/", "amqp_url")
    with pytest.raises(ConfigError, match="BRIDGE_AMQP_URL or BRIDGE_AMQP_URL_FILE, not both"):
        load_settings(env={"BRIDGE_AMQP_URL": "amqp://h/", "BRIDGE_AMQP_URL_FILE": str(amqp)})


def test_a_bad_secret_is_reported_without_its_password(tmp_path):
    secret = write(tmp_path, "http://bridge:s3cret@rabbit/", "amqp_url")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"BRIDGE_AMQP_URL_FILE": str(secret)})
    message = str(caught.value)
    assert "amqp_url = 'http://bridge:***@rabbit/'" in message
    assert f"from BRIDGE_AMQP_URL_FILE ({secret})" in message
    assert "s3cret" not in message


def test_settings_are_frozen():
    settings = load_settings(env={})
    with pytest.raises(ValueError, match="frozen"):
        settings.http_port = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        settings.broker.prefetch = 1  # type: ignore[misc]


def test_redacted_settings_hide_passwords_and_keep_everything_else():
    settings = load_settings(
        env={
            "BRIDGE_AMQP_URL": "amqp://bridge:s3cret@rabbit:5672/%2F",
            "BRIDGE_DATABASE_URL": "postgresql+psycopg://bridge:pg-pw@db:5432/bridge",
        }
    )
    data = settings.redacted()
    assert data["amqp_url"] == "amqp://bridge:***@rabbit:5672/%2F"
    assert data["database_url"] == "postgresql+psycopg://bridge:***@db:5432/bridge"
    assert data["broker"]["retry_tiers"] == [5.0, 30.0, 300.0, 1800.0]
    assert data["routes"] == [{"name": "mes", "sink": "mes", "events": ["#"], "sites": [], "enabled": True, "processes": 1}]
    for text in (str(data), repr(settings), str(settings)):
        assert "s3cret" not in text
        assert "pg-pw" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "amqp://guest:guest@localhost:5672/%2F", "amqp://guest:***@localhost:5672/%2F", id="amqp"
        ),
        pytest.param(
            "connect to postgresql+psycopg://u:p4ss@db/x failed",
            "connect to postgresql+psycopg://u:***@db/x failed",
            id="inside-a-sentence",
        ),
        pytest.param("redis://:only-pw@cache:6379/0", "redis://:***@cache:6379/0", id="no-user"),
        pytest.param("amqp://u:p@ss@rabbit/", "amqp://u:***@rabbit/", id="at-sign-in-password"),
        pytest.param(
            '{"url": "amqps://a:b@h", "other": "x"}', '{"url": "amqps://a:***@h", "other": "x"}', id="in-json"
        ),
        pytest.param(
            "https://mes/api?token=abc123&x=1", "https://mes/api?token=***&x=1", id="token-parameter"
        ),
        pytest.param(
            "jdbc:sap://h?user=u&password=pw", "jdbc:sap://h?user=u&password=***", id="password-parameter"
        ),
        # a raw password may hold " and amqp://b:" itself: the text between two URLs on one line is
        # masked (issue 7: passwords with spaces and "@" were shown)
        pytest.param("two: amqp://a:1@h1 and amqp://b:2@h2", "two: amqp://a:***@h2", id="two-urls"),
        pytest.param("amqp://guest@localhost/", "amqp://guest@localhost/", id="user-without-password"),
        pytest.param("http://mes:8080/api/orders", "http://mes:8080/api/orders", id="port-is-not-a-password"),
        pytest.param("no urls here: a:b@c", "no urls here: a:b@c", id="no-scheme"),
    ],
)
def test_redact_hides_credentials_in_any_text(text, expected):
    assert redact(text) == expected


def test_settings_can_be_built_directly_for_tests():
    settings = Settings(
        http_port=0, routes=[{"name": "audit", "sink": "file", "events": ["order.*"], "path": "a"}]
    )
    assert settings.routes[0].path == Path("a")


# -- secrets in configuration errors (issue 7) ------------------------------------------

LONG_PASSWORD = "Sup3rLongPassw0rd" * 6


@pytest.mark.parametrize(
    ("env", "line"),
    [
        pytest.param(
            {"BRIDGE_DATABASE_URL": f"Postgresql://u:{LONG_PASSWORD}@h/db"},
            "bridge: error: invalid configuration: database_url = 'Postgresql://u:***@h/db' "
            "(from BRIDGE_DATABASE_URL): must be a SQLAlchemy URL such as sqlite:///bridge-ledger.sqlite "
            "(scheme is 'Postgresql')",
            id="capitalised-scheme-long-password",
        ),
        pytest.param(
            {"BRIDGE_AMQP_URL": "amqpx://u:pw@h/"},
            "bridge: error: invalid configuration: amqp_url = 'amqpx://u:***@h/' (from BRIDGE_AMQP_URL): "
            "must be an amqp:// or amqps:// URL (scheme is 'amqpx')",
            id="unusual-scheme",
        ),
    ],
)
def test_the_cli_shows_a_bad_secret_url_in_one_line_with_its_password_masked(tmp_path, env, line):
    proc = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "topology", "declare"],
        capture_output=True,
        text=True,
        check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}, **env},
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [line]


@pytest.mark.parametrize("where", ["file", "env", "secret-file"])
@pytest.mark.parametrize("password", [pytest.param("pw-1", id="short"), pytest.param(LONG_PASSWORD, id="long")])
def test_a_password_is_masked_before_the_value_is_cut(tmp_path, where, password):
    url = f"Postgresql://bridge:{password}@db.plant.local:5432/ledger?sslmode=require&application_name=bridge"
    env: dict[str, str] = {}
    path = None
    if where == "file":
        path = write(tmp_path, f"database_url: '{url}'\n")
    elif where == "env":
        env = {"BRIDGE_DATABASE_URL": url}
    else:
        env = {"BRIDGE_DATABASE_URL_FILE": str(write(tmp_path, url + "\n", "db_url"))}
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    message = str(caught.value)
    assert "database_url = 'Postgresql://bridge:***@db.plant.local:5432/ledger?sslmode=require&applicati..." in message
    shown = message.split(" (in ", maxsplit=1)[0].split(" (from ", maxsplit=1)[0]  # the temporary path names this test
    assert [password[i : i + 4] for i in range(len(password) - 3) if password[i : i + 4] in shown] == []


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        pytest.param("BRIDGE_AMQP_URL", "amqp://bridge:pa/ss@rabbit/", id="amqp-raw-slash"),
        pytest.param("BRIDGE_AMQP_URL", "amqp://bridge:12/ss@rabbit/", id="amqp-raw-slash-after-digits"),
        pytest.param("BRIDGE_AMQP_URL", "amqp://bridge:p[ss@rabbit/", id="amqp-raw-bracket"),
        pytest.param("BRIDGE_DATABASE_URL", "postgresql://bridge:p@ss@db/ledger", id="database-raw-at"),
        pytest.param("BRIDGE_DATABASE_URL", "postgresql://bridge:pw@db:54x2/ledger", id="database-bad-port"),
    ],
)
def test_a_url_the_client_would_misread_is_refused_with_a_hint_and_no_echo(setting, url):
    with pytest.raises(ConfigError) as caught:
        load_settings(env={setting: url})
    message = str(caught.value)
    assert "percent-encoded (%2F for a slash, %40 for an at sign" in message
    shown = message.split(" = ", 1)[1].split(" (from ", 1)[0]
    assert shown == repr(mask_url(url)), shown
    for piece in ("pa/ss", "12/ss", "p[ss", "p@ss", "ss@"):
        assert piece not in message


def test_a_percent_encoded_password_is_read_as_the_client_reads_it():
    settings = load_settings(env={"BRIDGE_AMQP_URL": "amqp://bridge:pa%2Fss%40x@rabbit/"})
    assert settings.amqp_url.reveal() == "amqp://bridge:pa%2Fss%40x@rabbit/"
    assert str(settings.amqp_url) == "amqp://bridge:***@rabbit/"


def test_settings_built_directly_never_echo_a_secret_in_their_error():
    with pytest.raises(ValueError, match="amqp:// or amqps://") as caught:
        Settings(amqp_url="http://bridge:s3cret-direct@rabbit/")
    assert "s3cret-direct" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"amqp://u:\xff\xfe@h/", "is not UTF-8 text (byte offset 9)", id="not-utf8"),
        pytest.param(b"x" * 70_000, "is larger than 65536 bytes: not a secret file", id="too-large"),
    ],
)
def test_a_secret_file_that_is_not_a_secret_is_named_without_its_content(tmp_path, content, expected):
    secret = tmp_path / "amqp_url"
    secret.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"BRIDGE_AMQP_URL_FILE": str(secret)})
    assert str(caught.value) == f"BRIDGE_AMQP_URL_FILE: {secret} {expected}"


def test_a_secret_file_on_dev_zero_is_refused_without_reading_it_all():
    with pytest.raises(ConfigError, match="larger than 65536 bytes"):
        load_settings(env={"BRIDGE_DATABASE_URL_FILE": "/dev/zero"})


def test_secrets_read_from_files_are_only_ever_shown_masked(tmp_path):
    amqp = write(tmp_path, "amqps://bridge:file-s3cret@rabbit:5671/plant\n", "amqp_url")
    settings = load_settings(env={"BRIDGE_AMQP_URL_FILE": str(amqp)})
    for text in (repr(settings), str(settings), str(settings.redacted()), settings.model_dump_json(), f"{settings.amqp_url}"):
        assert "file-s3cret" not in text
        assert "amqps://bridge:***@rabbit:5671/plant" in text


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        pytest.param("password: hunter2-x\n", "password = '***'", id="unknown-setting-named-password"),
        pytest.param(
            "broker:\n  api_token: tok-12345\n", "broker.api_token = '***'", id="unknown-nested-setting-named-token"
        ),
        pytest.param(
            "http_host: [amqp://u:list-secret@h]\n", "'amqp://u:***@h'", id="a-url-inside-a-wrong-type"
        ),
    ],
)
def test_values_of_settings_named_like_secrets_are_masked_by_name(tmp_path, yaml_text, expected):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, yaml_text), env={})
    message = str(caught.value)
    assert expected in message
    for secret in ("hunter2-x", "tok-12345", "list-secret"):
        assert secret not in message


def test_variables_in_the_file_come_from_the_environment_or_a_secret_file(tmp_path):
    secret = tmp_path / "out-name"
    secret.write_text("from-file.jsonl\n")
    path = write(
        tmp_path,
        "routes:\n  - {name: a, sink: file, events: ['#'], path: '${OUT_DIR}/${OUT_NAME}'}\n"
        "  - {name: b, sink: file, events: ['#'], path: '${MISSING:-fallback.jsonl}'}\n"
        "  - {name: c, sink: file, events: ['#'], path: 'cost-$${literal}'}\n",
    )
    settings = load_settings(path, env={"OUT_DIR": "/data", "OUT_NAME_FILE": str(secret)})
    assert [str(r.path) for r in settings.routes] == ["/data/from-file.jsonl", "fallback.jsonl", "cost-${literal}"]


def test_a_variable_set_twice_is_refused(tmp_path):
    path = write(tmp_path, "routes:\n  - {name: a, sink: file, events: ['#'], path: '${P}'}\n")
    with pytest.raises(ConfigError, match=r"routes\[0\]\.path: set P or P_FILE, not both"):
        load_settings(path, env={"P": "x", "P_FILE": "/nope"})
