"""Faults around ferryd, injected into a real installation: the registry
killed during a push, HAProxy killed during a rollout under load, the
network helpers' dnsmasq killed; each is restarted, recorded, and the work
in flight finishes. Real buildah, registry, podman and HAProxy."""

import os
import signal
import time

import pytest
import requests

from ferry import Ferryd
from gitserve import Repo
from hello_app import start_hello, stop_hello
from test_deploy import wait_answer
from test_rollout import Load

# a layer big enough that its push takes a while
BIG = ('FROM ferry/busybox\nRUN dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null\n'
       'USER 65534\nCMD ["ls", "-l", "/big"]\n')


def health(d):
    return d.api("GET", "/healthz?verbose=1").json()


def part_restarts(d):
    return [a for a in d.ok("audit", "--limit", "200")
            if a["actor"] == "ferryd" and a["action"] == "part.restarted"]


def wait_for(what, fn, timeout=60, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    data = str(root / "data")
    try:
        f = start_hello(root)
        big = Repo(str(root), name="big")
        big.commit({"Dockerfile": BIG}, message="big")
        f.big = big
        f.ok("component", "create", "demo/big", "--repo", big.file_url, "--type", "manual-task")
        yield f
    finally:
        stop_hello(locals().get("f"), data)


def test_registry_killed_during_a_push_is_restarted_and_the_build_pushes_again(d):
    before = health(d)["parts"]["registry"]
    assert before["state"] == "up" and before["pid"] > 0
    b = d.ok("build", "demo/big")
    # when the push step runs, freeze the registry (the push is in flight
    # for sure) and kill it
    def pushing():
        x = d.ok("build", "show", b["id"])
        if {s["name"]: s["status"] for s in x["steps"]}.get("push") == "running":
            return True
        return "ended" if x["status"] in ("succeeded", "failed", "cancelled") else None
    assert wait_for("the push step", pushing, timeout=600, step=0.05) is True, d.ok("build", "show", b["id"])
    os.kill(before["pid"], signal.SIGSTOP)
    time.sleep(1)
    os.kill(before["pid"], signal.SIGKILL)
    done = wait_for("the build", lambda: (lambda x: x if x["status"] not in ("queued", "running") else None)(
        d.ok("build", "show", b["id"])), timeout=600)
    log = "\n".join(line["text"] for line in d.ok("logs", "build", b["id"]))
    assert done["status"] == "succeeded", (done, log[-3000:])
    # the kill landed during the push: buildah's own retry or ferry's wait
    # for the registry and push again carried it over
    assert "retrying in" in log or "pushing again" in log, log[-3000:]
    assert done["image"].endswith(done["digest"])
    after = wait_for("the registry's restart", lambda: (lambda r: r if r["pid"] != before["pid"] and r["state"] == "up"
                                                         else None)(health(d)["parts"]["registry"]))
    assert after["restarts"] >= 1 and after["last_restart"]
    assert any(a["object"] == "registry" for a in part_restarts(d))
    # the image is whole in the restarted registry: it deploys
    assert d.cli("deploy", "demo/big", "--build", b["id"], "--wait", timeout=300).rc == 0
    r = d.cli("run", "demo/big", "--env", "development", "--wait", "--json", timeout=300)
    assert r.rc == 0, r


def test_a_build_waits_while_the_registry_is_down_then_pushes(d):
    pid = health(d)["parts"]["registry"]["pid"]
    d.big.commit({"v2": "2\n"}, message="again")
    b = d.ok("build", "demo/big")
    # the registry is frozen before the push: once the image step is past
    # FROM (which asks the registry for the base image), or while the scan
    # runs; the scan alone can be over in a few milliseconds
    def before_the_push():
        x = d.api("GET", "/api/v1/builds/%d" % b["id"]).json()
        steps = {s["name"]: s["status"] for s in x["steps"]}
        if steps.get("scan") == "running":
            return True
        if steps.get("image") == "running":
            lines = d.api("GET", "/api/v1/builds/%d/log" % b["id"]).json()
            if isinstance(lines, dict):
                lines = lines.get("lines", [])
            if any(line.get("text", "").startswith("STEP 2/") for line in lines):
                return True
        return "ended" if x["status"] in ("succeeded", "failed", "cancelled") else None
    assert wait_for("the image or scan step", before_the_push, timeout=600, step=0.05) is True
    # frozen: it accepts connections and never answers, longer than
    # buildah's own retries last
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for("the build to wait", lambda: "is down" in "\n".join(
            line["text"] for line in d.ok("logs", "build", b["id"])), timeout=120)
        time.sleep(8)
        assert d.ok("build", "show", b["id"])["status"] == "running"
    finally:
        os.kill(pid, signal.SIGCONT)
    done = wait_for("the build", lambda: (lambda x: x if x["status"] not in ("queued", "running") else None)(
        d.ok("build", "show", b["id"])), timeout=600)
    log = "\n".join(line["text"] for line in d.ok("logs", "build", b["id"]))
    assert done["status"] == "succeeded", log[-3000:]
    assert "waiting up to 120 s" in log and "the registry answers again" in log, log[-3000:]


# FROM asks the registry for the base image (buildah looks for a newer
# one even when it has the image): the first stage's RUN gives a test the
# time to freeze the registry before the second stage's FROM
TWO_STAGES = ('FROM ferry/busybox AS first\nRUN sleep 8 && echo one > /one\n'
              'FROM ferry/busybox\nCOPY --from=first /one /one\nUSER 65534\nCMD ["cat", "/one"]\n')
REGISTRY_WAIT = 10  # ferryd --registry-wait of the fixture below


def registry_pid(f):
    """The managed registry's pid, from the pidfile ferryd keeps in its data dir."""
    with open(os.path.join(f.data, "registry", "ferryd.pid")) as fh:
        return int(fh.read().strip())


def build_log(f, build_id):
    return "\n".join(line["text"] for line in f.ok("logs", "build", build_id))


def build_end(f, build_id, timeout):
    return wait_for("the build", lambda: (lambda x: x if x["status"] not in ("queued", "running") else None)(
        f.ok("build", "show", build_id)), timeout=timeout)


@pytest.fixture(scope="module")
def waits(tmp_path_factory):
    """A ferryd whose builds wait REGISTRY_WAIT s for its registry, with
    demo/two (TWO_STAGES) built once: the registry and the base image are
    up, buildah has the base."""
    root = tmp_path_factory.mktemp("regwait")
    f = Ferryd(str(root / "data"), extra=["--registry-wait", str(REGISTRY_WAIT)]).start()
    try:
        f.ok("project", "create", "demo")
        repo = Repo(str(root), name="two")
        repo.commit({"Dockerfile": TWO_STAGES}, message="two stages")
        f.repo = repo
        f.ok("component", "create", "demo/two", "--repo", repo.file_url, "--type", "manual-task")
        r = f.cli("build", "demo/two", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        f.host = health(f)["parts"]["registry"]["host"]
        yield f
    finally:
        f.stop()


class Frozen:
    """The fixture's registry stopped with SIGSTOP (by the pid in its
    pidfile) until the block ends or thaw(); SIGCONT then, and ferryd
    stops it as usual at the end."""

    def __init__(self, f):
        self.pid = registry_pid(f)
        self.frozen = False

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        self.frozen = True
        return self

    def thaw(self):
        if self.frozen:
            os.kill(self.pid, signal.SIGCONT)
            self.frozen = False

    def __exit__(self, *exc):
        self.thaw()


def test_a_build_waits_at_from_for_a_frozen_registry_then_builds(waits):
    waits.repo.commit({"v": "1\n"}, message="again")
    with Frozen(waits) as frozen:
        b = waits.ok("build", "demo/two")
        wait_for("the build to wait", lambda: "waiting up to %d s" % REGISTRY_WAIT in build_log(waits, b["id"]),
                 timeout=120)
        time.sleep(3)
        x = waits.ok("build", "show", b["id"])
        assert x["status"] == "running", x
        assert {s["name"]: s["status"] for s in x["steps"]}["image"] == "running", x
        frozen.thaw()
    done = build_end(waits, b["id"], 600)
    log = build_log(waits, b["id"])
    assert done["status"] == "succeeded", log[-3000:]
    assert "the registry %s is down" % waits.host in log and "the registry answers again" in log, log[-3000:]


def test_a_build_fails_soon_while_the_registry_stays_frozen_before_from(waits):
    waits.repo.commit({"v": "2\n"}, message="again")
    with Frozen(waits):
        t0 = time.time()
        b = waits.ok("build", "demo/two")
        done = build_end(waits, b["id"], 60)
        took = time.time() - t0
    assert done["status"] == "failed", done
    steps = {s["name"]: s for s in done["steps"]}
    assert steps["image"]["status"] == "failed", done
    msg = steps["image"]["detail"] or ""
    assert "the registry %s stayed down for %d s" % (waits.host, REGISTRY_WAIT) in msg, done
    assert took < 50, took


def test_a_registry_frozen_under_buildah_stops_the_build_naming_it(waits):
    waits.repo.commit({"v": "3\n"}, message="again")
    b = waits.ok("build", "demo/two")
    # freeze while the first stage's RUN sleeps: buildah is past the wait
    # before the image step and meets the frozen registry at the second FROM
    def first_run():
        lines = waits.api("GET", "/api/v1/builds/%d/log" % b["id"]).json()
        if isinstance(lines, dict):
            lines = lines.get("lines", [])
        return any("RUN sleep 8" in line.get("text", "") for line in lines)
    wait_for("the first stage's RUN", first_run, timeout=600, step=0.05)
    with Frozen(waits):
        t0 = time.time()
        done = build_end(waits, b["id"], 60)
        took = time.time() - t0
    log = build_log(waits, b["id"])
    assert done["status"] == "failed", log[-3000:]
    steps = {s["name"]: s for s in done["steps"]}
    assert steps["image"]["status"] == "failed", (done, log[-3000:])
    msg = steps["image"]["detail"] or ""
    assert "stopped: the registry %s has not answered" % waits.host in msg, (done, log[-3000:])
    assert took < 50, took
    # it builds again once the registry answers
    r = waits.cli("build", "demo/two", "--wait", "--json", timeout=600)
    assert r.rc == 0 and r.json["status"] == "succeeded", r


class TimedLoad(Load):
    """Load that keeps each outcome with its time."""

    def __init__(self, url, host, threads=3):
        super().__init__(url, host, threads)
        self.results = []  # (time, ok)

    def _run(self):
        s = requests.Session()
        while not self.stop_ev.is_set():
            t = time.time()
            try:
                ok = s.get(self.url, headers={"Host": self.host}, timeout=5).status_code == 200
            except requests.RequestException:
                ok = False
                s = requests.Session()
                time.sleep(0.05)
            with self.lock:
                self.results.append((t, ok))


def test_haproxy_killed_during_a_rollout_under_load(d):
    with open(os.path.join(d.data, "gateway", "haproxy.pid")) as f:
        pid = int(f.read().strip())
    with TimedLoad("http://127.0.0.1:%d/" % d.gw, "hello.demo.development.localhost") as load:
        time.sleep(1)
        r = d.cli("config", "set", "demo/hello", "GREETING=again", "--json")
        assert r.rc == 0, r
        dep = wait_for("the new deployment", lambda: [x for x in d.ok("deployments", "demo/hello", "--env", "development")
                                                      if x["status"] in ("pending", "rolling-out")])[0]
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        final = wait_for("the rollout", lambda: (lambda x: x if x["status"] in ("active", "failed") else None)(
            d.ok("deployment", "show", dep["id"])), timeout=300)
        wait_answer(d, "development", "again from development")
        time.sleep(3)
        end = time.time()
    assert final["status"] == "active", d.cli("logs", "deployment", dep["id"]).out
    res = load.results
    bad = [t for t, ok in res if not ok]
    assert len(res) > 50
    # failures only while HAProxy was down: within seconds of the kill
    assert all(killed_at - 0.5 <= t <= killed_at + 10 for t in bad), (killed_at, bad[:5], bad[-5:])
    tail = [ok for t, ok in res if t > end - 2.5]
    assert tail and all(tail), "requests still fail after the restart"
    with open(os.path.join(d.data, "gateway", "haproxy.pid")) as f:
        assert int(f.read().strip()) != pid
    assert any(a["object"] == "gateway" for a in part_restarts(d))
    gw = health(d)["parts"]["gateway"]
    assert gw["state"] == "up" and gw["restarts"] >= 1
    dev = [x for x in d.ok("deployments", "demo/hello", "--env", "development") if x["status"] == "active"]
    assert len(dev) == 1


def test_a_network_helper_that_dies_is_restarted(d):
    with open(os.path.join(d.data, "runtime-instance")) as f:
        inst = f.read().strip()
    net = "%s-demo-development" % inst
    name = "dns " + net
    h = wait_for("the helper", lambda: health(d)["parts"]["network_helpers"].get(name))
    assert h["state"] == "up" and h["pid"] > 0, h
    with open("/run/containers/cni/dnsname/%s/pidfile" % net) as f:
        pid = int(f.read().strip())
    assert pid == h["pid"]
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert net.encode() in f.read()  # this test's network's dnsmasq, nobody else's
    os.kill(pid, signal.SIGKILL)
    again = wait_for("the helper's restart", lambda: (lambda x: x if x and x["pid"] != pid and x["state"] == "up"
                                                      else None)(health(d)["parts"]["network_helpers"].get(name)))
    assert again["restarts"] >= 1
    with open("/proc/%d/cmdline" % again["pid"], "rb") as f:
        assert ("/run/containers/cni/dnsname/%s/dnsmasq.conf" % net).encode() in f.read()
    assert any(a["object"] == name for a in part_restarts(d))
    # the service still answers and a new rollout on the network works
    r = d.cli("config", "set", "demo/hello", "GREETING=dns", "--json")
    assert r.rc == 0, r
    wait_answer(d, "development", "dns from development", timeout=180)
