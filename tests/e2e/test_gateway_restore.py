"""HAProxy's routes come back from the store (docs/gateway.md): when HAProxy
dies, the supervisor starts it again and converges every active
deployment's routes and servers from the store and the runtime; when
ferryd restarts while HAProxy is dead, the new ferryd starts HAProxy and
syncs it from the store. Each time every active URL answers again. Real
ferryd, buildah, registry, podman and HAProxy; HAProxy killed by its pid."""

import os
import signal
import time
import urllib.parse

import pytest
import requests

from hello_app import start_hello, stop_hello
from test_deploy import wait_answer


def haproxy_pid(d):
    with open(os.path.join(d.data, "gateway", "haproxy.pid")) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_haproxy(d):
    """SIGKILLs HAProxy's master and its workers (its process group, which
    ferryd made for it alone) and waits until they are gone."""
    pid = haproxy_pid(d)
    os.killpg(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    return pid


def active_urls(d):
    urls = []
    for env in ("development", "production"):
        for x in d.ok("deployments", "demo/hello", "--env", env):
            if x["status"] == "active":
                urls.append((env, x["url"]))
    return urls


def answers(d, url, expect):
    u = urllib.parse.urlsplit(url)
    try:
        r = requests.get("http://127.0.0.1:%d%s" % (d.gw, u.path or "/"),
                         headers={"Host": u.hostname}, timeout=5)
    except requests.RequestException:
        return False
    return r.status_code == 200 and r.text.strip() == expect


def wait_all_answer(d, timeout=60):
    urls = active_urls(d)
    assert len(urls) == 2, urls
    deadline = time.time() + timeout
    left = urls
    while left and time.time() < deadline:
        left = [(env, u) for env, u in left if not answers(d, u, "hello from " + env)]
        if left:
            time.sleep(0.2)
    assert not left, "these active URLs do not answer: %r" % left


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("gwrestore")
    data = str(root / "data")
    try:
        f = start_hello(root)
        r = f.cli("promote", "demo/hello", "--to", "production", "--wait", "--json", timeout=300)
        assert r.rc == 0, r
        wait_answer(f, "production", "hello from production")
        yield f
    finally:
        stop_hello(locals().get("f"), data)


def test_haproxy_killed_comes_back_with_the_stores_routes(d):
    wait_all_answer(d)
    old = kill_haproxy(d)
    wait_all_answer(d)
    assert haproxy_pid(d) != old
    deadline = time.time() + 20
    while True:
        restarts = [a for a in d.ok("audit", "--limit", "200") if a["actor"] == "ferryd"
                    and a["action"] == "part.restarted" and a["object"] == "gateway"]
        if restarts or time.time() > deadline:
            break
        time.sleep(0.2)
    assert restarts, "no part.restarted for the gateway"
    assert "2 routes and 2 servers restored from the store" in restarts[0]["result"], restarts[0]
    assert "event=gateway_restored routes=2 servers=2" in d.log()


def gateway_restarts(d):
    return [a for a in d.ok("audit", "--limit", "200") if a["actor"] == "ferryd"
            and a["action"] == "part.restarted" and a["object"] == "gateway"]


def test_the_supervisor_records_each_haproxy_restart_once_as_the_registrys(d):
    """ferryd's supervisor watches HAProxy beside the registry: a restart
    is recorded as the registry's is (audit part.restarted by ferryd, logged
    event=part_restarted, counted with its time in /healthz?verbose=1),
    once per death, and its routes are restored."""
    wait_all_answer(d)
    before = len(gateway_restarts(d))
    logged = d.log().count('event=part_restarted part="gateway"')
    part = d.api("GET", "/healthz?verbose=1").json()["parts"]["gateway"]
    old = kill_haproxy(d)
    wait_all_answer(d)
    deadline = time.time() + 20
    while len(gateway_restarts(d)) == before and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # a few more checks of the supervisor's: no second record
    restarts = gateway_restarts(d)
    assert len(restarts) == before + 1, restarts
    assert "2 routes and 2 servers restored from the store" in restarts[0]["result"], restarts[0]
    assert d.log().count('event=part_restarted part="gateway"') == logged + 1
    parts = d.api("GET", "/healthz?verbose=1").json()["parts"]
    after = parts["gateway"]
    assert after["state"] == "up" and after["pid"] == haproxy_pid(d) != old, after
    assert after["restarts"] == part["restarts"] + 1 and after["last_restart"], (part, after)
    assert {"restarts", "last_restart"} <= set(parts["registry"]), parts["registry"]


def test_ferryd_restarted_while_haproxy_is_dead_syncs_it_from_the_store(d):
    wait_all_answer(d)
    d.kill()  # SIGKILL: HAProxy and the replicas outlive it
    old = kill_haproxy(d)
    d.start(timeout=60)
    wait_all_answer(d, timeout=90)
    assert haproxy_pid(d) != old
    assert "event=gateway_synced routes=2 servers=2" in d.log().split("event=gateway_restored")[-1]
