"""ferryd --runtime kubernetes against a real Kubernetes control plane
(kube-apiserver, kube-controller-manager, kube-scheduler, etcd built from
the official Go modules at a pinned release; kwok as the node and its
kubelet), driven through the real ferry CLI: deploy, promote (the same
digest in two namespaces), runtime logs, a configuration change (a new
immutable Secret and a rollout), rollback, a readiness that never passes
(undone: the previous ReplicaSet serves on), drift repair (a hand-deleted
Deployment, a hand-scaled one), kill -9 of ferryd in the middle of a
rollout and adoption after the restart, a manual task as a Job with its
exit code and output, a scheduled task's CronJob, undeploy.

ferryd talks to the API server as the service account of
docs/kubernetes-rbac.yaml, with kubectl from the same release. Builds are
real (buildah) and go to an external registry (docker-registry on
loopback, started here); kwok pulls nothing and runs no program: pod
phases, readiness, exit codes and output are kwok's simulation
(tests/k8s/kwok-stages.yaml, kube.POD_LINES)."""

import base64
import json
import os
import signal
import subprocess
import time

import pytest

from ferry import ROOT, Ferryd, free_port
from gitserve import Repo, remove_local_images_for
from kube import POD_LINES, ControlPlane
from test_base_registry import Upstream
from test_kube_control_plane import wait_for
from test_rollout import hello_files
from test_tasks import task_files

RBAC = os.path.join(ROOT, "docs", "kubernetes-rbac.yaml")
NEVER_READY = "/kwok-never-ready"


def sa_kubeconfig(cp, path):
    cp.kubectl("apply", "-f", RBAC)
    token = cp.kubectl("create", "token", "ferry", "-n", "ferry", "--duration", "4h").stdout.strip()
    return cp.write_kubeconfig(path, token)


class Env:
    pass


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("kuberuntime"))
    cp = ControlPlane(os.path.join(root, "k8s"))
    os.makedirs(cp.root)
    reg = Upstream(root)
    f = None
    try:
        cp.start()
        reg.start()
        kc = sa_kubeconfig(cp, os.path.join(root, "ferry.kubeconfig"))
        data = os.path.join(root, "data")
        reg.url = "http://127.0.0.1:%d" % reg.port
        f = Ferryd(data, extra=["--runtime", "kubernetes", "--registry", reg.url, "--kubeconfig", kc,
                                "--kubectl", os.path.join(cp.bin, "kubectl"),
                                "--ingress-class", "nginx"])
        f.start()
        f.ok("project", "create", "demo")
        repo = Repo(root, name="app")
        files = hello_files()
        files.update({"task/" + n: v for n, v in task_files().items()})
        repo.commit(files, message="hello and a task")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        os.chmod(os.path.join(repo.work, "task/task.sh"), 0o755)
        repo.commit({}, message="executable")
        f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        f.ok("config", "set", "demo/hello", "GREETING=ahoy")
        f.ok("config", "set", "demo/hello", "API_TOKEN=s3cret-kube", "--secret")
        r = f.cli("build", "demo/hello", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        e = Env()
        e.cp, e.reg, e.d, e.repo, e.root, e.kc = cp, reg, f, repo, root, kc
        e.build = r.json
        yield e
    finally:
        if f:
            f.stop()
            remove_local_images_for(f.data, "127.0.0.1:%d" % reg.port)
        reg.stop()
        cp.stop()


def get(cp, *args):
    return json.loads(cp.kubectl("get", "-o", "json", *args).stdout)


def active(d, env, comp="demo/hello"):
    deps = [x for x in d.ok("deployments", comp, "--env", env) if x["status"] == "active"]
    assert len(deps) == 1, deps
    return deps[0]


def events(d, dep_id):
    r = d.cli("logs", "deployment", dep_id)
    assert r.rc == 0, r
    return r.out


def secret_values(cp, ns, name):
    s = get(cp, "-n", ns, "secret", name)
    return s, {k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()}


def template_dep(cp, ns, name="hello"):
    dep = get(cp, "-n", ns, "deployment", name)
    return dep, dep["spec"]["template"]["metadata"]["labels"]["ferry.dev/deployment-id"]


def test_refusals(tmp_path):
    # the managed registry listens on loopback: no node could pull from it
    f = Ferryd(str(tmp_path / "d"), extra=["--runtime", "kubernetes"])
    with pytest.raises(RuntimeError) as ex:
        f.start()
    assert "--registry URL" in str(ex.value) and "loopback" in str(ex.value)
    f = Ferryd(str(tmp_path / "d2"), extra=["--kubeconfig", "/nonexistent"])
    with pytest.raises(RuntimeError) as ex:
        f.start()
    assert "go with --runtime kubernetes" in str(ex.value)


def test_deploy_applies_server_side_and_rolls_out(k):
    d, cp = k.d, k.cp
    r = d.cli("deploy", "demo/hello", "--wait", timeout=300)
    assert r.rc == 0, (r, d.log()[-3000:])
    dep = active(d, "development")
    ns = "demo-development"
    obj, running = template_dep(cp, ns)
    assert running == str(dep["id"])
    c = obj["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == k.build["image"] and c["image"].endswith("@" + dep["digest"])
    st = obj["status"]
    assert st["observedGeneration"] == obj["metadata"]["generation"]
    assert st["updatedReplicas"] == st["availableReplicas"] == obj["spec"]["replicas"] == 1
    mf = get(cp, "-n", ns, "deployment", "hello", "--show-managed-fields")["metadata"]["managedFields"]
    assert {m["manager"] for m in mf if m["operation"] == "Apply"} == {"ferry"}
    # the configuration: an immutable Secret named after the deployment,
    # holding the values (the pod spec only references it)
    s, values = secret_values(cp, ns, "hello-d%d" % dep["id"])
    assert s["immutable"] is True
    assert values["GREETING"] == "ahoy" and values["API_TOKEN"] == "s3cret-kube"
    assert "s3cret-kube" not in json.dumps(obj)
    log = events(d, dep["id"])
    assert "applied to namespace demo-development (server-side apply, field manager ferry)" in log
    assert "new ReplicaSet available after" in log
    st = d.ok("status", "demo/hello")
    devenv = [x for x in st["environments"] if x["name"] == "development"][0]
    assert devenv["healthy"] is True, st
    # what ferry manifests prints is what is applied
    m = d.ok("manifests", "demo/hello", "--env", "development")
    assert [o["kind"] for o in m["objects"]] == ["Namespace", "NetworkPolicy", "Secret", "Deployment",
                                                 "Service", "Ingress"]
    for o in m["objects"]:
        assert o["metadata"]["labels"]["ferry.dev/instance"] == obj["metadata"]["labels"]["ferry.dev/instance"]


def test_runtime_logs_come_from_the_pods(k):
    r = k.d.cli("logs", "runtime", "demo/hello", "--env", "development", timeout=60)
    assert r.rc == 0, r
    for line in POD_LINES:
        assert line in r.out, r.out


def test_promote_applies_the_same_digest_to_the_next_namespace(k):
    d, cp = k.d, k.cp
    t0 = time.time()
    r = d.cli("promote", "demo/hello", "--to", "production", "--wait", timeout=300)
    assert r.rc == 0, r
    took = time.time() - t0
    prod, dev = active(d, "production"), active(d, "development")
    assert prod["digest"] == dev["digest"] and prod["id"] != dev["id"]
    images = {}
    for ns in ("demo-development", "demo-production"):
        obj, _ = template_dep(cp, ns)
        images[ns] = obj["spec"]["template"]["spec"]["containers"][0]["image"]
        assert obj["status"]["availableReplicas"] == 1
        pol = get(cp, "-n", ns, "networkpolicy", "ferry-same-environment")
        assert pol["spec"]["policyTypes"] == ["Ingress"]
    assert images["demo-development"] == images["demo-production"]
    _, values = secret_values(cp, "demo-production", "hello-d%d" % prod["id"])
    assert values["GREETING"] == "ahoy"
    print("promote → available: %.2f s" % took)


def test_config_change_is_a_new_secret_and_a_rollout(k):
    d, cp = k.d, k.cp
    before = active(d, "development")
    d.ok("config", "set", "demo/hello", "GREETING=hej", "--env", "development")
    new = wait_for("the redeploy to be active", lambda: [
        x for x in d.ok("deployments", "demo/hello", "--env", "development")
        if x["status"] == "active" and x["id"] > before["id"]], timeout=180)[0]
    assert new["digest"] == before["digest"]
    _, running = template_dep(cp, "demo-development")
    assert running == str(new["id"])
    s, values = secret_values(cp, "demo-development", "hello-d%d" % new["id"])
    assert s["immutable"] is True and values["GREETING"] == "hej"
    # the old Secret is untouched (immutable) and kept for the ReplicaSet it replaced
    _, old_values = secret_values(cp, "demo-development", "hello-d%d" % before["id"])
    assert old_values["GREETING"] == "ahoy"
    rs = get(cp, "-n", "demo-development", "replicaset", "-l", "ferry.dev/deployment-id=%d" % new["id"])["items"]
    assert len(rs) == 1 and rs[0]["status"]["availableReplicas"] == 1


def test_rollback_reapplies_an_earlier_deployment(k):
    d, cp = k.d, k.cp
    deps = d.ok("deployments", "demo/hello", "--env", "development")
    first = min(x["id"] for x in deps)
    r = d.cli("rollback", "demo/hello", "--env", "development", "--to", first, timeout=300)
    assert r.rc == 0, r
    new = wait_for("the rollback to be active", lambda: [
        x for x in d.ok("deployments", "demo/hello", "--env", "development")
        if x["status"] == "active" and x["cause"] == "rollback"], timeout=180)[0]
    _, running = template_dep(cp, "demo-development")
    assert running == str(new["id"])
    _, values = secret_values(cp, "demo-development", "hello-d%d" % new["id"])
    assert values["GREETING"] == "ahoy"
