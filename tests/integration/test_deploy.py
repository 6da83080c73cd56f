"""``deploy/``: the compose file, Prometheus' scrape config and the Grafana dashboard.

No Docker engine runs here: the files are parsed and checked against the guide's
names and ports, and every metric a dashboard panel queries must be one the
platform's or the adapter's registry really exports (docs/metrics.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.registry import CollectorRegistry
from typer.testing import CliRunner

from quantum.adapter.metrics import AdapterMetrics
from quantum.cli import app
from quantum.platform.metrics import PlatformMetrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "quantum.json"
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
DOCKERFILE = DEPLOY / "Dockerfile"

METRIC = re.compile(r"\bqtp_[a-z0-9_]+")
OVERRIDABLE = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):-(?P<default>[^}]*)\}$")

WEB = "quantum-web-api"
ADAPTER = "quantum-kiwoom-adapter"


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's ``environment`` (list or mapping form); a bare name is ``None``
    (passed through from the host only when set there)."""
    raw = service.get("environment", {})
    if isinstance(raw, dict):
        return {str(k): None if v is None else str(v) for k, v in raw.items()}
    env: dict[str, str | None] = {}
    for item in raw:
        name, sep, value = str(item).partition("=")
        env[name] = value if sep else None
    return env


def _default(value: str | None, variable: str) -> str:
    """The default of ``${variable:-default}``; fails unless ``value`` is exactly that."""
    assert value is not None
    match = OVERRIDABLE.match(value)
    assert match is not None, f"{value!r} is not ${{{variable}:-...}}"
    assert match["name"] == variable
    return match["default"]


def _ports(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host part, container port) of each ``host:container`` mapping."""
    out = []
    for port in service.get("ports", []):
        host, _, container = str(port).rpartition(":")
        out.append((host, container))
    return out


# --- compose ------------------------------------------------------------------------


def test_compose_has_the_guides_services(services: dict[str, Any]) -> None:
    assert {WEB, ADAPTER, "postgres", "redis", "prometheus", "grafana"} <= set(services)
    assert services[WEB]["container_name"] == WEB
    assert services[ADAPTER]["container_name"] == ADAPTER
    names = [s.get("container_name") for s in services.values() if s.get("container_name")]
    assert len(names) == len(set(names))


def test_platform_and_adapter_share_the_image_built_from_the_repo_root(
    services: dict[str, Any],
) -> None:
    web, adapter = services[WEB], services[ADAPTER]
    assert web["image"] == adapter["image"]
    for service in (web, adapter):
        build = service["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
    assert web["command"] == ["quantum", "run", "--host", "0.0.0.0", "--port", "8080"]
    assert adapter["command"] == ["quantum", "adapter", "--host", "0.0.0.0", "--port", "8100"]


def test_ports_are_the_guides_and_overridable(services: dict[str, Any]) -> None:
    expected = {
        WEB: ("QTP_PORT", "8080", "8080"),
        ADAPTER: ("ADAPTER_PORT", "8100", "8100"),
        "postgres": ("POSTGRES_PORT", "5433", "5432"),
        "grafana": ("GRAFANA_PORT", "3000", "3000"),
        "prometheus": ("PROMETHEUS_PORT", "9090", "9090"),
    }
    for name, (variable, host_default, container) in expected.items():
        ports = _ports(services[name])
        assert len(ports) == 1, name
        host, inside = ports[0]
        assert inside == container, name
        assert _default(host, variable) == host_default, name


def test_platform_points_at_adapter_postgres_and_redis(services: dict[str, Any]) -> None:
    env = _environment(services[WEB])
    assert env["KIWOOM_ADAPTER_URL"] == "http://quantum-kiwoom-adapter:8100"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["DATABASE_URL"] == (
        "postgresql://quantum:${POSTGRES_PASSWORD:-quantum}@postgres:5432/quantum_trading"
    )
    assert _default(env["QTP_MODE"], "QTP_MODE") == "development"
    assert _default(env["KIWOOM_SANDBOX_MODE"], "KIWOOM_SANDBOX_MODE") == "true"
    # Secrets are never baked in: passed through from the host only when set.
    for secret in ("QTP_JWT_SECRET", "QTP_ENCRYPTION_KEYS", "QTP_ADMIN_USERNAME"):
        assert env[secret] is None, secret
    assert env["QTP_ADMIN_PASSWORD"] is None
    depends = services[WEB]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert ADAPTER in depends
    assert "redis" in depends


def test_adapter_passes_the_kiwoom_variables_through(services: dict[str, Any]) -> None:
    env = _environment(services[ADAPTER])
    for name in (
        "KIWOOM_SANDBOX_APP_KEY",
        "KIWOOM_SANDBOX_APP_SECRET",
        "KIWOOM_PRODUCTION_APP_KEY",
        "KIWOOM_PRODUCTION_APP_SECRET",
        "KIWOOM_REST_URL",
        "KIWOOM_WS_URL",
    ):
        assert name in env and env[name] is None, name
    assert _default(env["KIWOOM_SANDBOX_MODE"], "KIWOOM_SANDBOX_MODE") == "true"


def test_healthchecks_hit_the_services_health_routes(services: dict[str, Any]) -> None:
    web_check = " ".join(services[WEB]["healthcheck"]["test"])
    adapter_check = " ".join(services[ADAPTER]["healthcheck"]["test"])
    assert "127.0.0.1:8080/actuator/health" in web_check
    assert "127.0.0.1:8100/health" in adapter_check
    postgres_check = " ".join(services["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in postgres_check


def test_postgres_has_the_guides_user_and_database(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    assert str(postgres["image"]).startswith("postgres:16")
    env = _environment(postgres)
    assert env["POSTGRES_USER"] == "quantum"
    assert env["POSTGRES_DB"] == "quantum_trading"
    assert _default(env["POSTGRES_PASSWORD"], "POSTGRES_PASSWORD") == "quantum"
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])
    assert str(services["redis"]["image"]).startswith("redis:7")


def test_grafana_has_the_guides_login_overridable(services: dict[str, Any]) -> None:
    grafana = services["grafana"]
    assert str(grafana["image"]).startswith("grafana/grafana")
    env = _environment(grafana)
    assert _default(env["GF_SECURITY_ADMIN_USER"], "GRAFANA_ADMIN_USER") == "admin"
    assert _default(env["GF_SECURITY_ADMIN_PASSWORD"], "GRAFANA_ADMIN_PASSWORD") == "quantum123"
    mounts = {str(v).split(":")[0]: str(v).split(":")[1] for v in grafana["volumes"]}
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./grafana/dashboards"] == "/etc/grafana/dashboards"
    for source in mounts:
        if source.startswith("./"):
            assert (COMPOSE.parent / source).exists(), source


def test_prometheus_mounts_the_scrape_config(services: dict[str, Any]) -> None:
    prometheus = services["prometheus"]
    assert str(prometheus["image"]).startswith("prom/prometheus")
    mounts = [str(v).split(":") for v in prometheus["volumes"]]
    assert ["./prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml", "ro"] in mounts
    assert (COMPOSE.parent / "prometheus" / "prometheus.yml").is_file()


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, (name, source)


# --- Prometheus and Grafana provisioning ---------------------------------------------


def test_prometheus_scrapes_both_services() -> None:
    config = _load_yaml(PROMETHEUS)
    assert config["global"]["scrape_interval"] == "15s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    expected = {WEB: "quantum-web-api:8080", ADAPTER: "quantum-kiwoom-adapter:8100"}
    for job_name, target in expected.items():
        job = jobs[job_name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        assert targets == [target]


def test_grafana_provisions_the_datasource_and_the_dashboard_folder() -> None:
    datasources = _load_yaml(DATASOURCES)["datasources"]
    assert len(datasources) == 1
    source = datasources[0]
    assert source["uid"] == "prometheus"
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    providers = _load_yaml(PROVIDERS)["providers"]
    assert providers[0]["type"] == "file"
    assert providers[0]["options"]["path"] == "/etc/grafana/dashboards"


# --- dashboard ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return [p for p in out if p.get("type") != "row"]


def _sample_names(registry: CollectorRegistry) -> set[str]:
    """Every series name ``registry`` can expose, from its families' types (a labelled
    metric that saw nothing yet has no samples, but its family is collected)."""
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_sum", "_count"),
        "summary": ("", "_sum", "_count"),
        "gauge": ("",),
        "info": ("_info",),
    }
    names: set[str] = set()
    for family in registry.collect():
        names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return _sample_names(PlatformMetrics().registry) | _sample_names(AdapterMetrics().registry)


def test_every_panel_has_a_prometheus_query(dashboard: dict[str, Any]) -> None:
    panels = _panels(dashboard)
    assert len(panels) >= 12
    ids = [p["id"] for p in dashboard["panels"] + [q for p in panels for q in p.get("panels", [])]]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["datasource"]["uid"] == "prometheus", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert METRIC.search(target["expr"]), (panel["title"], target["expr"])


def test_every_dashboard_metric_is_exported(dashboard: dict[str, Any], exported: set[str]) -> None:
    used = {
        name
        for panel in _panels(dashboard)
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }
    assert used
    missing = sorted(used - exported)
    assert not missing, f"not exported by the platform or the adapter: {missing}"


def test_every_dashboard_metric_is_documented_and_in_the_source(
    dashboard: dict[str, Any],
) -> None:
    docs = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "src" / "quantum").rglob("*.py")
    )
    used = {
        name
        for panel in _panels(dashboard)
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }
    for name in sorted(used):
        family = re.sub(r"(_bucket|_sum|_count|_total)$", "", name)
        assert f"`{family}" in docs, f"{family} is not in docs/metrics.md"
        assert f'"{family}"' in source, f"{family} is not a string literal under src/quantum"


def test_dashboard_covers_the_guides_monitoring_list(dashboard: dict[str, Any]) -> None:
    exprs = [t["expr"] for p in _panels(dashboard) for t in p["targets"]]
    text = "\n".join(exprs)
    # API 호출 성공률, 평균 응답 시간, 엔드포인트별 사용량, 에러 발생 빈도
    assert any('outcome="ok"' in e and "qtp_kiwoom_calls_total" in e for e in exprs)
    assert any(
        "qtp_kiwoom_call_duration_seconds_sum" in e
        and "qtp_kiwoom_call_duration_seconds_count" in e
        for e in exprs
    )
    assert any(
        "histogram_quantile" in e and "qtp_kiwoom_call_duration_seconds_bucket" in e for e in exprs
    )
    assert "sum by (api_id) (rate(qtp_kiwoom_calls_total" in text
    assert "sum by (api_id, error_code) (rate(qtp_kiwoom_call_errors_total" in text
    for name in (
        "qtp_http_requests_total",
        "qtp_http_request_duration_seconds_bucket",
        "qtp_token_issuances_total",
        "qtp_rate_limit_waits_total",
        "qtp_upstream_connected",
        "qtp_upstream_last_frame_age_seconds",
        "qtp_ws_clients",
        "qtp_ws_subscriptions",
        "qtp_fanout_queue_depth",
        "qtp_fanout_dropped_total",
        "qtp_orders",
    ):
        assert re.search(rf"\b{name}\b", text), name


# --- image ----------------------------------------------------------------------------


def test_dockerfile_builds_the_web_dashboard_and_runs_the_platform() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM node:20-slim AS web$", text, re.MULTILINE)
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "npm ci" in text and "npm run build" in text
    assert "pip install ." in text
    assert "QTP_WEB_DIST=/app/web/dist" in text
    assert "COPY --from=web /src/web/dist ${QTP_WEB_DIST}" in text
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert re.search(r"^EXPOSE 8080 8100$", text, re.MULTILINE)
    assert 'CMD ["quantum", "run", "--host", "0.0.0.0", "--port", "8080"]' in text
    # BuildKit's per-Dockerfile ignore file (no root .dockerignore needed)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    assert "**/node_modules" in ignore and "**/.venv" in ignore


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (["run"], ["--host", "--port"]),
        (["adapter"], ["--host", "--port"]),
        (["db", "upgrade"], []),
    ],
)
def test_the_images_commands_exist(command: list[str], options: list[str]) -> None:
    top = CliRunner().invoke(app, ["--help"])
    assert top.exit_code == 0
    assert command[0] in top.output
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.output
