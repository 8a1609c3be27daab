"""The OpenShift manifests as an operator applies them: every overlay rendered by the real
``kubectl kustomize``, validated against the Kubernetes schemas (``kubernetes-validate``) and
our own for OpenShift's and the Prometheus operator's kinds, then checked object by object.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from litemaas import cli
from litemaas.config import Settings, env_name
from litemaas.litellm_admin.access import KEY_ALLOWED_ROUTES
from tests.openshift.support import (
    OPENSHIFT,
    OVERLAYS,
    REPO,
    Container,
    Obj,
    containers,
    kustomize,
    named,
    of_kind,
    pod_labels,
    pod_spec,
    public_api_prefixes,
    rendered,
)

# OpenShift 4.17 runs Kubernetes 1.30.
KUBERNETES_VERSION = "1.30.0"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# Third-party images that write their configuration at start (Red Hat's PostgreSQL and Redis).
WRITABLE_ROOT = {"postgresql", "redis"}
ADMIN_PATHS = ("/key", "/user", "/team", "/model/new", "/ui", "/spend", "/global", "/config", "/organization")

# --- schemas of ours for the kinds kubernetes-validate does not know -------------------------

_STR = {"type": "string", "minLength": 1}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _STR, "labels": _LABELS, "annotations": _LABELS},
}
ROUTE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "route.openshift.io/v1"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["host", "to", "tls", "port"],
            "properties": {
                "host": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"},
                "path": {"type": "string", "pattern": "^/"},
                "to": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "name"],
                    "properties": {"kind": {"const": "Service"}, "name": _STR, "weight": {"type": "integer"}},
                },
                "port": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["targetPort"],
                    "properties": {"targetPort": {"type": ["string", "integer"]}},
                },
                "tls": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["termination", "insecureEdgeTerminationPolicy"],
                    "properties": {
                        "termination": {"enum": ["edge", "reencrypt", "passthrough"]},
                        "insecureEdgeTerminationPolicy": {"enum": ["Redirect", "None", "Allow"]},
                    },
                },
                "wildcardPolicy": {"enum": ["None", "Subdomain"]},
            },
        },
    },
}
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "required": ["matchLabels"],
                    "properties": {"matchLabels": _LABELS},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port", "path"],
                        "properties": {
                            "port": _STR,
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": r"^[0-9]+[smh]$"},
                            "scrapeTimeout": {"type": "string", "pattern": r"^[0-9]+[smh]$"},
                            "honorLabels": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["groups"],
            "properties": {
                "groups": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name", "rules"],
                        "properties": {
                            "name": _STR,
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["alert", "expr", "labels", "annotations"],
                                    "properties": {
                                        "alert": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*$"},
                                        "expr": _STR,
                                        "for": {"type": "string", "pattern": r"^[0-9]+[smh]$"},
                                        "labels": {
                                            "type": "object",
                                            "required": ["severity"],
                                            "properties": {"severity": {"enum": ["info", "warning", "critical"]}},
                                        },
                                        "annotations": {
                                            "type": "object",
                                            "required": ["summary"],
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}
OUR_SCHEMAS = {
    "Route": ROUTE_SCHEMA,
    "ServiceMonitor": SERVICE_MONITOR_SCHEMA,
    "PrometheusRule": PROMETHEUS_RULE_SCHEMA,
}


def _all_objects() -> list[tuple[str, Obj]]:
    return [(overlay, obj) for overlay in OVERLAYS for obj in rendered(overlay)]


# --- rendering and schemas ----------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_the_whole_deployment(overlay: str) -> None:
    objects = rendered(overlay)
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for expected in [
        ("Deployment", "litemaas-proxy"),
        ("Deployment", "litemaas-backend"),
        ("Deployment", "litemaas-redis"),
        ("StatefulSet", "litemaas-postgresql"),
        ("Job", "litemaas-migrate"),
        ("CronJob", "litemaas-cleanup-keys"),
        ("CronJob", "litemaas-backup"),
        ("CronJob", "litemaas-reconcile"),
        ("Service", "litemaas-proxy"),
        ("Service", "litemaas-backend"),
        ("Route", "litemaas-portal"),
        ("Route", "litemaas-admin-api"),
        ("NetworkPolicy", "litemaas-default-deny"),
        ("ServiceMonitor", "litemaas-proxy"),
        ("ServiceMonitor", "litemaas-backend"),
        ("PrometheusRule", "litemaas"),
        ("ServiceAccount", "litemaas-backend"),
    ]:
        assert expected in kinds, f"{overlay}: {expected} missing"
    # Never a Secret with a value: the only Secret is the token the cluster fills in.
    secrets = of_kind(objects, "Secret")
    assert [s["type"] for s in secrets] == ["kubernetes.io/service-account-token"]
    assert all("data" not in s and "stringData" not in s for s in secrets)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_validate_against_the_kubernetes_schemas(overlay: str) -> None:
    checked = 0
    for obj in rendered(overlay):
        schema = OUR_SCHEMAS.get(obj["kind"])
        if schema is not None:
            jsonschema.validate(obj, schema)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked > 30


def test_the_validators_refuse_broken_objects() -> None:
    """Both validators catch a real mistake (so the tests above can fail)."""
    deployment = dict(named(rendered("dev"), "Deployment", "litemaas-proxy"))
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = broken["spec"]["template"]["spec"][
        "containers"
    ][0].pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    route = yaml.safe_load(yaml.safe_dump(named(rendered("dev"), "Route", "litemaas-portal")))
    route["spec"]["tls"]["termination"] = "edge-ish"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(route, ROUTE_SCHEMA)


# --- containers: probes, resources, restricted SCC ---------------------------------------------


def _all_containers() -> list[tuple[str, Container]]:
    return [(overlay, c) for overlay in OVERLAYS for c in containers(rendered(overlay))]


TMP = "/tmp"  # noqa: S108  the mount path the check looks for, not a file written here


def _security_problems(c: Container) -> list[str]:
    sc = c.spec.get("securityContext", {})
    pod_sc = c.pod.get("securityContext", {})
    problems = []
    if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
        problems.append("runAsNonRoot")
    if "runAsUser" in sc or "runAsUser" in pod_sc:
        problems.append("sets runAsUser (OpenShift assigns an arbitrary UID)")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        problems.append("capabilities must drop ALL")
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append("seccompProfile RuntimeDefault")
    if sc.get("readOnlyRootFilesystem") is not True and c.spec["name"] not in WRITABLE_ROOT:
        problems.append("readOnlyRootFilesystem")
    if sc.get("readOnlyRootFilesystem"):
        volumes = {v["name"]: v for v in c.pod.get("volumes", [])}
        tmp = [m for m in c.spec.get("volumeMounts", []) if m["mountPath"] == TMP]
        if not tmp or "emptyDir" not in volumes[tmp[0]["name"]]:
            problems.append("read-only root needs an emptyDir at /tmp")
    return problems


def _sizing_problems(c: Container) -> list[str]:
    resources = c.spec.get("resources", {})
    problems = [
        f"resources.{kind}.{resource}"
        for kind in ("requests", "limits")
        for resource in ("cpu", "memory")
        if resource not in resources.get(kind, {})
    ]
    if c.spec.get("ports") and not c.init:
        problems += [
            f"serves a port without a {probe}"
            for probe in ("startupProbe", "livenessProbe", "readinessProbe")
            if probe not in c.spec
        ]
    return problems


def test_every_container_is_restricted_and_sized() -> None:
    problems = [
        f"{overlay}: {c.name}: {problem}"
        for overlay, c in _all_containers()
        for problem in _security_problems(c) + _sizing_problems(c)
    ]
    assert not problems, "\n".join(problems)


def _backend_paths() -> set[str]:
    from fastapi.routing import iter_route_contexts

    from litemaas.app import create_app

    app = create_app()
    return {ctx.path_format for ctx in iter_route_contexts(app.routes)}


def test_probes_call_the_real_health_endpoints() -> None:
    backend_paths = _backend_paths()
    objects = rendered("ha")
    for name, expected in (
        ("litemaas-backend", {"/api/v1/health/live", "/api/v1/health/ready"}),
        ("litemaas-proxy", {"/health/liveliness", "/health/readiness"}),
    ):
        container = pod_spec(named(objects, "Deployment", name))["containers"][0]  # type: ignore[index]
        paths = {container[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")}
        assert paths == expected, name
        assert "/health/readiness" in container["readinessProbe"]["httpGet"]["path"] or name == "litemaas-backend"
    assert {"/api/v1/health/live", "/api/v1/health/ready", "/metrics"} <= backend_paths
    # The backend's readiness asks the proxy at /health/liveliness, the path the proxy probes use.
    source = (REPO / "litemaas" / "health" / "router.py").read_text()
    assert '"/health/liveliness"' in source


# --- settings, secrets and commands -------------------------------------------------------------


def _env_names(c: Container, objects: tuple[Obj, ...]) -> dict[str, str]:
    """Every environment variable of a container and where it comes from (ConfigMaps by envFrom)."""
    names: dict[str, str] = {}
    for source in c.spec.get("envFrom", []):
        ref = source.get("configMapRef")
        assert ref, f"{c.name}: envFrom only from ConfigMaps (secrets by key)"
        for key in named(objects, "ConfigMap", ref["name"])["data"]:
            names[key] = f"ConfigMap/{ref['name']}"
    for var in c.spec.get("env", []):
        names[var["name"]] = "env"
    return names


def _unknown_settings() -> dict[str, set[str]]:
    """``LITEMAAS_*`` names in the manifests that are no field of Settings, with where they are."""
    settings = {env_name(field) for field in Settings.model_fields}
    unknown: dict[str, set[str]] = {}
    for overlay, c in _all_containers():
        for name, origin in _env_names(c, rendered(overlay)).items():
            if name.startswith("LITEMAAS_") and name not in settings:
                unknown.setdefault(name, set()).add(origin if origin != "env" else c.owner)
    return unknown


# Backup settings come with the backup branch of the same issue (litemaas backup ...).
_BACKUP_SETTINGS = "LITEMAAS_BACKUP_"


def test_every_litemaas_variable_is_a_real_setting() -> None:
    unknown = {name: where for name, where in _unknown_settings().items() if not name.startswith(_BACKUP_SETTINGS)}
    assert not unknown, "not fields of litemaas.config.Settings: " + repr(unknown)


def test_backup_variables_are_real_settings() -> None:
    """Fails until the backup branch is merged (its LITEMAAS_BACKUP_* settings)."""
    unknown = {name: where for name, where in _unknown_settings().items() if name.startswith(_BACKUP_SETTINGS)}
    assert not unknown, "not fields of litemaas.config.Settings: " + repr(unknown)


def test_variable_references_and_secret_keys_resolve() -> None:
    """``$(VAR)`` only names variables the container has, and every secret key is documented in
    openshift/secret.example.yaml (the one list of secrets an operator creates)."""
    examples = {
        doc["metadata"]["name"]: set(doc["stringData"])
        for doc in yaml.safe_load_all((OPENSHIFT / "secret.example.yaml").read_text())
    }
    token_secret = "litemaas-backend-oauth-token"
    problems = []
    for overlay, c in _all_containers():
        defined = set(_env_names(c, rendered(overlay)))
        for var in c.spec.get("env", []):
            for ref in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", var.get("value", "")):
                if ref not in defined:
                    problems.append(f"{c.name}: $({ref}) in {var['name']} is not defined")
            secret_ref = var.get("valueFrom", {}).get("secretKeyRef")
            if secret_ref and secret_ref["key"] not in examples.get(secret_ref["name"], set()):
                problems.append(f"{c.name}: secret {secret_ref['name']}/{secret_ref['key']} not in secret.example.yaml")
        for volume in c.pod.get("volumes", []):
            if "secret" in volume:
                assert volume["secret"]["secretName"] == token_secret
    assert not problems, "\n".join(problems)
    # The example carries placeholders only.
    for doc in yaml.safe_load_all((OPENSHIFT / "secret.example.yaml").read_text()):
        for key, value in doc["stringData"].items():
            assert "REPLACE_ME" in value or key == "username", f"{doc['metadata']['name']}/{key} looks like a value"


def parse_command(argv: list[str]) -> str:
    """Parse ``argv`` with the real ``litemaas`` CLI, running nothing: the path of the command.

    Groups are walked with ``resilient_parsing`` (no callbacks, no required-value checks); the
    leaf command is parsed strictly, because resilient parsing silently drops unknown options
    (``--bogus`` would pass) and extra arguments. ``make_context`` never invokes a command.
    """
    assert argv[0] == "litemaas", argv
    command: Any = typer.main.get_command(cli.app)
    ctx = command.make_context("litemaas", list(argv[1:]), resilient_parsing=True)
    path = ["litemaas"]
    while hasattr(command, "resolve_command"):
        rest = [*ctx._protected_args, *ctx.args]  # click keeps the subcommand in _protected_args
        if not rest:
            assert command.invoke_without_command, f"{' '.join(path)} needs a subcommand"
            return " ".join(path)
        name, sub, args = command.resolve_command(ctx, rest)
        assert sub is not None, f"no command {rest[0]!r} under {' '.join(path)}"
        path.append(name)
        strict = not hasattr(sub, "resolve_command")
        ctx = sub.make_context(name, args, parent=ctx, resilient_parsing=not strict)
        command = sub
    assert not ctx.args, f"{' '.join(path)}: unexpected arguments {ctx.args}"
    return " ".join(path)


def _commands() -> dict[str, list[str]]:
    return {c.name: c.spec["command"] for overlay, c in _all_containers() if overlay == "ha" and "command" in c.spec}


def test_command_parser_refuses_what_the_cli_would() -> None:
    assert parse_command(["litemaas", "db", "upgrade"]) == "litemaas db upgrade"
    assert parse_command(["litemaas", "proxy"]) == "litemaas proxy"
    assert parse_command(["litemaas", "serve", "--graceful-timeout", "20"]) == "litemaas serve"
    with pytest.raises(AssertionError, match="no command 'nope'"):
        parse_command(["litemaas", "nope"])
    with pytest.raises(AssertionError, match="needs a subcommand"):
        parse_command(["litemaas", "db"])
    with pytest.raises(typer.TyperException, match="No such option: --bogus"):
        parse_command(["litemaas", "db", "upgrade", "--bogus"])
    with pytest.raises(typer.BadParameter, match="integer"):
        parse_command(["litemaas", "serve", "--port", "eighty"])


# The commands that exist on main when this branch was made; `jobs cleanup-keys` and
# `backup create|prune` come from the key-cleanup and backup branches of the same issue.
_FROM_OTHER_BRANCHES = ("litemaas jobs cleanup-keys", "litemaas backup create", "litemaas backup prune")


def test_every_container_command_is_a_real_litemaas_command() -> None:
    commands = _commands()
    assert len(commands) >= 8
    parsed = {}
    for name, argv in commands.items():
        if " ".join(argv[:3]) in _FROM_OTHER_BRANCHES:
            continue
        parsed[name] = parse_command(argv)
    assert set(parsed.values()) >= {"litemaas proxy", "litemaas serve", "litemaas db upgrade", "litemaas reconcile"}
    assert "litemaas proxy migrate" in parsed.values()


@pytest.mark.parametrize("expected", _FROM_OTHER_BRANCHES)
def test_job_commands_of_the_cleanup_and_backup_work_parse(expected: str) -> None:
    """Fails until the key-cleanup and backup branches are merged (their commands)."""
    argvs = [argv for argv in _commands().values() if " ".join(argv[:3]) == expected]
    assert argvs, f"no container runs {expected}"
    for argv in argvs:
        assert parse_command(argv) == expected


# --- routes -------------------------------------------------------------------------------------


def test_public_api_routes_are_exactly_the_user_key_allowlist() -> None:
    for overlay in OVERLAYS:
        objects = rendered(overlay)
        assert public_api_prefixes(objects) == set(KEY_ALLOWED_ROUTES), overlay
        for route in of_kind(objects, "Route"):
            host = route["metadata"]["labels"]["litemaas.io/host"]
            if host == "api":
                assert route["spec"]["to"]["name"] == "litemaas-proxy"
            else:
                assert route["spec"]["to"]["name"] in ("litemaas-backend", "litemaas-no-backend")
            for admin in ADMIN_PATHS:
                assert not (host == "api" and route["spec"]["path"].startswith(admin)), route["metadata"]["name"]


def test_every_route_is_edge_tls_with_redirect_and_a_600s_timeout() -> None:
    for overlay in OVERLAYS:
        for route in of_kind(rendered(overlay), "Route"):
            assert route["spec"]["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
            assert route["metadata"]["annotations"]["haproxy.router.openshift.io/timeout"] == "600s"
        hosts = {
            r["metadata"]["labels"]["litemaas.io/host"]: r["spec"]["host"] for r in of_kind(rendered(overlay), "Route")
        }
        assert len(set(hosts.values())) == 3, hosts
        config = named(rendered(overlay), "ConfigMap", "litemaas-config")["data"]
        assert config["LITEMAAS_PUBLIC_URL"] == f"https://{hosts['portal']}"
        assert config["LITEMAAS_PUBLIC_PROXY_URL"] == f"https://{hosts['api']}"


def test_backend_metrics_are_not_on_the_portal_host() -> None:
    objects = rendered("ha")
    blocked = named(objects, "Route", "litemaas-portal-metrics-blocked")
    assert blocked["spec"]["path"] == "/metrics"
    service = named(objects, "Service", blocked["spec"]["to"]["name"])
    selector = service["spec"]["selector"]
    assert not any(all(pod_labels(o).get(k) == v for k, v in selector.items()) for o in objects if pod_spec(o))


def test_oauth_client_is_the_backend_service_account() -> None:
    objects = rendered("ha")
    account = named(objects, "ServiceAccount", "litemaas-backend")
    reference = account["metadata"]["annotations"]["serviceaccounts.openshift.io/oauth-redirectreference.portal"]
    assert '"name":"litemaas-portal"' in reference.replace(" ", "")
    backend = pod_spec(named(objects, "Deployment", "litemaas-backend"))
    assert backend is not None
    assert backend["serviceAccountName"] == "litemaas-backend"
    env = {e["name"]: e for e in backend["containers"][0]["env"]}
    assert env["LITEMAAS_OPENSHIFT_CLIENT_ID"]["value"] == "system:serviceaccount:$(POD_NAMESPACE):litemaas-backend"
    token = named(objects, "Secret", "litemaas-backend-oauth-token")
    assert token["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "litemaas-backend"


# --- network policies ---------------------------------------------------------------------------


def test_network_policies_follow_what_each_pod_uses() -> None:
    """Default deny, and the labels that open a flow sit exactly on the pods that need it."""
    for overlay in OVERLAYS:
        objects = rendered(overlay)
        deny = named(objects, "NetworkPolicy", "litemaas-default-deny")
        assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        for obj in objects:
            pod = pod_spec(obj)
            if pod is None or obj["metadata"]["name"] in ("litemaas-postgresql", "litemaas-redis"):
                continue
            labels = pod_labels(obj)
            env = {e["name"] for c in pod.get("initContainers", []) + pod["containers"] for e in c.get("env", [])}
            where = f"{overlay}: {obj['kind']}/{obj['metadata']['name']}"
            uses_db = bool({"LITEMAAS_DATABASE_URL", "LITEMAAS_LITELLM_DATABASE_URL"} & env)
            assert (labels.get("litemaas.io/database-client") == "true") == uses_db, where
            assert (labels.get("litemaas.io/redis-client") == "true") == ("LITEMAAS_REDIS_URL" in env), where
            is_proxy = obj["metadata"]["name"] == "litemaas-proxy"
            calls_admin_api = "LITEMAAS_MASTER_KEY" in env and not is_proxy
            assert (labels.get("litemaas.io/proxy-admin-client") == "true") == calls_admin_api, where
        postgres = named(objects, "NetworkPolicy", "litemaas-postgresql-ingress")["spec"]["ingress"]
        assert postgres == [
            {
                "from": [{"podSelector": {"matchLabels": {"litemaas.io/database-client": "true"}}}],
                "ports": [{"protocol": "TCP", "port": 5432}],
            }
        ]
        proxy_from = named(objects, "NetworkPolicy", "litemaas-proxy-ingress")["spec"]["ingress"][0]["from"]
        assert {"podSelector": {"matchLabels": {"litemaas.io/proxy-admin-client": "true"}}} in proxy_from
        assert all("podSelector" not in peer or "namespaceSelector" not in peer for peer in proxy_from)
        models = named(objects, "NetworkPolicy", "litemaas-proxy-models-egress")["spec"]["egress"][0]["to"]
        assert models == [{"namespaceSelector": {"matchLabels": {"litemaas.io/model-serving": "true"}}}]


# --- ha and production images -------------------------------------------------------------------


def test_ha_runs_three_proxies_and_three_backends_on_different_nodes() -> None:
    objects = rendered("ha")
    for name in ("litemaas-proxy", "litemaas-backend"):
        deployment = named(objects, "Deployment", name)
        assert deployment["spec"]["replicas"] == 3
        anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        term = anti["requiredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        pdb = named(objects, "PodDisruptionBudget", name)
        assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        assert 1 < pdb["spec"]["minAvailable"] < 3
    assert not of_kind(rendered("dev"), "PodDisruptionBudget")
    assert named(rendered("dev"), "Deployment", "litemaas-proxy")["spec"]["replicas"] == 1


def test_ha_images_are_digests() -> None:
    images = [c.spec["image"] for c in containers(rendered("ha"))]
    assert images
    tagged = [image for image in images if not DIGEST.search(image)]
    assert not tagged, f"mutable tags in the ha overlay: {tagged}"


def _check_images(overlay: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(OPENSHIFT / "check-images.sh"), str(overlay)], capture_output=True, text=True, timeout=120, check=False
    )


def test_check_images_refuses_tags_and_placeholder_digests(tmp_path: Path) -> None:
    placeholder = _check_images(OPENSHIFT / "overlays" / "ha")
    assert placeholder.returncode == 1
    assert "placeholder digest" in placeholder.stderr

    def overlay(name: str, images: list[dict[str, str]]) -> Path:
        path = tmp_path / name
        path.mkdir()
        # kustomize takes other kustomizations by relative path only.
        kustomization = {"resources": [os.path.relpath(OPENSHIFT / "overlays" / "ha", path)], "images": images}
        (path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        return path

    # kustomize matches images by name and replaces the digest the ha overlay set.
    pinned = overlay(
        "pinned",
        [
            {"name": "quay.io/example/litemaas", "digest": "sha256:" + "a" * 64},
            {"name": "registry.redhat.io/rhel9/postgresql-16", "digest": "sha256:" + "b" * 64},
            {"name": "registry.redhat.io/rhel9/redis-7", "digest": "sha256:" + "c" * 64},
        ],
    )
    passed = _check_images(pinned)
    assert passed.returncode == 0, passed.stderr
    tagged = overlay("tagged", [{"name": "quay.io/example/litemaas", "newTag": "v1.2"}])
    result = _check_images(tagged)
    assert result.returncode == 1
    assert "not pinned by digest" in result.stderr


# --- LiteLLM configuration and alerts -----------------------------------------------------------


def test_cluster_litellm_config_is_the_repository_config_without_demo_models() -> None:
    """Everything but the model list equals litellm_config/config.yaml; only Prometheus is added."""
    cluster = yaml.safe_load(named(rendered("ha"), "ConfigMap", "litellm-config")["data"]["config.yaml"])
    repo = yaml.safe_load((REPO / "litellm_config" / "config.yaml").read_text())
    assert cluster["model_list"] == []
    for section in ("router_settings", "guardrails", "general_settings"):
        assert cluster[section] == repo[section], section
    cluster_settings, repo_settings = dict(cluster["litellm_settings"]), dict(repo["litellm_settings"])
    assert cluster_settings.pop("callbacks") == [*repo_settings.pop("callbacks"), "prometheus"]
    assert cluster_settings == repo_settings
    assert set(cluster) == set(repo)


def test_alerts_cover_errors_backups_cleanup_and_replicas() -> None:
    rules = [
        rule
        for group in named(rendered("ha"), "PrometheusRule", "litemaas")["spec"]["groups"]
        for rule in group["rules"]
    ]
    exprs = {rule["alert"]: rule["expr"] for rule in rules}
    assert "litellm_proxy_failed_requests_metric_total" in exprs["LiteMaaSProxyHigh5xxRate"]
    assert "litemaas_http_requests_total" in exprs["LiteMaaSBackendErrors"]
    assert 'litemaas_job_last_success_timestamp_seconds{job="backup"}' in exprs["LiteMaaSBackupTooOld"]
    assert "35 * 86400" in exprs["LiteMaaSBackupTooOld"]
    assert 'litemaas_job_last_run_failed{job="cleanup-keys"}' in exprs["LiteMaaSKeyCleanupFailed"]
    assert "kube_deployment_status_replicas_available" in exprs["LiteMaaSReplicaDown"]
    # The backend's own metric names, as its /metrics renders them.
    from litemaas.kit.metrics import HttpMetrics

    assert "litemaas_http_requests_total" in HttpMetrics().render()


def test_base_renders_alone() -> None:
    objects = kustomize(OPENSHIFT / "base")
    assert not [o for o in objects if o["kind"] in ("StatefulSet",)], "PostgreSQL belongs to its component"


def _container_environment(
    c: Container, objects: tuple[Obj, ...], secrets: dict[tuple[str, str], str]
) -> dict[str, str]:
    """The environment Kubernetes would give the container: ConfigMaps, secret keys (from the
    filled-in example), the pod's namespace, then ``$(VAR)`` expanded in order."""
    env: dict[str, str] = {}
    for source in c.spec.get("envFrom", []):
        env.update(named(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in c.spec.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], var["value"])
        elif "secretKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[(ref["name"], ref["key"])]
        else:
            assert var["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
            env[var["name"]] = "litemaas"
    return env


def test_every_litemaas_container_gets_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings load from each container's environment (production rules included) and carry
    what the process needs: the values an operator fills into secret.example.yaml, composed as
    the pod composes them."""
    import secrets as random_secrets

    filled: dict[tuple[str, str], str] = {}
    for doc in yaml.safe_load_all((OPENSHIFT / "secret.example.yaml").read_text()):
        for key, value in doc["stringData"].items():
            filled[(doc["metadata"]["name"], key)] = value.replace("REPLACE_ME", random_secrets.token_hex(32))
    objects = rendered("ha")
    needs = {
        "litemaas proxy": ("master_key", "litellm_database_url", "redis_url", "salt_key"),
        "litemaas serve": ("master_key", "database_url", "litellm_database_url", "redis_url", "session_secret"),
        "litemaas proxy migrate": ("litellm_database_url",),
        "litemaas db upgrade": ("database_url",),
        "litemaas reconcile": ("master_key", "database_url"),
    }
    seen = set()
    for c in containers(objects):
        if c.spec.get("command", [""])[0] != "litemaas":
            continue
        env = _container_environment(c, objects, filled)
        for name in list(os.environ):
            if name.startswith("LITEMAAS_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        command = " ".join(word for word in c.spec["command"] if not word.startswith("-") and not word.isdigit())
        for field in needs.get(command, ()):
            assert getattr(settings, field), f"{c.name}: {field} is not set"
        seen.add(command)
        if command == "litemaas serve":
            assert settings.environment == "production"
            assert settings.openshift_client_id == "system:serviceaccount:litemaas:litemaas-backend"
            assert settings.database_url and settings.database_url.startswith("postgresql+asyncpg://")
    assert set(needs) <= seen, seen


def test_pvc_snapshot_component_renders_restricted_with_least_rbac(tmp_path: Path) -> None:
    """The opt-in VolumeSnapshot fallback, added to ``ha`` as an operator would."""
    overlay = tmp_path / "with-snapshots"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(OPENSHIFT / "overlays" / "ha", overlay)],
                "components": [os.path.relpath(OPENSHIFT / "components" / "pvc-snapshots", overlay)],
            }
        )
    )
    objects = tuple(kustomize(overlay))
    for obj in objects:
        if obj["kind"] not in OUR_SCHEMAS:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    snapshot = [c for c in containers(objects) if c.owner == "CronJob/litemaas-pvc-snapshot"]
    assert len(snapshot) == 1
    assert _security_problems(snapshot[0]) + _sizing_problems(snapshot[0]) == []
    role = named(objects, "Role", "litemaas-snapshots")
    assert role["rules"] == [
        {
            "apiGroups": ["snapshot.storage.k8s.io"],
            "resources": ["volumesnapshots"],
            "verbs": ["create", "get", "list", "delete"],
        }
    ]
    statefulset = named(objects, "StatefulSet", "litemaas-postgresql")
    claim = f"{statefulset['spec']['volumeClaimTemplates'][0]['metadata']['name']}-litemaas-postgresql-0"
    assert named(objects, "ConfigMap", "litemaas-snapshots")["data"]["SNAPSHOT_PVC"] == claim
