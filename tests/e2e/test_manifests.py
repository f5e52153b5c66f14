"""`ferry manifests`: the Kubernetes objects of a deployment, printed as YAML
by a ferryd running the podman runtime, with no configuration value in
them; and `podman kube play` of the printed Deployment, Secret and Service
(the Secret filled in with the values the test set) starts a pod that
answers on its endpoint with the deployment's configuration."""

import os
import subprocess
import time
import base64
import json

import pytest
import requests
import yaml

from ferry import Ferryd, binary, free_port
from gitserve import Repo, containers_env, remove_network
from test_rollout import cleanup, hello_files

CANARY = "canary-kube-4b1d9e-not-in-manifests"
MOTD = "file mount from a Secret volume\n"


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("manifests")
    data = str(root / "data")
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % free_port(), "--init-binary", binary("ferry-init"), "--ingress-class", "nginx"])
    f.data = data
    f.start()
    try:
        f.ok("project", "create", "demo")
        repo = Repo(str(root), name="hello")
        repo.commit(hello_files(), message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        repo.commit({}, message="executable cgi")
        f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        f.ok("config", "set", "demo/hello", "GREETING=ahoy")
        f.ok("config", "set", "demo/hello", "API_TOKEN=" + CANARY, "--secret")
        motd = root / "motd.txt"
        motd.write_text(MOTD)
        f.ok("config", "set", "demo/hello", "motd=@%s" % motd, "--file-mount", "/www/motd.txt")
        r = f.cli("build", "demo/hello", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        assert f.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
        yield f
    finally:
        f.stop()
        cleanup(data)


def manifests(d, env="development"):
    r = d.cli("manifests", "demo/hello", "--env", env)
    assert r.rc == 0, r
    assert CANARY not in r.out and "ahoy" not in r.out and "file mount from" not in r.out
    return r.out, [o for o in yaml.safe_load_all(r.out) if o is not None]


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def test_manifests_print_every_object_as_yaml_without_values(d):
    text, objs = manifests(d)
    dep = [x for x in d.ok("deployments", "demo/hello", "--env", "development") if x["status"] == "active"][0]
    assert [o["kind"] for o in objs] == ["Namespace", "NetworkPolicy", "Secret", "Deployment", "Service",
                                         "Ingress"]
    assert objs[0]["metadata"]["name"] == "demo-development"
    for o in objs:
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "ferry"
        assert labels["ferry.dev/project"] == "demo" and labels["ferry.dev/environment"] == "development"
    secret = by_kind(objs, "Secret")[0]
    assert secret["metadata"]["name"] == "hello-d%d" % dep["id"]
    assert secret["immutable"] is True
    # the keys are named, the values are not there
    keys = set(secret["data"])
    assert {"GREETING", "API_TOKEN"} <= keys and len(keys) == 3
    assert [k for k in keys if k.startswith("file-")]
    assert all(v == "" for v in secret["data"].values())
    deployment = by_kind(objs, "Deployment")[0]
    assert deployment["metadata"]["labels"]["ferry.dev/deployment-id"] == str(dep["id"])
    c = deployment["spec"]["template"]["spec"]["containers"][0]
    assert c["image"].endswith("@" + dep["digest"])
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}
    assert c["resources"]["limits"] == {"cpu": "250m", "memory": str(64 << 20)}
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    ing = by_kind(objs, "Ingress")[0]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["rules"][0]["host"] == "hello.demo.development.localhost"
    # --json gives the same objects as the API answers them
    j = d.ok("manifests", "demo/hello", "--env", "development")
    assert j["deployment"] == dep["id"] and j["namespace"] == "demo-development"
    assert j["objects"] == objs


def test_manifests_refusals(d):
    r = d.cli("manifests", "demo/hello", "--env", "production")
    assert r.rc != 0 and "not deployed in production" in r.err
    r = d.cli("manifests", "demo/hello", "--env", "nowhere")
    assert r.rc != 0 and 'environment "nowhere" not found' in r.err
    r = d.cli("manifests", "demo/hello")
    assert r.rc == 2 and "--env" in r.err


def pod_ip(env, pod_id):
    p = subprocess.run(["podman", "pod", "inspect", pod_id], env=env, capture_output=True, text=True, check=True)
    infra = yaml.safe_load(p.stdout)
    infra = infra[0] if isinstance(infra, list) else infra
    p = subprocess.run(["podman", "inspect", "--format", "{{json .NetworkSettings.Networks}}",
                        infra["InfraContainerID"]], env=env, capture_output=True, text=True, check=True)
    nets = yaml.safe_load(p.stdout)
    return next(iter(nets.values()))["IPAddress"]


def test_podman_kube_play_runs_the_rendered_pod(d, tmp_path):
    """The rendered pod spec runs, not only validates: podman plays the
    Deployment and the Service, with the Secret's values (filled in by the
    test, which set them) as a podman secret of the Secret's name; the pod
    answers with the configuration.

    Debian 12's podman 4.3 has two kube-play bugs fixed in 4.4 (podman
    commit db4d018711, "Fixes secret (un)marshaling for kube play"): a
    Secret played from YAML is stored in a form its own secretKeyRef
    reader cannot parse, and secret volumes need a subPath support it
    lacks. So the secret is created the way 4.3 reads it (a JSON map of
    base64 values, as `podman secret create` takes it) and the file mount
    (a secret volume with subPath) is left out of the played copy; the
    Kubernetes API server validates it in the control-plane tests."""
    _, objs = manifests(d)
    secret = by_kind(objs, "Secret")[0]
    name = secret["metadata"]["name"]
    values = {"GREETING": "ahoy", "API_TOKEN": CANARY}
    assert set(values) <= set(secret["data"])
    deployment = by_kind(objs, "Deployment")[0]
    pod = deployment["spec"]["template"]["spec"]
    assert [v["secret"]["secretName"] for v in pod["volumes"]] == [name]
    del pod["volumes"]
    del pod["containers"][0]["volumeMounts"]
    service = by_kind(objs, "Service")[0]
    play = tmp_path / "play.yaml"
    play.write_text(yaml.safe_dump_all([deployment, service]))
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in values.items()}))
    secret_file.chmod(0o600)
    env = containers_env(d.data)
    net = "ferry-kubeplay-%d" % os.getpid()
    pod_ids, secret_id = [], None
    subprocess.run(["podman", "network", "create", net], env=env, check=True, capture_output=True)
    try:
        p = subprocess.run(["podman", "secret", "create", name, str(secret_file)], env=env,
                           capture_output=True, text=True, check=True)
        secret_id = p.stdout.strip()
        p = subprocess.run(["podman", "kube", "play", "--network", net, "--tls-verify=false", str(play)],
                           env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        q = subprocess.run(["podman", "pod", "ps", "-q", "--no-trunc", "--filter",
                            "label=ferry.dev/deployment-id=" + deployment["metadata"]["labels"]["ferry.dev/deployment-id"]],
                           env=env, capture_output=True, text=True)
        pod_ids = q.stdout.split()
        assert len(pod_ids) == 1, (p.stdout, q.stdout)
        ip = pod_ip(env, pod_ids[0])
        deadline = time.time() + 60
        last = None
        while time.time() < deadline:
            try:
                r = requests.get("http://%s:8080/cgi-bin/index.cgi" % ip, timeout=5)
                last = r.text
                if r.status_code == 200:
                    break
            except requests.RequestException as ex:
                last = repr(ex)
            time.sleep(0.5)
        # GREETING from the Secret, FERRY_ENVIRONMENT from the pod spec
        assert last == "ahoy from development\n", last
        r = requests.get("http://%s:8080/healthz" % ip, timeout=5)
        assert r.status_code == 200
    finally:
        for pid in pod_ids:
            subprocess.run(["podman", "pod", "rm", "-f", "-t", "0", pid], env=env, capture_output=True)
        if secret_id:
            subprocess.run(["podman", "secret", "rm", secret_id], env=env, capture_output=True)
        remove_network(net, env)
