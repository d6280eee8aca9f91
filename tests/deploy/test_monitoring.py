"""Prometheus and Grafana provisioning files of the compose deployment: valid, and only documented fields.

Prometheus: ``promtool check config`` (Debian package prometheus). Grafana: the provisioning
format of grafana.com/docs/grafana/latest/administration/provisioning/ (``apiVersion: 1``;
datasources with name, type, uid, access, url, isDefault, editable, jsonData; dashboard
providers with name, orgId, folder, folderUid, type ``file``, options.path ...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

DATASOURCE_FIELDS = {
    "name", "type", "uid", "access", "orgId", "url", "user", "database", "basicAuth", "basicAuthUser",
    "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable",
}  # fmt: skip
PROVIDER_FIELDS = {
    "name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds",
    "allowUiUpdates", "options",
}  # fmt: skip
PROVIDER_OPTIONS = {"path", "foldersFromFilesStructure"}


def load(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / relative).read_text())
    return loaded


def test_promtool_accepts_the_prometheus_configuration() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing under CI: .ci/run installs the Debian package prometheus")
        pytest.skip("promtool not installed (Debian package prometheus)")
    checked = subprocess.run(
        [promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_scrapes_simulator_workers_and_dispatcher() -> None:
    jobs = {job["job_name"] for job in load("prometheus/prometheus.yml")["scrape_configs"]}
    assert {"iocsim-simulator", "iocsim-worker", "iocsim-dispatcher"} <= jobs
    text = (DEPLOY / "prometheus" / "prometheus.yml").read_text()
    assert "# - job_name: iocsim-load" in text, "the load harness job is documented, commented out"


def test_the_prometheus_datasource_is_the_default_with_the_uid_dashboards_expect() -> None:
    config = load("grafana/provisioning/datasources/prometheus.yaml")
    assert config["apiVersion"] == 1 and set(config) <= {"apiVersion", "datasources", "deleteDatasources"}
    (datasource,) = config["datasources"]
    assert set(datasource) <= DATASOURCE_FIELDS
    assert datasource["uid"] == "iocsim-prometheus"
    assert datasource["type"] == "prometheus" and datasource["access"] == "proxy"
    assert datasource["isDefault"] is True
    assert datasource["url"] == "http://prometheus:9090"


def test_the_dashboard_provider_reads_files_into_the_ioc_folder() -> None:
    config = load("grafana/provisioning/dashboards/iocsim.yaml")
    assert config["apiVersion"] == 1 and set(config) == {"apiVersion", "providers"}
    (provider,) = config["providers"]
    assert set(provider) <= PROVIDER_FIELDS and set(provider["options"]) <= PROVIDER_OPTIONS
    assert provider["type"] == "file" and provider["folder"] == "IOC"
    assert isinstance(provider["updateIntervalSeconds"], int)
    assert provider["options"]["path"].startswith("/")


def test_every_dashboard_reaches_the_provisioned_datasource_through_its_variable() -> None:
    uid = load("grafana/provisioning/datasources/prometheus.yaml")["datasources"][0]["uid"]
    for path in sorted((ROOT / "dashboards" / "json" / "vi").glob("*.json")):
        model = yaml.safe_load(path.read_text(encoding="utf-8"))
        variables = {v["name"]: v for v in model.get("templating", {}).get("list", [])}
        assert variables.get("datasource", {}).get("type") == "datasource", path.name
        assert variables["datasource"]["query"] == "prometheus", path.name
        assert uid == "iocsim-prometheus"
