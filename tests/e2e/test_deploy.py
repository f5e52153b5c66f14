"""Deployments as a user drives them: configuration changes make new
immutable deployments where they apply, rollback, auto-deploy, refused
deploys, environment isolation and the canary secret, through the real CLI
against a real ferryd (buildah, registry, podman with runc, HAProxy)."""

import os
import subprocess
import time

import pytest
import requests

from ferry import deploying_ferryd
from gitserve import Repo, containers_env
from test_rollout import cleanup, hello_files

CANARY = "canary-7f3a9c1e5b-do-not-leak"


def get(d, env, component="hello"):
    return requests.get("http://127.0.0.1:%d/" % d.gw,
                        headers={"Host": "%s.demo.%s.localhost" % (component, env)}, timeout=10)


def wait_answer(d, env, text, component="hello", timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = get(d, env, component)
        if r.status_code == 200 and r.text.strip() == text:
            return
        time.sleep(0.2)
    raise AssertionError("%s/%s never answered %r (last: %s %r)" % (component, env, text, r.status_code, r.text))


def deps(d, env, component="hello"):
    return d.ok("deployments", "demo/" + component, "--env", env)


def active(d, env, component="hello"):
    a = [x for x in deps(d, env, component) if x["status"] == "active"]
    assert len(a) <= 1
    return a[0] if a else None


def settle(d, env, component="hello", timeout=120):
    """Waits until no deployment of the component in env is pending or rolling out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not [x for x in deps(d, env, component) if x["status"] in ("pending", "rolling-out")]:
            return
        time.sleep(0.2)
    raise AssertionError("deployments in %s did not settle" % env)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    data = str(root / "data")
    f = deploying_ferryd(data)
    try:
        f.ok("project", "create", "demo")
        repo = Repo(str(root), name="hello")
        repo.commit(hello_files(), message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        repo.commit({}, message="executable cgi")
        f.repo = repo
        f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        f.ok("config", "set", "demo/hello", "GREETING=hello")
        f.ok("config", "set", "demo/hello", "GREETING=bonjour", "--env", "production")
        r = f.cli("build", "demo/hello", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        f.build = r.json["id"]
        assert f.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
        assert f.cli("promote", "demo/hello", "--to", "production", "--wait", timeout=300).rc == 0
        yield f
    finally:
        f.stop()
        cleanup(data)


def test_status_lists_environments_in_order_with_urls(d):
    s = d.ok("status", "demo/hello")
    assert [e["name"] for e in s["environments"]] == ["development", "production"]
    for e in s["environments"]:
        assert e["healthy"] is True
        assert e["url"] == "http://hello.demo.%s.localhost:%d/" % (e["name"], d.gw)
        assert e["deployment"]["status"] == "active"
        assert e["deployment"]["digest"].startswith("sha256:")
    dev, prod = (e["deployment"] for e in s["environments"])
    assert dev["digest"] == prod["digest"] and dev["build"] == prod["build"]
    assert prod["cause"] == "promote" and prod["promoted_from"] == dev["id"]
    human = d.cli("status", "demo/hello")
    assert human.rc == 0 and "production" in human.out and "yes" in human.out


def test_environment_specific_change_redeploys_only_there(d):
    dev_before, prod_before = active(d, "development"), active(d, "production")
    d.ok("config", "set", "demo/hello", "GREETING=hola", "--env", "production")
    settle(d, "production")
    prod = active(d, "production")
    assert prod["id"] != prod_before["id"] and prod["cause"] == "config"
    assert prod["digest"] == prod_before["digest"]
    assert prod["config_version"] > prod_before["config_version"]
    assert active(d, "development")["id"] == dev_before["id"]
    wait_answer(d, "production", "hola from production")
    wait_answer(d, "development", "hello from development")
    old = d.ok("deployment", "show", str(prod_before["id"]))
    assert old["status"] == "superseded"


def test_environment_independent_change_redeploys_the_first_environment_only(d):
    dev_before, prod_before = active(d, "development"), active(d, "production")
    d.ok("config", "set", "demo/hello", "GREETING=hi")
    settle(d, "development")
    dev = active(d, "development")
    assert dev["id"] != dev_before["id"] and dev["cause"] == "config"
    assert active(d, "production")["id"] == prod_before["id"]
    wait_answer(d, "development", "hi from development")
    # production still has its own value; promotion carries the new
    # environment-independent snapshot, production's own value still wins
    assert d.cli("promote", "demo/hello", "--to", "production", "--wait", timeout=300).rc == 0
    wait_answer(d, "production", "hola from production")


def test_rollback_restores_the_exact_earlier_deployment(d):
    current = active(d, "production")
    r = d.cli("rollback", "demo/hello", "--env", "production", "--wait", "--json", timeout=300)
    assert r.rc == 0, r
    rb = r.json
    assert rb["cause"] == "rollback" and rb["status"] == "active"
    target = d.ok("deployment", "show", str(rb["promoted_from"]))
    assert target["id"] != current["id"]
    assert rb["snapshot"] == target["snapshot"] and rb["digest"] == target["digest"]
    r = d.cli("rollback", "demo/hello", "--env", "production", "--to", str(current["id"]), "--wait", timeout=300)
    assert r.rc == 0, r
    wait_answer(d, "production", "hola from production")


def test_deploy_refused_when_required_configuration_is_missing(d):
    d.ok("component", "create", "demo/bare", "--repo", d.repo.file_url)
    assert d.cli("build", "demo/bare", "--wait", timeout=600).rc == 0
    r = d.cli("deploy", "demo/bare", "--json")
    assert r.rc == 1, r
    assert "GREETING" in r.err_json["error"], r
    assert deps(d, "development", "bare") == []
    r = d.cli("promote", "demo/bare", "--to", "production")
    assert r.rc == 1 and "no active deployment" in r.err


def test_auto_deploy_after_a_build(d):
    d.ok("component", "create", "demo/auto", "--repo", d.repo.file_url, "--auto-deploy")
    d.ok("config", "set", "demo/auto", "GREETING=auto")
    assert d.cli("build", "demo/auto", "--wait", timeout=600).rc == 0
    deadline = time.time() + 30
    while time.time() < deadline and not deps(d, "development", "auto"):
        time.sleep(0.2)
    first = deps(d, "development", "auto")
    assert first and first[0]["cause"] == "auto-deploy"
    settle(d, "development", "auto")
    wait_answer(d, "development", "auto from development", component="auto")
    assert deps(d, "production", "auto") == []


def containers_of(d, component, env):
    ce = containers_env(d.data)
    with open(os.path.join(d.data, "runtime-instance")) as f:
        inst = f.read().strip()  # only this ferryd's: other runs may deploy demo/hello too
    p = subprocess.run(["podman", "ps", "-q", "--no-trunc",
                        "--filter", "label=ferry.instance=" + inst,
                        "--filter", "label=ferry.component=" + component,
                        "--filter", "label=ferry.environment=" + env,
                        "--filter", "label=ferry.project=demo"], env=ce, capture_output=True, text=True)
    ids = p.stdout.split()
    assert ids, p
    return ids


def exec_in(d, cid, *argv):
    return subprocess.run(["podman", "exec", cid] + list(argv), env=containers_env(d.data),
                          capture_output=True, text=True, timeout=60)


def http_get(d, cid, host, port=8080):
    """Inside container cid: an HTTP GET to host:port with busybox nc."""
    r = exec_in(d, cid, "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 %s %d" % (host, port))
    return r.returncode, r.stdout


def test_environments_are_isolated_and_neighbours_reach_each_other(d):
    # auto is a neighbour of hello in development: it reaches it by name
    src = containers_of(d, "auto", "development")[0]
    rc, out = http_get(d, src, "hello")
    assert rc == 0 and "from development" in out, (rc, out)
    # production's hello, by address: no connection from development
    prod = containers_of(d, "hello", "production")[0]
    ip = subprocess.run(["podman", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", prod],
                        env=containers_env(d.data), capture_output=True, text=True).stdout.strip()
    assert ip
    rc, out = http_get(d, src, ip)
    assert rc != 0 and "from production" not in out, (rc, out)


def test_canary_secret_never_reaches_disk_or_podman(d):
    d.ok("config", "set", "demo/hello", "API_KEY=" + CANARY, "--secret", "--env", "development")
    settle(d, "development")
    cid = containers_of(d, "hello", "development")[0]
    # the service's processes get it (podman exec does not: it is not a
    # child of ferry-init, which alone reads the configuration)
    r = exec_in(d, cid, "sh", "-c",
                "for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ; done 2>/dev/null | grep ^API_KEY=")
    assert r.stdout.split() and set(r.stdout.split()) == {"API_KEY=" + CANARY}, r
    assert exec_in(d, cid, "sh", "-c", "echo $API_KEY").stdout.strip() == ""
    inspect = subprocess.run(["podman", "inspect", cid], env=containers_env(d.data),
                             capture_output=True, text=True).stdout
    assert CANARY not in inspect  # ... podman never sees it
    g = subprocess.run(["grep", "-rlF", "--binary-files=text", CANARY, "/var/lib/containers", d.data],
                       capture_output=True, text=True, timeout=600)
    # the data dir's tmpfs (DATA/run) holds it in memory only
    hits = [h for h in g.stdout.split() if not h.startswith(os.path.join(d.data, "run") + "/")]
    assert hits == [], hits
    assert CANARY not in d.log()
    listed = d.cli("config", "list", "demo/hello", "--env", "development", "--json").out
    assert CANARY not in listed
    for dep in deps(d, "development"):
        assert CANARY not in str(dep)


def test_deleting_a_component_undeploys_it_everywhere(d):
    assert get(d, "development", "auto").status_code == 200
    assert d.ok("component", "delete", "demo/auto")["deleted"] is True
    deadline = time.time() + 60
    while time.time() < deadline and get(d, "development", "auto").status_code != 404:
        time.sleep(0.2)
    assert get(d, "development", "auto").status_code == 404
    ce = containers_env(d.data)
    while time.time() < deadline:
        p = subprocess.run(["podman", "ps", "-aq", "--filter", "label=ferry.component=auto",
                            "--filter", "label=ferry.project=demo"], env=ce, capture_output=True, text=True)
        if not p.stdout.split():
            break
        time.sleep(0.2)
    assert p.stdout.split() == []
    # the neighbour in the same environment is untouched
    assert get(d, "development").status_code == 200


def test_a_configuration_change_says_which_deployment_it_caused_or_why_none(d):
    # a change where the component serves: the answer names the new deployment
    before = active(d, "production")
    out = d.ok("config", "set", "demo/hello", "GREETING=salut", "--env", "production")
    caused = out[0]["redeploy"]["deployment"]
    assert isinstance(caused, int) and caused > before["id"]
    settle(d, "production")
    assert active(d, "production")["id"] == caused
    human = d.cli("config", "set", "demo/hello", "GREETING=hola", "--env", "production")
    assert human.rc == 0 and "redeployed: deployment " in human.out, human
    settle(d, "production")
    # a component that is not deployed: nothing to redeploy, and it says so
    d.ok("component", "create", "demo/idle", "--repo", d.repo.file_url)
    out = d.ok("config", "set", "demo/idle", "GREETING=hi")
    assert out[0]["redeploy"]["deployment"] is None
    assert "not deployed" in out[0]["redeploy"]["reason"]
    # a redeploy that cannot happen (the required value is gone): the answer
    # says why, the audit log keeps it, the serving deployment stays
    dev = active(d, "development")
    out = d.ok("config", "unset", "demo/hello", "GREETING")
    assert out["redeploy"]["deployment"] is None
    assert "redeploy failed" in out["redeploy"]["reason"] and "GREETING" in out["redeploy"]["reason"]
    audit = d.ok("audit", "--project", "demo")
    entry = next(a for a in audit if a["action"] == "config.redeploy")
    assert entry["object"] == "demo/hello" and entry["status"] >= 400 and "GREETING" in entry["result"]
    assert active(d, "development")["id"] == dev["id"]
    out = d.ok("config", "set", "demo/hello", "GREETING=hello")
    assert isinstance(out[0]["redeploy"]["deployment"], int)
    settle(d, "development")
