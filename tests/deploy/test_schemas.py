"""The deployment files as the real tools read them, offline: ``deploy/compose.yaml``
through Debian's ``docker-compose`` (the Compose specification schema it ships, its
interpolation and merging; ``config`` needs no Docker daemon), the Kubernetes manifests
against the API's OpenAPI schemas bundled by ``kubernetes-validate``, and the settings
both hand the broker through the broker's own ``Settings``.

What this cannot show: that the images run together (compose with real images) or that
a cluster accepts the manifests (admission, the Pod Security ``restricted`` profile).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_schemas

from broker.settings import Settings
from tests.support.topology import DEPLOY

COMPOSE = Path("/usr/bin/docker-compose")
K8S = DEPLOY / "k8s"
KEY = "o5yZ2sFq3jYl1o7bCqk1bB2ZqY4m1r8vZy3k5u7w9x0="  # a dummy key, 32 bytes in base64
SCHEMA_VERSIONS = sorted(set(kubernetes_schemas.all_versions()))


def _compose_config(*, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIGUILLAGE_", "POSTGRES_"))}
    if key is not None:
        env["AIGUILLAGE_ENCRYPTION_KEY"] = key
    return subprocess.run(
        [str(COMPOSE), "--file", str(DEPLOY / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc is not None
    ]


def _broker_settings(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings as a broker started with exactly ``env`` reads them."""
    for name in [n for n in os.environ if n.startswith("AIGUILLAGE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return Settings()


def test_compose_file_is_valid_for_docker_compose_and_demands_the_encryption_key() -> None:
    refused = _compose_config(key=None)
    assert refused.returncode == 1
    assert "set a 32-byte base64 key" in refused.stderr
    resolved = _compose_config(key=KEY)
    assert resolved.returncode == 0, resolved.stderr
    services = yaml.safe_load(resolved.stdout)["services"]
    # The anchors resolved as compose resolves them: one environment for init and brokers.
    broker = services["broker-a"]["environment"]
    assert services["broker-b"]["environment"] == services["init"]["environment"] == broker
    assert broker["AIGUILLAGE_ENCRYPTION_KEY"] == KEY
    assert services["nginx"]["depends_on"] == {
        "broker-a": {"condition": "service_healthy"},
        "broker-b": {"condition": "service_healthy"},
    }
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services["init"]["volumes"]}
    assert Path(mounts["/etc/aiguillage"]) == DEPLOY / "compose"


def test_the_brokers_read_compose_environment_as_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    resolved = _compose_config(key=KEY)
    env = yaml.safe_load(resolved.stdout)["services"]["broker-a"]["environment"]
    settings = _broker_settings(monkeypatch, env)
    assert settings.issuer == "http://127.0.0.1:8000" and settings.port == 8000
    assert settings.database_url.startswith("postgresql+asyncpg://aiguillage:")
    assert settings.trusted_proxies == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    assert len(settings.encryption_key_bytes()) == 32


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_kubernetes_manifests_match_the_api_schemas(version: str) -> None:
    """Strict: a misspelt or misplaced field fails, as ``kubectl apply --validate`` would."""
    for _, doc in _manifests():
        kubernetes_validate.validate(doc, version, strict=True)  # raises, naming the field


def test_the_schemas_refuse_a_misspelt_field() -> None:
    """The check above can fail: the same Deployment with one key misspelt does."""
    deployment = next(doc for _, doc in _manifests() if doc["kind"] == "Deployment")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    probe["httpGet"]["pth"] = probe["httpGet"].pop("path")
    with pytest.raises(kubernetes_validate.ValidationError, match="'pth' was unexpected"):
        kubernetes_validate.validate(deployment, SCHEMA_VERSIONS[-1], strict=True)


def test_kustomization_names_existing_files_and_the_image_the_manifests_use() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    images = {
        container["image"]
        for _, doc in _manifests()
        if doc["kind"] in ("Deployment", "Job")
        for container in doc["spec"]["template"]["spec"]["containers"]
    }
    assert images == {image["name"] for image in kustomization["images"]}
    assert kustomization["namespace"] == "aiguillage"
    kinds = {doc["kind"] for _, doc in _manifests()}
    assert kinds == {"Namespace", "ConfigMap", "Secret", "Job", "Deployment", "Service", "Ingress"}


def test_the_brokers_read_the_configmap_as_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    configmap = next(doc for _, doc in _manifests() if doc["kind"] == "ConfigMap")
    settings = _broker_settings(monkeypatch, configmap["data"])
    assert settings.issuer == "https://consentement.example.org"
    assert settings.cookie_secure is True and settings.port == 8000
    assert settings.trusted_proxies == ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
