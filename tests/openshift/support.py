"""Rendering the OpenShift overlays with the real ``kubectl kustomize`` and walking the objects."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
OPENSHIFT = REPO / "openshift"
OVERLAYS = ("dev", "ha")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")

Obj = dict[str, Any]


def kustomize(path: Path) -> list[Obj]:
    """``kubectl kustomize <path>``: the objects an ``oc apply -k`` would send."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is required to render the manifests"
    proc = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"kubectl kustomize {path} failed:\n{proc.stderr}"
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@cache
def rendered(overlay: str) -> tuple[Obj, ...]:
    return tuple(kustomize(OPENSHIFT / "overlays" / overlay))


def named(objects: tuple[Obj, ...], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def of_kind(objects: tuple[Obj, ...], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def pod_spec(obj: Obj) -> Obj | None:
    """The pod template's spec of a workload (CronJob: through its job template)."""
    kind = obj["kind"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if kind in WORKLOAD_KINDS:
        return obj["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def pod_labels(obj: Obj) -> dict[str, str]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})  # type: ignore[no-any-return]
    return obj["spec"]["template"]["metadata"].get("labels", {})  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Container:
    owner: str  # Kind/name
    spec: Obj
    pod: Obj
    init: bool

    @property
    def name(self) -> str:
        return f"{self.owner} container {self.spec['name']}"


def containers(objects: tuple[Obj, ...]) -> Iterator[Container]:
    for obj in objects:
        pod = pod_spec(obj)
        if pod is None:
            continue
        owner = f"{obj['kind']}/{obj['metadata']['name']}"
        for spec in pod.get("initContainers", []):
            yield Container(owner, spec, pod, init=True)
        for spec in pod["containers"]:
            yield Container(owner, spec, pod, init=False)


def public_api_prefixes(objects: tuple[Obj, ...]) -> set[str]:
    """The paths of the Routes on the public API host (label litemaas.io/host=api)."""
    return {
        o["spec"]["path"]
        for o in of_kind(objects, "Route")
        if o["metadata"].get("labels", {}).get("litemaas.io/host") == "api"
    }


def router_matches(route_path: str, request_path: str) -> bool:
    """The OpenShift router's path rule (router/pkg/router/template/util GenerateRouteRegexp): a
    path without a trailing slash matches itself and anything below it segment-wise."""
    if route_path.rstrip("/") == "":
        return True
    if route_path.endswith("/"):
        return request_path.startswith(route_path)
    return request_path == route_path or request_path.startswith(route_path + "/")
