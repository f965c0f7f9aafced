"""The deployment files hang together. Docker and Kubernetes are not available where the
suite runs, so this reads them: YAML that parses, names that match across files, probes
on the broker's real routes, non-root everywhere, settings the broker knows, and every
dependency pinned for the image and ``make install``."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from broker.settings import Settings
from tests.support.stack import REPO

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def _k8s() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in _documents(path):
            found[f"{doc['kind']}/{doc.get('metadata', {}).get('name', '')}"] = doc
    return found


def _known_settings() -> set[str]:
    return {f"AIGUILLAGE_{name.upper()}" for name in Settings.model_fields}


def test_compose_runs_two_brokers_behind_nginx_after_the_migration() -> None:
    compose = _documents(DEPLOY / "compose.yaml")[0]
    services = compose["services"]
    assert {"postgres", "init", "broker-a", "broker-b", "nginx", "enedis-sim", "coach"} <= set(
        services
    )
    for name in ("broker-a", "broker-b"):
        broker = services[name]
        assert broker["depends_on"]["init"]["condition"] == "service_completed_successfully"
        assert set(broker["environment"]) <= _known_settings()
        assert "/readyz" in " ".join(broker["healthcheck"]["test"])
    assert services["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    nginx = (DEPLOY / "nginx.conf").read_text()
    assert re.findall(r"server (broker-[ab]):8000", nginx) == ["broker-a", "broker-b"]
    assert "proxy_buffering off" in nginx and "location = /metrics" in nginx
    init = (DEPLOY / "compose" / "init.sh").read_text()
    assert init.index("aiguillage migrate") < init.index("holders add")


def test_compose_registrations_are_valid_and_point_brokers_at_the_simulator() -> None:
    holder = json.loads((DEPLOY / "compose" / "holder-enedis.json").read_text())
    assert holder["manifest"]["base_url"] == "http://enedis-sim:8001"
    assert holder["manifest"]["authorization_endpoint"].startswith("http://127.0.0.1:8001/")
    json.loads((DEPLOY / "compose" / "service-carbon-coach.json").read_text())


def test_kubernetes_manifests_name_each_other_and_probe_real_routes() -> None:
    docs = _k8s()
    deployment = docs["Deployment/aiguillage"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    refs = {ref[kind]["name"] for ref in container["envFrom"] for kind in ref}
    assert refs == {"aiguillage"}
    assert "ConfigMap/aiguillage" in docs and "Secret/aiguillage" in docs
    assert pod["volumes"][0]["secret"]["secretName"] == "aiguillage-signing"
    assert "Secret/aiguillage-signing" in docs
    job = docs["Job/aiguillage-migrate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["aiguillage", "migrate"]
    selector = docs["Service/aiguillage"]["spec"]["selector"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    backend = docs["Ingress/aiguillage"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend["service"]["name"] == "aiguillage"
    configured = set(docs["ConfigMap/aiguillage"]["data"]) | set(
        docs["Secret/aiguillage"]["stringData"]
    )
    assert configured <= _known_settings()


def test_kustomization_lists_every_manifest() -> None:
    listed = set(_documents(K8S / "kustomization.yaml")[0]["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_image_and_the_unit_run_unprivileged() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    unit = (DEPLOY / "systemd" / "aiguillage@.service").read_text()
    assert "User=aiguillage" in unit and "NoNewPrivileges=yes" in unit
    assert "ExecStart=/opt/aiguillage/venv/bin/aiguillage serve --port %i" in unit


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", line
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def test_every_dependency_is_pinned_at_a_release_pyproject_allows() -> None:
    """make install and the image take versions from constraints.txt: a dependency added
    to pyproject.toml without `make lock` would be installed at whatever is newest."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = _pins()
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in constraints.txt: run make lock"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} vs {line}"
    assert "-c constraints.txt" in (DEPLOY / "Dockerfile").read_text()
    assert "-c $(CONSTRAINTS)" in (REPO / "Makefile").read_text()
