"""The objects `ferry manifests` prints, against a real Kubernetes control
plane (kube-apiserver, kube-controller-manager, kube-scheduler and etcd
built from the official Go modules at a pinned release; kwok as the node):
the API server's validation accepts every one (server-side dry-run
included), server-side apply with field manager ferry, the Deployment rolls
out through the real deployment controller (RollingUpdate, maxUnavailable
0: a new version that never becomes ready never takes the old one's place),
and the RBAC manifest in docs/ is enough for all of it."""

import base64
import json
import os
import time

import pytest
import yaml

from ferry import ROOT
from kube import ControlPlane
from test_manifests import CANARY, MOTD, d  # noqa: F401  (the module's ferryd fixture)

RBAC = os.path.join(ROOT, "docs", "kubernetes-rbac.yaml")


@pytest.fixture(scope="module")
def cp(tmp_path_factory):
    c = ControlPlane(str(tmp_path_factory.mktemp("k8s")))
    try:
        c.start()
        yield c
    finally:
        c.stop()


def objects(d):
    """The printed objects with the Secret's values filled in (the test set
    them; ferry never prints them)."""
    r = d.cli("manifests", "demo/hello", "--env", "development")
    assert r.rc == 0, r
    objs = [o for o in yaml.safe_load_all(r.out) if o]
    secret = [o for o in objs if o["kind"] == "Secret"][0]
    values = {"GREETING": "ahoy", "API_TOKEN": CANARY}
    for k in secret["data"]:
        secret["data"][k] = base64.b64encode((values.get(k) or MOTD).encode()).decode()
    return objs


def apply(cp, objs, *extra, kubeconfig=None, check=True):
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})
    return cp.kubectl("apply", "--server-side", "--field-manager", "ferry", "-f", "-", *extra,
                      input=doc, kubeconfig=kubeconfig, check=check)


def get(cp, *args):
    return json.loads(cp.kubectl("get", "-o", "json", *args).stdout)


def wait_for(what, fn, timeout=90):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def available(cp, ns, name="hello"):
    dep = get(cp, "-n", ns, "deployment", name)
    st = dep.get("status", {})
    ok = (st.get("observedGeneration", 0) >= dep["metadata"]["generation"] and
          st.get("updatedReplicas") == dep["spec"]["replicas"] and
          st.get("availableReplicas") == dep["spec"]["replicas"] and
          not st.get("unavailableReplicas"))
    return dep if ok else None


def test_every_object_passes_server_dry_run_then_applies_and_rolls_out(d, cp):  # noqa: F811
    objs = objects(d)
    ns = objs[0]["metadata"]["name"]
    # the namespace must exist before a dry run of what goes in it
    apply(cp, objs[:1])
    r = apply(cp, objs[1:], "--dry-run=server")
    assert "serverside-applied (server dry run)" in r.stdout, r.stdout
    assert cp.kubectl("get", "-n", ns, "deployment", "hello", check=False).returncode != 0  # nothing created
    r = apply(cp, objs)
    for kind in ("namespace/" + ns, "networkpolicy.networking.k8s.io/ferry-same-environment",
                 "deployment.apps/hello", "service/hello", "ingress.networking.k8s.io/hello"):
        assert kind + " serverside-applied" in r.stdout, r.stdout
    dep = wait_for("the Deployment to be available", lambda: available(cp, ns))
    mf = get(cp, "-n", ns, "deployment", "hello", "--show-managed-fields")["metadata"]["managedFields"]
    managers = {m["manager"] for m in mf if m["operation"] == "Apply"}
    assert managers == {"ferry"}
    dep_id = dep["metadata"]["labels"]["ferry.dev/deployment-id"]
    rs = get(cp, "-n", ns, "replicaset", "-l", "ferry.dev/deployment-id=" + dep_id)["items"]
    assert len(rs) == 1 and rs[0]["status"]["availableReplicas"] == 1
    pods = get(cp, "-n", ns, "pod", "-l", "ferry.dev/deployment-id=" + dep_id)["items"]
    assert len(pods) == 1 and pods[0]["spec"]["nodeName"] == "kwok-node-0"
    # admitted under Pod Security "restricted" (the namespace's label)
    assert get(cp, "namespace", ns)["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    # the configuration Secret is immutable: the API server refuses a change
    name = [o for o in objs if o["kind"] == "Secret"][0]["metadata"]["name"]
    p = cp.kubectl("patch", "-n", ns, "secret", name, "--type", "merge", "-p", '{"data":{"GREETING":"eA=="}}',
                   check=False)
    assert p.returncode != 0 and "immutable" in p.stderr


def test_a_version_that_never_becomes_ready_does_not_replace_the_serving_one(d, cp):  # noqa: F811
    objs = objects(d)
    ns = objs[0]["metadata"]["name"]
    apply(cp, objs)
    old = wait_for("the first version", lambda: available(cp, ns))
    old_rs = {r["metadata"]["name"] for r in get(cp, "-n", ns, "replicaset")["items"]
              if r["status"].get("availableReplicas")}
    # the next deployment of the same component: new id, new Secret, a
    # readiness probe kwok never passes (tests/k8s/kwok-stages.yaml)
    bad = json.loads(json.dumps(objs))
    for o in bad:
        o["metadata"]["labels"]["ferry.dev/deployment-id"] = "999"
    secret = [o for o in bad if o["kind"] == "Secret"][0]
    secret["metadata"]["name"] = "hello-d999"
    dep = [o for o in bad if o["kind"] == "Deployment"][0]
    tpl = dep["spec"]["template"]
    tpl["metadata"]["labels"]["ferry.dev/deployment-id"] = "999"
    c = tpl["spec"]["containers"][0]
    c["readinessProbe"]["httpGet"]["path"] = "/kwok-never-ready"
    for e in c["env"]:
        if "valueFrom" in e:
            e["valueFrom"]["secretKeyRef"]["name"] = "hello-d999"
    for v in tpl["spec"].get("volumes", []):
        v["secret"]["secretName"] = "hello-d999"
    apply(cp, bad)
    new_pods = wait_for("the new pod to run", lambda: [
        p for p in get(cp, "-n", ns, "pod", "-l", "ferry.dev/deployment-id=999")["items"]
        if p["status"].get("phase") == "Running"])
    time.sleep(3)
    dep_now = get(cp, "-n", ns, "deployment", "hello")
    st = dep_now["status"]
    # surge 1, unavailable 0: the old pod keeps serving, the new one is not ready
    assert st["availableReplicas"] == 1 and st.get("updatedReplicas") == 1, st
    assert st.get("unavailableReplicas") == 1, st
    ready = [c for c in new_pods[0]["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "False"
    still = {r["metadata"]["name"] for r in get(cp, "-n", ns, "replicaset")["items"]
             if r["status"].get("availableReplicas")}
    assert still == old_rs
    # undo: the earlier exact objects applied again; the old ReplicaSet is
    # the one that serves, the unready one is scaled away
    apply(cp, objs)
    back = wait_for("the first version back", lambda: available(cp, ns))
    assert back["spec"]["template"]["metadata"]["labels"]["ferry.dev/deployment-id"] == \
        old["spec"]["template"]["metadata"]["labels"]["ferry.dev/deployment-id"]
    wait_for("the unready pod to go", lambda: not [
        p for p in get(cp, "-n", ns, "pod", "-l", "ferry.dev/deployment-id=999")["items"]
        if not p["metadata"].get("deletionTimestamp")])


def test_the_rbac_manifest_is_enough(d, cp, tmp_path):  # noqa: F811
    cp.kubectl("apply", "-f", RBAC)
    token = cp.kubectl("create", "token", "ferry", "-n", "ferry", "--duration", "1h").stdout.strip()
    kc = cp.write_kubeconfig(str(tmp_path / "ferry.kubeconfig"), token)
    objs = objects(d)
    for o in objs:
        o["metadata"]["labels"]["ferry.dev/environment"] = "development"
    # a fresh project+environment, so the namespace itself is created by ferry's account
    ns = "rbac-check"
    objs[0]["metadata"]["name"] = ns
    for o in objs[1:]:
        o["metadata"]["namespace"] = ns
    r = apply(cp, objs, kubeconfig=kc, check=False)
    assert r.returncode == 0, r.stderr
    wait_for("the Deployment applied by ferry's account", lambda: available(cp, ns))
    for what in (["get", "deployment", "-n", ns], ["get", "replicaset", "-n", ns], ["get", "pod", "-n", ns],
                 ["get", "events", "-n", ns], ["get", "jobs,cronjobs", "-n", ns]):
        p = cp.kubectl(*what, kubeconfig=kc, check=False)
        assert p.returncode == 0, (what, p.stderr)
    pod = get(cp, "-n", ns, "pod")["items"][0]["metadata"]["name"]
    p = cp.kubectl("auth", "can-i", "get", "pods/log", "-n", ns, kubeconfig=kc, check=False)
    assert p.stdout.strip() == "yes", pod
    # and no more than that
    for verb, res in (("create", "clusterroles"), ("get", "nodes"), ("create", "pods"),
                      ("delete", "replicasets")):
        p = cp.kubectl("auth", "can-i", verb, res, "-A", kubeconfig=kc, check=False)
        assert p.stdout.strip() == "no", (verb, res)
    cp.kubectl("delete", "namespace", ns, "--wait=false")
