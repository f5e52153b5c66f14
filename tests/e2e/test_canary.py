"""Canary steps and automatic rollback against a real ferryd (buildah,
registry, podman with runc, HAProxy): with a rollout policy a new version
takes its share of the traffic step by step (10% gets about 10% of the
requests, counted); a version that answers 500 to about half its requests
is rolled back within the watch window while a load runs, with no failed
request after the rollback, the numbers in its log and its status
rolled-back; the old version never stopped serving."""

import threading
import time

import pytest
import requests

from ferry import cleanup, gateway_ferryd, hello_files, hello_repo, serve_hello
from cnihold import BridgeHold
from openapi_check import Description
from test_deploy import active, deps, settle

# GREETING=flaky: about half the answers are 500 (busybox ash's $RANDOM)
INDEX_CGI = """#!/bin/sh
if [ "$GREETING" = flaky ] && [ $((RANDOM % 2)) = 0 ]; then
  printf 'Status: 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nflaky\\n'
  exit 0
fi
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf '%s from %s\\n' "${GREETING:-hello}" "${FERRY_ENVIRONMENT:-somewhere}"
"""


class TimedLoad:
    """Requests through the gateway from a few threads until stopped; keeps
    (time, status, body) of every answer."""

    def __init__(self, port, host, threads=3):
        self.url, self.host, self.n = "http://127.0.0.1:%d/" % port, host, threads
        self.stop_ev = threading.Event()
        self.got = []
        self.errors = []
        self.lock = threading.Lock()
        self.threads = []

    def _run(self):
        s = requests.Session()
        while not self.stop_ev.is_set():
            try:
                r = s.get(self.url, headers={"Host": self.host}, timeout=10)
                with self.lock:
                    self.got.append((time.time(), r.status_code, r.text.strip()))
            except requests.RequestException as ex:
                with self.lock:
                    self.errors.append((time.time(), repr(ex)))
            time.sleep(0.01)

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


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary")
    data = str(root / "data")
    f = gateway_ferryd(data)
    hold = BridgeHold().__enter__()
    f.start()
    try:
        f.ok("project", "create", "demo")
        files = hello_files()
        files["www/cgi-bin/index.cgi"] = INDEX_CGI
        serve_hello(f, hello_repo(root, files))
        yield f
    finally:
        f.stop()
        cleanup(data)
        hold.__exit__(None, None, None)


def answer(d):
    r = requests.get("http://127.0.0.1:%d/" % d.gw, headers={"Host": "hello.demo.development.localhost"},
                     timeout=10)
    return r.status_code, r.text.strip()


def newest(d):
    return max(deps(d, "development"), key=lambda x: x["id"])


def wait_status(d, dep, statuses, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = d.ok("deployment", "show", dep)["status"]
        if s in statuses:
            return s
        time.sleep(0.2)
    raise AssertionError("deployment %s did not reach %s" % (dep, statuses))


def test_policy_is_checked_and_shown(d):
    spec = Description(d.api("GET", "/api/v1/openapi.json").json())
    r = d.cli("component", "update", "demo/hello", "--canary-steps", "50,10", "--max-5xx-ratio", "0.1", "--json")
    assert r.rc == 1 and "steps must go up" in r.err_json["error"], r
    r = d.cli("component", "update", "demo/hello", "--canary-steps", "10", "--json")
    assert r.rc == 1 and "needs a threshold" in r.err_json["error"], r
    r = d.cli("component", "update", "demo/hello", "--max-5xx-ratio", "0.1", "--branch", "x", "--json")
    assert r.rc == 2 and "of its own" in r.err, r
    p = d.ok("component", "update", "demo/hello", "--canary-steps", "10", "--canary-pause", "20s",
             "--watch", "5s", "--max-5xx-ratio", "0.5")["policy"]
    assert p["steps"] == [10, 100] and p["pause_s"] == 20 and p["watch_s"] == 5 and p["min_requests"] == 10
    path = "/api/v1/projects/demo/components/hello/rollout-policy"
    spec.check(d.api("GET", path), "GET", path)


def test_a_canary_at_10_percent_gets_about_10_percent(d):
    old = active(d, "development")
    d.ok("config", "set", "demo/hello", "GREETING=v2")
    new = newest(d)
    assert new["id"] != old["id"]
    # wait for the first step
    deadline = time.time() + 120
    while time.time() < deadline:
        log = "\n".join(x["text"] for x in d.ok("logs", "deployment", new["id"]))
        if "10% of the traffic on the new version" in log:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(log)
    counts = {"v2": 0, "hello": 0}
    for _ in range(200):
        code, body = answer(d)
        assert code == 200, body
        counts["v2" if body.startswith("v2 ") else "hello"] += 1
    share = counts["v2"] / 200.0
    assert 0.05 <= share <= 0.15, counts
    print("canary share at 10%%: %.3f (%r)" % (share, counts))
    assert wait_status(d, new["id"], ("active", "rolled-back", "failed")) == "active"
    assert d.ok("deployment", "show", old["id"])["status"] == "superseded"
    assert answer(d) == (200, "v2 from development")


def test_half_failing_version_is_rolled_back_under_load(d):
    old = active(d, "development")
    code, before = answer(d)
    assert code == 200
    d.ok("component", "update", "demo/hello", "--canary-steps", "50", "--canary-pause", "30s",
         "--watch", "30s", "--max-5xx-ratio", "0.1", "--min-requests", "10")
    with TimedLoad(d.gw, "hello.demo.development.localhost") as load:
        time.sleep(1)
        d.ok("config", "set", "demo/hello", "GREETING=flaky")
        bad = newest(d)
        assert bad["id"] != old["id"]
        assert wait_status(d, bad["id"], ("active", "rolled-back", "failed")) == "rolled-back"
        rolled_at = time.time()
        time.sleep(3)
    with load.lock:
        got = list(load.got)
    assert not load.errors, load.errors[:3]
    fails = [t for t, code, _ in got if code != 200]
    assert fails, "the flaky version answered no 500: was it ever taking traffic?"
    # answered by the new version: its 500s and its other half (its body)
    by_new = [t for t, code, body in got if code != 200 or body != before]
    first_fail, back = min(fails), max(by_new)
    after = [(code, body) for t, code, body in got if t > rolled_at]
    assert after and all(a == (200, before) for a in after), after[:5]
    assert back <= rolled_at
    print("first failing request to traffic back on the old version: %.2f s (%d failed of %d requests)"
          % (back - first_fail, len(fails), len(got)))
    shown = d.ok("deployment", "show", bad["id"])
    assert shown["status"] == "rolled-back" and "5xx ratio" in shown["error"], shown
    rb = shown["rollback"]
    assert rb["requests"] >= 10 and rb["error_ratio"] > 0.1 and rb["step"] == 50, rb
    log = d.cli("logs", "deployment", str(bad["id"]))
    assert log.rc == 0 and "rolled-back: 5xx ratio" in log.out, log.out
    # the old version kept its status and its replica
    assert active(d, "development")["id"] == old["id"]
    assert answer(d) == (200, before)
