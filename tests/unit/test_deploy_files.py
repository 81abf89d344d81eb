"""The deployment files agree with the project and with each other (issue 11): the Dockerfile
(parsed here: stages, instructions, its COPY sources against .dockerignore, its health check run
against a real health endpoint), docker-compose.yml (services, images, mounted files,
dependencies, health checks, ports, the demo credentials on both ends, the bridge's compose
configuration loaded with its env file) and deploy/k8s/ (selectors, probes, resources, secrets
as mounted files, the configuration loaded with the Deployment's env, the mappings ConfigMap laid
out as the kubelet lays it out and loaded by the mapping catalog).

Neither Docker nor a cluster can be reached where the suite runs, so nothing here builds or
starts an image. hadolint, kubernetes-validate and check-jsonschema (the compose spec) run when
they are installed (docs/operations.md, "Checking the deployment files"), and are skipped
otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bridge.config import load_settings
from bridge.config_sources import _SECRET_VARS
from bridge.ledger import Ledger
from bridge.mapping.catalog import LOOKUPS_DIR, MappingCatalog, mapping_files
from bridge.observability import HealthServer
from bridge.runtime import names_for
from tests.polling import free_port

from ..conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_CONFIG = ROOT / "deploy/compose/bridge.yaml"
COMPOSE_ENV = ROOT / "deploy/compose/demo.env"
K8S = ROOT / "deploy/k8s"

#: what the other deployment files of issue 11 provide, mounted by docker-compose.yml
MONITORING_FILES = (
    "deploy/prometheus/prometheus.yml",
    "deploy/prometheus/alerts.yml",
    "deploy/grafana/provisioning/datasources/prometheus.yml",
    "deploy/grafana/provisioning/dashboards/bridge.yml",
    "deploy/grafana/dashboards/bridge.json",
)


# -- a small Dockerfile parser ------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword, the text after it (continuations joined), its line."""

    keyword: str
    text: str
    line: int

    def flags(self) -> tuple[dict[str, str], str]:
        """The leading ``--name=value`` flags and the rest (``COPY --from=builder a b``)."""
        rest, found = self.text, {}
        while rest.startswith("--"):
            token, _, rest = rest.partition(" ")
            name, _, value = token[2:].partition("=")
            found[name] = value
            rest = rest.lstrip()
        return found, rest

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction (after any flags), else None."""
        _, rest = self.flags()
        if not rest.startswith("["):
            return None
        value = json.loads(rest)
        assert isinstance(value, list)
        assert all(isinstance(item, str) for item in value)
        return value


@dataclass
class Stage:
    """A ``FROM`` and what follows it."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.base} has no {keyword}"
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for token in shlex.split(instruction.text):
                name, sep, value = token.partition("=")
                assert sep, f"line {instruction.line}: ENV {token!r} is not NAME=value"
                values[name] = value
        return values

    def run_text(self) -> str:
        return "\n".join(i.text for i in self.all("RUN"))


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with backslash continuations joined, comments dropped (a
    comment line inside a continuation is dropped as Docker drops it)."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield start, (pending + stripped).strip()
        pending = ""
    assert not pending, "the Dockerfile ends inside a continuation"


def parse_dockerfile(text: str) -> list[Stage]:
    """The stages, with global ``ARG`` defaults substituted into ``FROM``."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line, content in logical_lines(text):
        keyword, _, rest = content.partition(" ")
        instruction = Instruction(keyword.upper(), rest.strip(), line)
        if instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.text.partition("=")
            args[name] = default
        elif instruction.keyword == "FROM":
            parts = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m[1] or m[2]], instruction.text).split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        else:
            assert stages, f"line {line}: {keyword} before the first FROM"
            stages[-1].instructions.append(instruction)
    return stages


# -- .dockerignore, as Docker reads it (patterns, ! exceptions, the last match wins) -------


def _pattern(pattern: str) -> re.Pattern[str]:
    out, index = "", 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
            continue
        if pattern.startswith("**", index):
            out, index = out + ".*", index + 2
            continue
        char = pattern[index]
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", index)
            out, index = out + pattern[index : end + 1], end
        else:
            out += re.escape(char)
        index += 1
    return re.compile(out + r"\Z")


def dockerignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        rules.append((negated, _pattern(line.removeprefix("!").strip().strip("/"))))
    return rules


def ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves ``path`` (relative, with /) out of the build context: a pattern
    matches the path or any folder above it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for negated, pattern in rules:
        if any(pattern.match(prefix) for prefix in prefixes):
            verdict = not negated
    return verdict


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def rules() -> list[tuple[bool, re.Pattern[str]]]:
    return dockerignore_rules(DOCKERIGNORE.read_text(encoding="utf-8"))


def image_uid(runtime: Stage) -> int:
    user = runtime.last("USER").text.split(":")[0]
    assert user.isdigit(), f"USER {user}: numeric, so that Kubernetes' runAsNonRoot can check it"
    return int(user)


def image_file(runtime: Stage, path: str) -> Path | None:
    """The repository file a path in the image comes from (through the final stage's COPY)."""
    for copy in runtime.all("COPY"):
        flags, rest = copy.flags()
        if "from" in flags:
            continue
        source, dest = rest.split()
        if path == dest:
            return ROOT / source
        if path.startswith(dest.rstrip("/") + "/"):
            return ROOT / source / path[len(dest.rstrip("/")) + 1 :]
    return None


# -- the Dockerfile -----------------------------------------------------------------------


def test_a_builder_stage_makes_the_wheels_and_a_slim_runtime_installs_them(stages: list[Stage]) -> None:
    builder, runtime = stages[0], stages[-1]
    assert len(stages) == 2
    assert builder.name == "builder"
    assert runtime.base == "python:3.11-slim"
    assert re.search(r"python -m pip wheel --wheel-dir /wheels \.$", builder.run_text(), re.M)
    [install] = [i for i in runtime.all("RUN") if "pip install" in i.text]
    flags, command = install.flags()
    assert flags["mount"] == "type=bind,from=builder,source=/wheels,target=/wheels"  # no wheel layer left behind
    assert "--no-index --find-links=/wheels" in command
    # the project's own wheel, named as setuptools names the pyproject project
    project = re.search(r'^name = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert project is not None
    assert f"/wheels/{project[1].replace('-', '_')}-*.whl" in command


def test_the_image_installs_the_project_as_scripts_setup_sh_does(stages: list[Stage]) -> None:
    setup = (ROOT / "scripts/setup.sh").read_text()
    assert "pip install --quiet -e '.[dev]'" in setup  # the same project, from its pyproject.toml
    builder = stages[0]
    copied = {source for i in builder.all("COPY") for source in i.flags()[1].split()[:-1]}
    assert {"pyproject.toml", "README.md", "bridge", "adapters"} <= copied  # README: pyproject's readme


def test_the_runtime_runs_as_the_user_bridge_who_owns_the_data_directory(runtime: Stage) -> None:
    uid = image_uid(runtime)
    assert uid != 0
    run = runtime.run_text()
    commands = [shlex.split(part) for part in re.split(r"&&|\n", run)]
    [useradd] = [c for c in commands if c[:1] == ["useradd"]]
    assert useradd[-1] == "bridge"
    assert useradd[useradd.index("--uid") + 1] == str(uid)
    assert useradd[useradd.index("--gid") + 1] == "bridge"
    assert ["groupadd", "--system", "--gid", str(uid), "bridge"] in commands
    # the data directory (the working directory) exists and belongs to bridge before WORKDIR,
    # which would otherwise make it root's
    data = runtime.last("WORKDIR").text
    assert data == "/var/lib/bridge"
    owner = re.search(rf"install -d -o bridge -g bridge -m 07\d0 ({re.escape(data)})\b", run)
    assert owner, f"{data} is not created owned by bridge"
    creating = next(i for i in runtime.all("RUN") if data in i.text)
    assert creating.line < runtime.last("WORKDIR").line
    assert json.loads(runtime.last("VOLUME").text) == [data]
    # USER comes after every RUN and before ENTRYPOINT and CMD
    user = runtime.last("USER")
    assert all(i.line < user.line for i in runtime.all("RUN"))
    assert user.line < runtime.last("ENTRYPOINT").line
    assert user.line < runtime.last("CMD").line


def test_the_default_ledger_is_a_sqlite_file_in_the_working_directory(
    runtime: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no secret variable in the image: a BRIDGE_DATABASE_URL there would win over a configuration
    # file's database_url and make BRIDGE_DATABASE_URL_FILE (a mounted secret) an error
    assert not set(runtime.env()) & _SECRET_VARS
    url = load_settings(env={}).database_url.reveal()
    assert url == "sqlite:///bridge-ledger.sqlite"  # relative: in WORKDIR, /var/lib/bridge
    monkeypatch.chdir(tmp_path)
    Ledger.connect(url).close()
    assert (tmp_path / "bridge-ledger.sqlite").is_file()


def test_config_and_mappings_have_their_mount_points(runtime: Stage) -> None:
    env = runtime.env()
    assert env["BRIDGE_MAPPINGS_DIR"] == "/etc/bridge/mappings"
    assert image_file(runtime, "/etc/bridge/mappings") == ROOT / "mappings"
    assert "/etc/bridge/config" in runtime.run_text()
    assert any(i.text == "bridge mapping lint" for i in runtime.all("RUN"))  # no image with broken mappings


def test_bridge_is_pid_1_in_exec_form_and_stops_on_sigterm(runtime: Stage) -> None:
    assert runtime.last("ENTRYPOINT").exec_form() == ["bridge"]
    assert runtime.last("CMD").exec_form() == ["run"]
    assert runtime.last("STOPSIGNAL").text == "SIGTERM"
    assert 'bridge = "bridge.cli:main"' in (ROOT / "pyproject.toml").read_text()
    supervisor = (ROOT / "bridge/supervisor.py").read_text()
    assert "signal.signal(signal.SIGTERM, handle)" in supervisor  # PID 1 ignores signals it has no handler for


def test_the_exposed_port_is_the_bridge_http_port(runtime: Stage) -> None:
    assert runtime.last("EXPOSE").text == "8080"
    assert load_settings(env={}).http_port == 8080
    assert "os.environ.get('BRIDGE_HTTP_PORT', '8080')" in healthcheck_command(runtime)[2]


def healthcheck_command(runtime: Stage) -> list[str]:
    flags, rest = runtime.last("HEALTHCHECK").flags()
    assert {"interval", "timeout", "start-period", "retries"} <= set(flags)
    assert rest.startswith("CMD [")
    command = json.loads(rest.removeprefix("CMD "))
    assert command[:2] == ["python", "-c"]  # the slim image has no curl
    return command


def test_the_healthcheck_passes_when_healthz_answers_and_fails_when_nothing_listens(runtime: Stage) -> None:
    command = [sys.executable, *healthcheck_command(runtime)[1:]]
    assert "/healthz" in command[2]
    with HealthServer("127.0.0.1", 0) as server:
        env = dict(os.environ, BRIDGE_HTTP_PORT=str(server.port))
        assert subprocess.run(command, check=False, env=env, capture_output=True, timeout=30).returncode == 0
    env = dict(os.environ, BRIDGE_HTTP_PORT=str(free_port()))
    assert subprocess.run(command, check=False, env=env, capture_output=True, timeout=30).returncode != 0


def test_every_copy_source_is_in_the_build_context(stages: list[Stage], rules: list[tuple[bool, re.Pattern[str]]]) -> None:
    for stage in stages:
        for copy in stage.all("COPY"):
            flags, rest = copy.flags()
            if "from" in flags:
                continue
            *sources, _dest = rest.split()
            for source in sources:
                path = ROOT / source
                assert path.exists(), f"Dockerfile line {copy.line}: {source} does not exist"
                files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
                kept = [p for p in files if not ignored(p.relative_to(ROOT).as_posix(), rules)]
                assert kept, f"Dockerfile line {copy.line}: .dockerignore leaves {source} out of the context"


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        pytest.param(".venv/bin/python", True, id="venv"),
        pytest.param(".git/HEAD", True, id="git"),
        pytest.param("out/demo-ledger.sqlite", True, id="demo-output"),
        pytest.param("tests/unit/test_cli.py", True, id="tests"),
        pytest.param(".pytest_cache/v/cache/nodeids", True, id="pytest-cache"),
        pytest.param(".hypothesis/examples/x", True, id="hypothesis"),
        pytest.param("bridge/__pycache__/cli.cpython-311.pyc", True, id="bytecode"),
        pytest.param("bridge-ledger.sqlite", True, id="ledger"),
        pytest.param("mappings/ledger.sqlite", True, id="ledger-inside-a-kept-folder"),
        pytest.param("deploy/compose/demo.env", True, id="demo-secrets"),
        pytest.param("pyproject.toml", False, id="pyproject"),
        pytest.param("README.md", False, id="readme"),
        pytest.param("bridge/cli.py", False, id="sources"),
        pytest.param("adapters/kingdee/simulator/demo_seed.json", False, id="seed"),
        pytest.param("mappings/sap/loipro_order.yaml", False, id="mappings"),
        pytest.param("examples/sap-loop.yaml", False, id="examples"),
    ],
)
def test_dockerignore_keeps_local_state_out_of_the_context(
    path: str, left_out: bool, rules: list[tuple[bool, re.Pattern[str]]]
) -> None:
    assert ignored(path, rules) is left_out


def tool(name: str) -> str:
    """A validator from the dev extras: on PATH or beside this interpreter (the venv's bin);
    missing, it skips the test, but fails it in CI (`.ci/run` installs the dev extras)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        message = f"{name} is not installed (pip install -e '.[dev]' installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = subprocess.run([tool("hadolint"), str(DOCKERFILE)], check=False, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# -- docker-compose.yml -------------------------------------------------------------------

BRIDGE_IMAGE_SERVICES = ("bridge", "sap-sim", "kingdee-sim", "yonyou-sim", "mes-inbox")
SERVICES = {*BRIDGE_IMAGE_SERVICES, "rabbitmq", "postgres", "prometheus", "grafana"}
ONE_SHOT = {"mes-inbox"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # anchors and << merges resolved
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path}: {line!r} is not NAME=value"
            values[name] = value
    return values


@pytest.fixture(scope="module")
def demo_env() -> dict[str, str]:
    return read_env_file(COMPOSE_ENV)


def command_flags(service: Mapping[str, Any]) -> dict[str, str]:
    """``--name=value`` arguments of a service's command."""
    return dict(arg[2:].split("=", 1) for arg in service["command"] if arg.startswith("--") and "=" in arg)


def bind_mounts(service: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(source in the repository, target in the container) of the ``./`` volumes."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts.append((source[2:], target))
    return mounts


def test_compose_runs_the_bridge_its_simulators_broker_database_and_monitoring(services: dict[str, Any]) -> None:
    assert set(services) == SERVICES


def test_every_service_has_an_image_and_the_bridge_image_is_built_from_the_dockerfile(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        assert service.get("image"), f"{name} names no image"
        if name in BRIDGE_IMAGE_SERVICES:
            assert service["image"] == services["bridge"]["image"]
            assert service["build"] == {"context": ".", "dockerfile": "Dockerfile"}
        else:
            assert "build" not in service
            assert ":" in service["image"], f"{name}: pin a tag"


def test_every_file_the_compose_file_reads_exists(services: dict[str, Any]) -> None:
    referenced = set()
    for service in services.values():
        referenced.update(service.get("env_file", []))
        referenced.update(source for source, _ in bind_mounts(service))
        if "build" in service:
            referenced.add(str(Path(service["build"]["context"]) / service["build"]["dockerfile"]))
    assert set(MONITORING_FILES) <= referenced
    missing = sorted(path for path in referenced if not (ROOT / path).exists())
    assert not missing, f"docker-compose.yml mounts or reads files that do not exist: {missing}"


def test_depends_on_names_services_and_waits_only_for_health_they_report(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for target, condition in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on {target}, which is no service"
            if condition["condition"] == "service_healthy":
                health = services[target].get("healthcheck")
                from_image = target in BRIDGE_IMAGE_SERVICES and health is None  # the Dockerfile's HEALTHCHECK
                assert from_image or (health and not health.get("disable")), f"{target} reports no health"
    assert services["bridge"]["depends_on"] == {
        "rabbitmq": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }


def test_every_long_running_service_reports_its_health(services: dict[str, Any]) -> None:
    for name, service in services.items():
        health = service.get("healthcheck")
        if name in ONE_SHOT:
            assert health == {"disable": True}
            assert service["restart"] == "on-failure"
        elif name == "bridge":
            assert health is None  # the image's: GET /healthz
        else:
            assert health["test"][0] in {"CMD", "CMD-SHELL"}, name
            for key in ("interval", "timeout", "retries"):
                assert health.get(key), f"{name}: healthcheck without {key}"


def test_published_ports_are_unique_local_and_the_services_own(services: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            host, host_port, container_port = port.split(":")
            assert host == "127.0.0.1", f"{name} publishes {port} beyond this machine"
            assert host_port not in seen, f"{name} and {seen.get(host_port)} both publish {host_port}"
            seen[host_port] = name
            if name.endswith("-sim"):
                assert command_flags(service)["port"] == container_port
    assert seen["8080"] == "bridge"


def test_the_bridge_mounts_its_configuration_and_mappings(services: dict[str, Any], demo_env: dict[str, str]) -> None:
    mounts = dict(bind_mounts(services["bridge"]))
    assert mounts["deploy/compose/bridge.yaml"] == demo_env["BRIDGE_CONFIG"] == "/etc/bridge/config/bridge.yaml"
    assert mounts["mappings"] == "/etc/bridge/mappings"
    assert "bridge-data:/var/lib/bridge" in services["bridge"]["volumes"]
    assert demo_env["SAP_FILE_PORT_DIR"] == "/var/lib/bridge/file-port"  # made in the image, owned by bridge
    assert "/var/lib/bridge/file-port" in DOCKERFILE.read_text()


def test_the_compose_configuration_loads_with_the_demo_env(demo_env: dict[str, str]) -> None:
    settings = load_settings(COMPOSE_CONFIG, env=demo_env)
    assert [route.name for route in settings.routes] == ["mes", "sap", "kingdee", "yonyou"]
    assert set(settings.sources) == {"sap", "kingdee", "yonyou", "mes"}
    assert settings.broker.queue_type == "quorum"
    assert settings.http_port == 8080
    # each ERP takes the feedback of its own plant: the simulators' seeds' plants, no overlap
    sites = {route.name: set(route.sites) for route in settings.routes if route.name != "mes"}
    assert sites == {"sap": {"DM01"}, "kingdee": {"100"}, "yonyou": {"PLANT1"}}
    assert not settings.reconcile.jobs  # no plant filter for jobs yet: see the file's header


def test_the_demo_credentials_agree_on_both_ends(services: dict[str, Any], demo_env: dict[str, str]) -> None:
    env = demo_env
    sap, kingdee, yonyou = (command_flags(services[name]) for name in ("sap-sim", "kingdee-sim", "yonyou-sim"))
    assert (sap["user"], env["SAP_SIM_PASSWORD"]) == (env["SAP_USER"], env["SAP_PASSWORD"])
    assert (sap["push-user"], env["SAP_SIM_PUSH_PASSWORD"]) == (env["SAP_INBOUND_USER"], env["SAP_INBOUND_PASSWORD"])
    assert sap["push-to"] == "http://bridge:8080/api/v1/sap/idoc"
    assert (kingdee["acct-id"], kingdee["user"], kingdee["app-id"]) == (
        env["KINGDEE_ACCT_ID"], env["KINGDEE_USER"], env["KINGDEE_APP_ID"])
    assert yonyou["tenant-id"] == env["YONYOU_TENANT_ID"]
    for variable, service in (("SAP_URL", "sap-sim"), ("KINGDEE_URL", "kingdee-sim"), ("YONYOU_URL", "yonyou-sim")):
        url = urlsplit(env[variable])
        assert (url.hostname, str(url.port)) == (service, command_flags(services[service])["port"])
        assert command_flags(services[service])["host"] == "0.0.0.0"  # reachable from the bridge's container
    amqp = urlsplit(env["BRIDGE_AMQP_URL"])
    assert (amqp.hostname, amqp.username, amqp.password) == ("rabbitmq", env["RABBITMQ_DEFAULT_USER"], env["RABBITMQ_DEFAULT_PASS"])
    database = urlsplit(env["BRIDGE_DATABASE_URL"])
    assert (database.hostname, database.username, database.password, database.path) == (
        "postgres", env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], f"/{env['POSTGRES_DB']}")


def test_the_simulators_seeds_are_in_the_image(services: dict[str, Any], runtime: Stage) -> None:
    for name in ("sap-sim", "kingdee-sim", "yonyou-sim"):
        seed = command_flags(services[name])["seed"]
        source = image_file(runtime, seed)
        assert source is not None, f"{name}: {seed} is not copied into the image"
        assert source.is_file(), f"{name}: {seed} comes from {source}, which does not exist"


def test_the_mes_inbox_binds_to_the_exchange_the_bridge_publishes_to(
    services: dict[str, Any], demo_env: dict[str, str]
) -> None:
    service = services["mes-inbox"]
    assert service["entrypoint"] == ["python", "-c"]
    [script] = service["command"]
    compile(script, "mes-inbox", "exec")
    exchange = names_for(load_settings(COMPOSE_CONFIG, env=demo_env)).mes_exchange
    assert f'channel.exchange_declare("{exchange}", "topic", durable=True)' in script
    assert f'channel.queue_bind("mes.inbox", "{exchange}", routing_key="#")' in script


def test_prometheus_scrapes_the_bridge_and_loads_the_mounted_alerts(services: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for static in job.get("static_configs", []) for t in static["targets"]}
    assert "bridge:8080" in targets
    mounts = {target: source for source, target in bind_mounts(services["prometheus"])}
    config_path = PurePosixPath(next(t for t, s in mounts.items() if s == "deploy/prometheus/prometheus.yml"))
    for rule_file in config["rule_files"]:
        resolved = str(config_path.parent / rule_file)
        assert mounts.get(resolved) == "deploy/prometheus/alerts.yml", f"rule file {resolved} is not mounted"


def test_grafana_finds_the_mounted_dashboard_and_the_prometheus_service(services: dict[str, Any]) -> None:
    mounts = dict(bind_mounts(services["grafana"]))
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/bridge.yml").read_text())
    [dashboards] = provider["providers"]
    assert str(PurePosixPath(mounts["deploy/grafana/dashboards/bridge.json"]).parent) == dashboards["options"]["path"]
    assert mounts["deploy/grafana/provisioning/dashboards/bridge.yml"].startswith("/etc/grafana/provisioning/dashboards/")
    assert mounts["deploy/grafana/provisioning/datasources/prometheus.yml"].startswith("/etc/grafana/provisioning/datasources/")
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    url = urlsplit(next(d["url"] for d in datasources["datasources"] if d["type"] == "prometheus"))
    assert url.hostname in services
    assert f"127.0.0.1:{url.port}:{url.port}" in services[url.hostname]["ports"]


def test_the_compose_file_follows_the_compose_specification() -> None:
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


# -- deploy/k8s ---------------------------------------------------------------------------

NAMESPACE = "erp-mes-bridge"
NOT_APPLIED = {"kustomization.yaml", "secrets.example.yaml"}


@pytest.fixture(scope="module")
def manifests() -> dict[str, list[dict[str, Any]]]:
    """Every document of deploy/k8s/*.yaml (not its config/ folder: that is bridge configuration)."""
    return {
        path.name: [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
        for path in sorted(K8S.glob("*.yaml"))
    }


def find(manifests: Mapping[str, list[dict[str, Any]]], kind: str, name: str) -> dict[str, Any]:
    found = [d for docs in manifests.values() for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


@pytest.fixture(scope="module")
def kustomization(manifests: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    [doc] = manifests["kustomization.yaml"]
    return doc


@pytest.fixture(scope="module")
def deployment(manifests: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return find(manifests, "Deployment", "bridge")


@pytest.fixture(scope="module")
def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [bridge] = deployment["spec"]["template"]["spec"]["containers"]
    return bridge


def generated(kustomization: Mapping[str, Any], name: str) -> dict[str, Path]:
    """The files of a configMapGenerator: key -> file."""
    [generator] = [g for g in kustomization["configMapGenerator"] if g["name"] == name]
    files = {}
    for entry in generator["files"]:
        key, _, path = entry.rpartition("=")
        files[key or Path(path).name] = (K8S / path).resolve()
    return files


def volume(deployment: Mapping[str, Any], name: str) -> dict[str, Any]:
    [found] = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == name]
    return found


def lay_out_volume(target: Path, files: Mapping[str, bytes], items: list[dict[str, str]] | None = None) -> Path:
    """A ConfigMap or Secret volume as the kubelet writes it: the files in a timestamped folder,
    ``..data`` a symlink to it, and one symlink per top-level entry into ``..data``."""
    paths = {item["key"]: item["path"] for item in items} if items else {key: key for key in files}
    stamp = target / "..2026_12_06_21_00_00.000000001"
    for key, path in paths.items():
        (stamp / path).parent.mkdir(parents=True, exist_ok=True)
        (stamp / path).write_bytes(files[key])
    (target / "..data").symlink_to(stamp.name)
    for top in sorted({path.split("/")[0] for path in paths.values()}):
        (target / top).symlink_to(f"..data/{top}")
    return target


def example_secrets(manifests: Mapping[str, list[dict[str, Any]]]) -> dict[str, dict[str, str]]:
    return {doc["metadata"]["name"]: doc["stringData"] for doc in manifests["secrets.example.yaml"]}


def test_every_manifest_names_its_api_version_kind_and_name(manifests: Mapping[str, list[dict[str, Any]]]) -> None:
    for file, docs in manifests.items():
        assert docs, f"{file} is empty"
        for doc in docs:
            assert doc.get("apiVersion"), f"{file}: a document without apiVersion"
            assert doc.get("kind"), f"{file}: a document without kind"
            if doc["kind"] != "Kustomization":
                assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"]), file


def test_kustomization_applies_every_manifest_but_the_secrets_example(
    manifests: Mapping[str, list[dict[str, Any]]], kustomization: dict[str, Any]
) -> None:
    assert kustomization["namespace"] == NAMESPACE
    assert set(kustomization["resources"]) == set(manifests) - NOT_APPLIED
    for name in ("bridge-config", "bridge-mappings"):
        for key, path in generated(kustomization, name).items():
            assert path.is_file(), f"configMapGenerator {name}: {key} reads {path}, which does not exist"
    [image] = kustomization["images"]
    assert image["name"] == "erp-mes-bridge"


def test_selectors_match_the_pods_they_mean(manifests: Mapping[str, list[dict[str, Any]]], deployment: dict[str, Any]) -> None:
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    service = find(manifests, "Service", "bridge")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert find(manifests, "PodDisruptionBudget", "bridge")["spec"]["selector"]["matchLabels"] == selector
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert all(s["labelSelector"]["matchLabels"] == selector for s in spread)
    postgres = find(manifests, "StatefulSet", "postgres")
    postgres_labels = postgres["spec"]["template"]["metadata"]["labels"]
    assert postgres["spec"]["selector"]["matchLabels"].items() <= postgres_labels.items()
    assert find(manifests, "Service", postgres["spec"]["serviceName"])["spec"]["selector"].items() <= postgres_labels.items()
    # the operator labels a RabbitmqCluster's pods app.kubernetes.io/name: <cluster name>
    rabbitmq = find(manifests, "RabbitmqCluster", "rabbitmq")
    name_label = {"app.kubernetes.io/name": rabbitmq["metadata"]["name"]}
    assert find(manifests, "PodDisruptionBudget", "rabbitmq")["spec"]["selector"]["matchLabels"] == name_label
    anti = rabbitmq["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["labelSelector"]["matchLabels"] == name_label


def test_probes_ask_readyz_and_healthz_on_a_declared_port(manifests: Mapping[str, list[dict[str, Any]]], container: dict[str, Any]) -> None:
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8080}
    paths = {probe: container[probe]["httpGet"]["path"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert paths == {"startupProbe": "/healthz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    for probe in paths:
        assert container[probe]["httpGet"]["port"] in ports, f"{probe} asks a port the container does not declare"
        assert container[probe]["timeoutSeconds"] > 2  # /readyz gives each check 2 s
    assert find(manifests, "Service", "bridge")["spec"]["ports"][0]["targetPort"] in ports
    annotations = find(manifests, "Service", "bridge")["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["http"])


def quantity(text: str | int) -> float:
    """A Kubernetes quantity as a number (cpu in cores, memory in bytes)."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    assert match, text
    return float(match[1]) * units.get(match[2], 1)


def test_every_container_has_requests_and_limits(manifests: Mapping[str, list[dict[str, Any]]]) -> None:
    workloads = [d for docs in manifests.values() for d in docs if d["kind"] in {"Deployment", "StatefulSet"}]
    assert {w["metadata"]["name"] for w in workloads} == {"bridge", "postgres"}
    for workload in workloads:
        for pod_container in workload["spec"]["template"]["spec"]["containers"]:
            resources = pod_container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), workload["metadata"]["name"]
            assert "memory" in resources["limits"], workload["metadata"]["name"]
            for name, limit in resources["limits"].items():
                assert quantity(limit) >= quantity(resources["requests"][name]), f"{workload['metadata']['name']} {name}"
    rabbitmq = find(manifests, "RabbitmqCluster", "rabbitmq")["spec"]["resources"]
    assert quantity(rabbitmq["limits"]["memory"]) >= quantity(rabbitmq["requests"]["memory"])


def test_the_bridge_pods_run_as_the_image_user_with_a_read_only_root(
    deployment: dict[str, Any], container: dict[str, Any], runtime: Stage
) -> None:
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == security["fsGroup"] == image_uid(runtime)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/tmp", "/var/lib/bridge"}
    for mount in container["volumeMounts"]:
        if mount["mountPath"] in writable:
            assert "emptyDir" in volume(deployment, mount["name"])


def test_rolling_updates_keep_every_replica_until_its_successor_is_ready(deployment: dict[str, Any]) -> None:
    spec = deployment["spec"]
    assert spec["replicas"] >= 2  # competing consumers: a replica lost is a slower bridge, not a stopped one
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] >= 60  # an ERP call in hand may take 30 s


def secret_mounts(deployment: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, str]:
    """mountPath -> secret name of every secret volume."""
    mounts = {}
    for mount in container["volumeMounts"]:
        source = volume(deployment, mount["name"])
        if "secret" in source:
            mounts[mount["mountPath"]] = source["secret"]["secretName"]
    return mounts


def test_every_secret_is_a_mounted_file_the_bridge_reads(
    manifests: Mapping[str, list[dict[str, Any]]], kustomization: dict[str, Any],
    deployment: dict[str, Any], container: dict[str, Any],
) -> None:
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert all("valueFrom" not in item for item in container["env"])  # no secret as a plain variable
    config = generated(kustomization, "bridge-config")["bridge.yaml"].read_text()
    read_by_name = set(re.findall(r"\$\{(\w+)", config)) | set(re.findall(r"_env: (\w+)", config))
    mounts, secrets = secret_mounts(deployment, container), example_secrets(manifests)
    files = {name: value for name, value in env.items() if name.endswith("_FILE")}
    assert {"BRIDGE_AMQP_URL_FILE", "BRIDGE_DATABASE_URL_FILE"} <= set(files)
    for name, path in files.items():
        variable = name.removesuffix("_FILE")
        assert variable in _SECRET_VARS or variable in read_by_name, f"{name}: the bridge reads no {variable}"
        assert variable not in env, f"{variable} and {name} both set"
        folder, _, key = path.rpartition("/")
        assert folder in mounts, f"{name}: {path} is in no mounted secret"
        assert key in secrets[mounts[folder]], f"{name}: secret {mounts[folder]} has no key {key}"
    secretive = re.compile(r"PASSWORD|SECRET|TOKEN|_URL$")
    plain = {n for n in env if secretive.search(n) and not n.endswith("_FILE") and n != "SAP_URL"}
    assert not plain, f"secrets given as plain values: {plain}"


def pod_files(
    tmp_path: Path, manifests: Mapping[str, list[dict[str, Any]]], kustomization: Mapping[str, Any],
    deployment: Mapping[str, Any], container: Mapping[str, Any],
) -> dict[str, Path]:
    """The pod's ConfigMap and Secret volumes laid out under tmp_path: mountPath -> folder."""
    secrets = example_secrets(manifests)
    folders = {}
    for mount in container["volumeMounts"]:
        source, target = volume(deployment, mount["name"]), tmp_path / mount["name"]
        target.mkdir()
        if "configMap" in source:
            files = {key: path.read_bytes() for key, path in generated(kustomization, source["configMap"]["name"]).items()}
            lay_out_volume(target, files, source["configMap"].get("items"))
        elif "secret" in source:
            values = secrets[source["secret"]["secretName"]]
            lay_out_volume(target, {key: f"{value}\n".encode() for key, value in values.items()})
        folders[mount["mountPath"]] = target
    return folders


def test_the_configuration_loads_with_the_deployment_env_and_mounted_files(
    tmp_path: Path, manifests: Mapping[str, list[dict[str, Any]]], kustomization: dict[str, Any],
    deployment: dict[str, Any], container: dict[str, Any], runtime: Stage,
) -> None:
    folders = pod_files(tmp_path, manifests, kustomization, deployment, container)
    env = runtime.env()  # the image's ENV, beneath the container's env as Kubernetes puts it
    for item in container["env"]:
        value = item["value"]
        mount_path = next((m for m in folders if value.startswith(f"{m}/") or value == m), None)
        env[item["name"]] = value if mount_path is None else str(folders[mount_path]) + value[len(mount_path) :]
    settings = load_settings(env=env)
    assert str(settings.mappings_dir) == str(folders["/etc/bridge/mappings"])
    assert settings.http_port == container["ports"][0]["containerPort"]
    assert settings.broker.queue_type == "quorum"
    secrets = example_secrets(manifests)["bridge-secrets"]
    assert settings.amqp_url.reveal() == secrets["amqp-url"]  # read from the file, whitespace dropped
    assert settings.database_url.reveal() == secrets["database-url"]
    assert [route.name for route in settings.routes] == ["mes", "sap"]
    assert {"orders", "quantities"} <= set(settings.reconcile.jobs)


def test_the_mappings_configmap_holds_every_mapping_and_lookup_table(
    kustomization: dict[str, Any], deployment: dict[str, Any]
) -> None:
    mappings = ROOT / "mappings"
    shipped = {p.relative_to(mappings).as_posix() for p in mapping_files(mappings)}
    shipped |= {p.relative_to(mappings).as_posix() for p in (mappings / LOOKUPS_DIR).glob("*.y*ml")}
    files = generated(kustomization, "bridge-mappings")
    assert {path.relative_to(mappings).as_posix() for path in files.values()} == shipped
    items = volume(deployment, "mappings")["configMap"]["items"]
    assert {item["key"] for item in items} == set(files)
    for item in items:
        relative = files[item["key"]].relative_to(mappings).as_posix()
        assert item["key"] == relative.replace("/", ".", 1)
        # mapping files at the top (a subfolder of a ConfigMap volume is a symlink the catalog
        # does not descend into), lookup tables where the catalog looks for them
        expected = relative if relative.startswith(f"{LOOKUPS_DIR}/") else item["key"]
        assert item["path"] == expected


def test_the_mappings_volume_loads_every_mapping_as_the_kubelet_lays_it_out(
    tmp_path: Path, kustomization: dict[str, Any], deployment: dict[str, Any]
) -> None:
    files = {key: path.read_bytes() for key, path in generated(kustomization, "bridge-mappings").items()}
    mounted = lay_out_volume(tmp_path / "mappings", files, volume(deployment, "mappings")["configMap"]["items"])
    shipped = MappingCatalog.load(ROOT / "mappings")
    catalog = MappingCatalog.load(mounted)
    assert set(catalog.mappings) == set(shipped.mappings)
    assert set(catalog.lookups) == set(shipped.lookups)


def test_rabbitmq_is_a_three_node_cluster_the_bridge_reaches_as_its_own_user(
    manifests: Mapping[str, list[dict[str, Any]]],
) -> None:
    cluster = find(manifests, "RabbitmqCluster", "rabbitmq")
    assert cluster["spec"]["replicas"] >= 3
    assert cluster["spec"]["replicas"] % 2 == 1  # a quorum queue needs a majority of its replicas
    user, permission = find(manifests, "User", "bridge"), find(manifests, "Permission", "bridge")
    assert user["spec"]["rabbitmqClusterReference"] == permission["spec"]["rabbitmqClusterReference"] == {"name": "rabbitmq"}
    assert permission["spec"]["userReference"] == {"name": "bridge"}
    assert permission["spec"]["permissions"] == {"configure": ".*", "write": ".*", "read": ".*"}  # it declares its topology
    secrets = example_secrets(manifests)
    credentials = secrets[user["spec"]["importCredentialsSecret"]["name"]]
    amqp = urlsplit(secrets["bridge-secrets"]["amqp-url"])
    assert (amqp.username, amqp.password) == (credentials["username"], credentials["password"])
    assert amqp.hostname == f"{cluster['metadata']['name']}.{NAMESPACE}.svc"  # the operator's Service
    assert amqp.path == "/%2F"
    assert permission["spec"]["vhost"] == "/"


def test_the_database_url_names_the_postgres_service_and_its_password(manifests: Mapping[str, list[dict[str, Any]]]) -> None:
    postgres = find(manifests, "StatefulSet", "postgres")
    [server] = postgres["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in server["env"]}
    secrets = example_secrets(manifests)
    url = urlsplit(secrets["bridge-secrets"]["database-url"])
    assert url.scheme == "postgresql+psycopg"
    assert url.hostname == f"{postgres['spec']['serviceName']}.{NAMESPACE}.svc"
    assert (url.username, url.path) == (env["POSTGRES_USER"], f"/{env['POSTGRES_DB']}")
    assert url.password == secrets["bridge-postgres"]["password"]
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres/password"


def test_the_manifests_validate_against_the_kubernetes_schemas() -> None:
    files = [str(path) for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml"]
    command = [tool("kubernetes-validate"), "--strict", "--quiet", "-k", "1.28.0", *files]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    # the operator's kinds (RabbitmqCluster, User, Permission) have no schema there: warnings only
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_mappings_tree_mounted_as_a_volume_loads_every_mapping(tmp_path: Path) -> None:
    """Subfolders of a ConfigMap volume are symlinks into ``..data``: the catalog follows them
    (and leaves the kubelet's dot-folders out), so the shipped tree can be mounted as it is."""
    shipped = ROOT / "mappings"
    files = {str(p.relative_to(shipped)): p.read_bytes() for p in shipped.rglob("*.y*ml")
             if "cases" not in p.relative_to(shipped).parts[:-1]}
    mounted = lay_out_volume(tmp_path / "mappings", files)
    assert (mounted / "sap").is_symlink()
    found = {str(p.relative_to(mounted)) for p in mapping_files(mounted)}
    assert found == {str(p.relative_to(shipped)) for p in mapping_files(shipped)}
    assert len(MappingCatalog.load(mounted).mappings) == len(MappingCatalog.load(shipped).mappings)
