"""The rollout engine end to end: the real ferry CLI against a real ferryd
that builds examples/hello with buildah, runs it with podman (runc) and
routes to it through HAProxy.

Everything started is removed by id at the end: replicas and networks by
this ferryd's runtime instance label, HAProxy by its pid file (the gateway
and the replicas deliberately outlive ferryd), the tmpfs the podman driver
mounts under the data dir, and the images this registry named."""

import json
import threading
import time

import pytest
import requests

# cleanup and hello_files are imported from here by other test files
from ferry import cleanup, gateway_ferryd, hello_files, hello_repo  # noqa: F401

class Load:
    """Requests through the gateway from a few threads until stopped;
    counts answers by status and socket errors."""

    def __init__(self, url, host, threads=4):
        self.url, self.host, self.n = url, host, threads
        self.stop_ev = threading.Event()
        self.codes = {}
        self.errors = []
        self.bodies = set()
        self.lock = threading.Lock()
        self.threads = []

    def _run(self):
        s = requests.Session()
        while not self.stop_ev.is_set():
            try:
                r = s.get(self.url, headers={"Host": self.host}, timeout=10)
                with self.lock:
                    self.codes[r.status_code] = self.codes.get(r.status_code, 0) + 1
                    self.bodies.add(r.text.strip())
            except requests.RequestException as ex:
                with self.lock:
                    self.errors.append(repr(ex))

    def __enter__(self):
        for _ in range(self.n):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def __exit__(self, *a):
        self.stop_ev.set()
        for t in self.threads:
            t.join(20)

    @property
    def total(self):
        return sum(self.codes.values()) + len(self.errors)

    def all_ok(self):
        return self.total > 0 and not self.errors and all(200 <= c < 300 for c in self.codes)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("rollout")
    data = str(root / "data")
    d = gateway_ferryd(data)
    d.root = str(root)
    d.start()
    try:
        d.ok("project", "create", "demo")
        repo = hello_repo(root, hello_files())
        d.repo = repo
        d.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        d.ok("config", "set", "demo/hello", "GREETING=hello")
        d.ok("config", "set", "demo/hello", "GREETING=bonjour", "--env", "production")
        r = d.cli("build", "demo/hello", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        yield d
    finally:
        d.stop()
        cleanup(data)


def get(d, env, path="/", host=True):
    if host:
        return requests.get("http://127.0.0.1:%d%s" % (d.gw, path),
                            headers={"Host": "hello.demo.%s.localhost" % env}, timeout=10)
    return requests.get("http://127.0.0.1:%d/demo/%s/hello%s" % (d.gw, env, path), timeout=10)


def deployments(d, env):
    return d.ok("deployments", "demo/hello", "--env", env)


def test_deploy_then_promote_keeps_the_digest_with_each_environments_values(env):
    d = env
    r = d.cli("deploy", "demo/hello", "--wait", "--json", timeout=300)
    assert r.rc == 0, r
    a = get(d, "development")
    assert a.status_code == 200, a.text
    assert a.text.strip() == "hello from development"
    b = get(d, "development", host=False)
    assert b.status_code == 200 and b.text.strip() == "hello from development"

    r = d.cli("promote", "demo/hello", "--to", "production", "--wait", "--json", timeout=300)
    assert r.rc == 0, r
    p = get(d, "production")
    assert p.status_code == 200 and p.text.strip() == "bonjour from production"
    dev = [x for x in deployments(d, "development") if x["status"] == "active"]
    prod = [x for x in deployments(d, "production") if x["status"] == "active"]
    assert len(dev) == 1 and len(prod) == 1
    assert dev[0]["digest"] == prod[0]["digest"]
    # an unknown host answers 404 from the gateway, not from a service
    assert requests.get("http://127.0.0.1:%d/" % d.gw, headers={"Host": "nope.demo.development.localhost"},
                        timeout=10).status_code == 404
    # the service's own output
    r = d.cli("logs", "runtime", "demo/hello", "--env", "development")
    assert r.rc == 0, r


def test_ten_rollouts_under_load_drop_nothing(env):
    d = env
    if not [x for x in deployments(d, "development") if x["status"] == "active"]:
        assert d.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
    with Load("http://127.0.0.1:%d/" % d.gw, "hello.demo.development.localhost") as load:
        for i in range(10):
            r = d.cli("deploy", "demo/hello", "--wait", "--json", timeout=300)
            assert r.rc == 0, r
    assert load.all_ok(), (load.codes, load.errors[:5])
    assert load.total > 50
    active = [x for x in deployments(d, "development") if x["status"] == "active"]
    assert len(active) == 1


def test_failing_readiness_never_takes_traffic_and_cannot_be_promoted(env):
    d = env
    before = [x for x in deployments(d, "development") if x["status"] == "active"][0]
    d.repo.commit({"www/healthz": None}, message="break the health check")
    r = d.cli("build", "demo/hello", "--wait", "--json", timeout=600)
    assert r.rc == 0, r
    with Load("http://127.0.0.1:%d/" % d.gw, "hello.demo.development.localhost", threads=2) as load:
        r = d.cli("deploy", "demo/hello", "--wait", "--json", timeout=300)
    assert r.rc != 0, r
    assert load.all_ok(), (load.codes, load.errors[:5])
    rows = deployments(d, "development")
    failed = max(rows, key=lambda x: x["id"])
    assert failed["status"] == "failed"
    active = [x for x in rows if x["status"] == "active"]
    assert [x["id"] for x in active] == [before["id"]]
    log = d.cli("logs", "deployment", str(failed["id"]))
    assert "HTTP 404" in log.out, log
    # the failed deployment's replicas are gone; the old one still answers
    assert get(d, "development").status_code == 200
    d.repo.commit({"www/healthz": "ok\n"}, message="fix the health check")
    assert d.cli("build", "demo/hello", "--wait", timeout=600).rc == 0


def test_kill_9_mid_rollout_then_restart_finishes_it(env):
    d = env
    with Load("http://127.0.0.1:%d/" % d.gw, "hello.demo.development.localhost", threads=2) as load:
        r = d.cli("deploy", "demo/hello", "--json")
        assert r.rc == 0, r
        dep = r.json["id"]
        deadline = time.time() + 60
        while time.time() < deadline:
            st = d.ok("deployment", "show", str(dep))["status"]
            if st != "pending":
                break
            time.sleep(0.05)
        d.kill()
        time.sleep(2)
        d.start()
        deadline = time.time() + 120
        while time.time() < deadline:
            st = d.ok("deployment", "show", str(dep))["status"]
            if st in ("active", "failed"):
                break
            time.sleep(0.2)
        time.sleep(1)
    assert st in ("active", "failed"), st
    assert load.all_ok(), (load.codes, load.errors[:5])
    assert get(d, "development").status_code == 200


def test_undeploy_removes_routes_and_replicas(env):
    d = env
    r = d.cli("undeploy", "demo/hello", "--env", "production", "--json")
    assert r.rc == 0, r
    deadline = time.time() + 60
    while time.time() < deadline and get(d, "production").status_code != 404:
        time.sleep(0.2)
    assert get(d, "production").status_code == 404
    assert get(d, "development").status_code == 200
