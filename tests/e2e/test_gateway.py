"""The HAProxy gateway against a real HAProxy on free loopback ports.

Drives src/gateway through tests/unit/gateway/gwctl (a line protocol over
the C API). Backends are small /usr/bin/python3 HTTP servers on loopback.
Every process started here is stopped by its pid; HAProxy by the pid in
its pid file (its own process group).

Run: /usr/bin/python3 -m pytest tests/e2e/test_gateway.py
(FERRY_BUILD_DIR selects the build dir; default build/, else build-gateway/.)
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BACKEND = r'''
import json, sys, time, http.server, socketserver, urllib.parse
name = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if "sleep_ms" in q:
            time.sleep(int(q["sleep_ms"][0]) / 1000)
        body = json.dumps({"name": name, "path": self.path,
                           "prefix": self.headers.get("X-Forwarded-Prefix"),
                           "host": self.headers.get("Host")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    request_queue_size = 128
    def handle_error(self, request, client_address):
        pass  # resets when HAProxy closes idle keep-alive connections
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'''


def gwctl_path():
    cands = []
    if os.environ.get("FERRY_BUILD_DIR"):
        cands.append(os.environ["FERRY_BUILD_DIR"])
    cands += [os.path.join(ROOT, "build"), os.path.join(ROOT, "build-gateway")]
    for d in cands:
        p = os.path.join(d, "tests/unit/gateway/gwctl")
        if os.access(p, os.X_OK):
            return p
    pytest.skip("gwctl is not built (ninja tests/unit/gateway/gwctl)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("nothing listens on port %d" % port)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class Backends:
    def __init__(self, tmp):
        self.script = os.path.join(tmp, "backend.py")
        with open(self.script, "w") as f:
            f.write(BACKEND)
        self.procs = []

    def start(self, name):
        port = free_port()
        p = subprocess.Popen(["/usr/bin/python3", self.script, str(port), name])
        self.procs.append(p)
        wait_port(port)
        return "127.0.0.1:%d" % port

    def stop_all(self):
        for p in self.procs:
            p.kill()
            p.wait()


class Gw:
    """One gwctl process (the gateway's owner, standing in for ferryd)."""

    def __init__(self, data, port, slots=0):
        self.data, self.port = data, port
        self.proc = subprocess.Popen([gwctl_path()], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        self.start_answer = self.raw("start %s 127.0.0.1:%d %d" % (data, port, slots))

    def raw(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        ans = self.proc.stdout.readline().strip()
        assert ans, "gwctl died on: %s" % line
        return ans

    def __call__(self, line):
        ans = self.raw(line)
        assert ans.startswith("ok"), "%s -> %s" % (line, ans)
        return ans

    @property
    def haproxy_pid(self):
        with open(os.path.join(self.data, "gateway/haproxy.pid")) as f:
            return int(f.read())

    def crash(self):
        """kill -9 the owner; HAProxy keeps running."""
        self.proc.kill()
        self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.raw("stop")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


@pytest.fixture
def env(tmp_path):
    be = Backends(str(tmp_path))
    gws = []
    data = str(tmp_path / "data")

    def gateway(slots=0, port=None):
        g = Gw(data, port or (gws[0].port if gws else free_port()), slots)
        assert g.start_answer == "ok", g.start_answer
        gws.append(g)
        return g

    yield be, gateway
    pids = set()
    for g in gws:
        try:
            pids.add(g.haproxy_pid)
        except (OSError, ValueError):
            pass
        g.close()
    for pid in pids:  # only if a test left it running (owner crashed)
        if pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    be.stop_all()


def get(port, path, host=None, **kw):
    headers = {"Host": host} if host else {}
    return requests.get("http://127.0.0.1:%d%s" % (port, path), headers=headers,
                        timeout=kw.pop("timeout", 10), **kw)


def serve(gw, key, host, prefix, base, addr, sid):
    gw("route %s %s %s %s" % (key, host or "-", prefix or "-", base))
    gw("add %s %s %s" % (key, sid, addr))
    gw("state %s %s ready" % (key, sid))


def test_host_path_and_base_path_routing(env):
    be, gateway = env
    gw = gateway()
    a, b = be.start("A"), be.start("B")
    serve(gw, "shop.dev.web.0", "web.shop.dev.localhost", "/shop/dev/web", "/", a, "a0")
    serve(gw, "shop.dev.api.0", "api.shop.dev.localhost", "/shop/dev/api", "/v1", b, "b0")
    p = gw.port

    r = get(p, "/hello?x=1", "web.shop.dev.localhost:%d" % p)
    assert r.status_code == 200 and r.json()["name"] == "A"
    assert r.json()["path"] == "/hello?x=1"
    assert get(p, "/", "WEB.Shop.dev.localhost").json()["name"] == "A"

    # basePath: /v1 and below, not /v1x
    assert get(p, "/v1", "api.shop.dev.localhost").json()["path"] == "/v1"
    assert get(p, "/v1/items/3", "api.shop.dev.localhost").json() == {
        "name": "B", "path": "/v1/items/3", "prefix": None, "host": "api.shop.dev.localhost"}
    r = get(p, "/v1x", "api.shop.dev.localhost")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_route"
    assert get(p, "/", "api.shop.dev.localhost").status_code == 404

    # path form: prefix stripped, basePath kept, prefix passed on
    r = get(p, "/shop/dev/web/hello?y=2")
    assert r.json()["name"] == "A" and r.json()["path"] == "/hello?y=2"
    assert r.json()["prefix"] == "/shop/dev/web"
    assert get(p, "/shop/dev/web").json()["path"] == "/"
    r = get(p, "/shop/dev/api/v1/items")
    assert r.json()["name"] == "B" and r.json()["path"] == "/v1/items"
    assert get(p, "/shop/dev/api/other").status_code == 404

    # unknown host, no host at all
    r = get(p, "/", "nothing.shop.dev.localhost")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json"
    assert get(p, "/elsewhere").status_code == 404

    # a route whose only server is not ready: 503 with a JSON body
    gw("state shop.dev.web.0 a0 maint")
    r = get(p, "/", "web.shop.dev.localhost")
    assert r.status_code == 503 and r.json()["error"]["code"] == "no_ready_server"
    gw("state shop.dev.web.0 a0 ready")
    assert get(p, "/", "web.shop.dev.localhost").status_code == 200

    # route removal: 404 at once
    gw("unroute shop.dev.api.0")
    assert get(p, "/v1", "api.shop.dev.localhost").status_code == 404
    assert get(p, "/", "web.shop.dev.localhost").status_code == 200


def test_route_change_and_errors(env):
    be, gateway = env
    gw = gateway()
    a = be.start("A")
    serve(gw, "k", "old.p.e.localhost", None, "/", a, "s0")
    gw("route k new.p.e.localhost - /api")  # servers stay
    assert get(gw.port, "/api/x", "new.p.e.localhost").json()["name"] == "A"
    assert get(gw.port, "/", "old.p.e.localhost").status_code == 404
    gw("add k s0 %s" % a)  # idempotent
    assert gw.raw("add k s0 127.0.0.1:1").startswith("err 409")
    assert gw.raw("add nope s0 %s" % a).startswith("err 404")
    assert gw.raw("route k2 new.p.e.localhost - /api").startswith("err 409")
    assert gw.raw("route bad;key x.localhost - /").startswith("err 400")
    assert gw.raw("add k s1 127.0.0.1").startswith("err 400")
    gw("remove k s-unknown")
    gw("unroute unknown")


def load(port, host, total, threads, results, retry_idempotent=False):
    """total requests over threads keep-alive clients; results gets
    (status or exception text, backend name). retry_idempotent: the client
    retries a GET once when its reused connection was closed before any
    answer, as HTTP/1.1 allows (RFC 9112, 9.3.1) and browsers do."""
    def worker(n):
        s = requests.Session()
        if retry_idempotent:
            from requests.adapters import HTTPAdapter
            from urllib3.util.retry import Retry
            s.mount("http://", HTTPAdapter(max_retries=Retry(total=1, connect=1, read=1, status=0,
                                                             allowed_methods=["GET"])))
        for _ in range(n):
            try:
                r = s.get("http://127.0.0.1:%d/" % port, headers={"Host": host}, timeout=10)
                results.append((r.status_code, r.json().get("name") if r.status_code == 200 else r.text))
            except Exception as ex:  # a dropped request is what we look for
                results.append((repr(ex), None))
    ts = [threading.Thread(target=worker, args=(total // threads,)) for _ in range(threads)]
    for t in ts:
        t.start()
    return ts


def test_swap_under_load_no_failed_request(env):
    be, gateway = env
    gw = gateway()
    host = "web.shop.dev.localhost"
    a, b = be.start("A"), be.start("B")
    serve(gw, "r", host, None, "/", a, "a0")

    slow = {}

    def slow_request():
        slow["r"] = get(gw.port, "/slow?sleep_ms=1500", host, timeout=20)
    st = threading.Thread(target=slow_request)
    st.start()
    time.sleep(0.3)  # in flight on A
    assert gw("sessions r a0") == "ok 1"

    results = []
    ts = load(gw.port, host, 2000, 4, results)
    time.sleep(0.2)
    gw("add r b0 %s" % b)
    gw("state r b0 ready")
    t0 = time.time()
    gw("drain r a0 10000")  # returns once the slow request is done
    assert time.time() - t0 > 0.5  # it did wait for it
    st.join(timeout=5)  # the client thread may lag behind HAProxy a little
    assert "r" in slow and slow["r"].status_code == 200 and slow["r"].json()["name"] == "A"
    gw("remove r a0")
    for t in ts:
        t.join()

    bad = [x for x in results if x[0] != 200]
    assert not bad, bad[:5]
    assert len(results) == 2000
    names = [n for _, n in results]
    assert "B" in names
    # nothing reaches A after its removal
    for _ in range(20):
        assert get(gw.port, "/", host).json()["name"] == "B"


def test_drain_timeout_reports_inflight(env):
    be, gateway = env
    gw = gateway()
    host = "a.p.e.localhost"
    a = be.start("A")
    serve(gw, "r", host, None, "/", a, "a0")
    t = threading.Thread(target=lambda: get(gw.port, "/?sleep_ms=2000", host))
    t.start()
    time.sleep(0.3)
    ans = gw.raw("drain r a0 300")
    assert ans.startswith("err 504") and "in flight" in ans
    assert gw("sessions r a0") == "ok 1"
    # draining with nothing else ready: no new request reaches it
    assert get(gw.port, "/", host).status_code == 503
    t.join()
    gw("drain r a0 5000")
    assert gw("sessions r a0") == "ok 0"


def test_supervise_restarts_haproxy_and_routes_come_back(env):
    be, gateway = env
    gw = gateway()
    a, b = be.start("A"), be.start("B")
    serve(gw, "web", "web.p.e.localhost", "/p/e/web", "/", a, "a0")
    serve(gw, "api", "api.p.e.localhost", None, "/v1", b, "b0")
    gw("add api b1 127.0.0.1:1")  # in maint: must stay out of traffic
    assert gw("supervise") == "ok 0"
    old = gw.haproxy_pid
    os.killpg(old, signal.SIGKILL)
    while pid_alive(old):
        time.sleep(0.02)
    assert get_or_none(gw.port) is None
    assert gw("supervise") == "ok 1"
    assert gw.haproxy_pid != old
    assert get(gw.port, "/", "web.p.e.localhost").json()["name"] == "A"
    assert get(gw.port, "/p/e/web/x").json()["path"] == "/x"
    for _ in range(10):
        assert get(gw.port, "/v1/x", "api.p.e.localhost").json()["name"] == "B"
    # and it is still changed at run time
    gw("remove api b1")
    gw("drain api b0 1000")
    assert get(gw.port, "/v1/x", "api.p.e.localhost").status_code == 503


def get_or_none(port):
    try:
        return get(port, "/", timeout=1)
    except requests.ConnectionError:
        return None


def test_start_fails_clearly_when_port_taken(env, tmp_path):
    be, gateway = env
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        g = Gw(str(tmp_path / "other"), s.getsockname()[1])
        try:
            assert g.start_answer.startswith("err 502"), g.start_answer
            assert "HAProxy" in g.start_answer and "bind" in g.start_answer.lower()
        finally:
            g.proc.stdin.close()
            g.proc.wait()


def test_owner_crash_haproxy_keeps_serving_and_is_adopted(env):
    be, gateway = env
    gw = gateway()
    host = "web.p.e.localhost"
    a, b = be.start("A"), be.start("B")
    serve(gw, "web", host, "/p/e/web", "/", a, "a0")
    serve(gw, "gone", "gone.p.e.localhost", None, "/", a, "g0")
    gw("add web b0 %s" % b)
    pid = gw.haproxy_pid

    results = []
    ts = load(gw.port, host, 3000, 2, results)
    gw.crash()  # ferryd killed -9 mid-rollout
    time.sleep(0.3)
    gw2 = gateway()  # same data dir and port: adopts
    assert gw2.haproxy_pid == pid
    # the desired state from the store: B ready, A draining, "gone" removed
    gw2("sync web,%s,/p/e/web,/,a0@%s@drain+b0@%s@ready" % (host, a, b))
    for t in ts:
        t.join()
    bad = [x for x in results if x[0] != 200]
    assert not bad, bad[:5]
    assert get(gw2.port, "/", "gone.p.e.localhost").status_code == 404
    for _ in range(10):
        assert get(gw2.port, "/", host).json()["name"] == "B"
    assert gw2("sessions web a0") == "ok 0"
    gw2("remove web a0")
    assert get(gw2.port, "/p/e/web/").json()["name"] == "B"


def test_pool_grows_with_seamless_reload(env):
    be, gateway = env
    gw = gateway(slots=2)
    a = be.start("A")
    serve(gw, "r0", "r0.p.e.localhost", None, "/", a, "s")
    serve(gw, "r1", "r1.p.e.localhost", None, "/", a, "s")
    gw("add r1 drainer %s" % a)
    gw("state r1 drainer drain")
    results = []
    # A reload (the only one: the pool grows) makes the old process close
    # its idle keep-alive connections; a request sent on one at that very
    # moment gets no answer, which clients retry. Nothing else may fail.
    ts = load(gw.port, "r0.p.e.localhost", 3000, 2, results, retry_idempotent=True)
    time.sleep(0.2)
    serve(gw, "r2", "r2.p.e.localhost", None, "/", a, "s")  # third: pool doubles
    for t in ts:
        t.join()
    bad = [x for x in results if x[0] != 200]
    assert not bad, bad[:5]
    for k in ("r0", "r1", "r2"):
        assert get(gw.port, "/", "%s.p.e.localhost" % k).json()["name"] == "A"
    with open(os.path.join(gw.data, "gateway/haproxy.cfg")) as f:
        assert "\nbackend r3\n" in f.read()
    # state survived the reload: the draining one is still draining
    assert gw("sessions r1 drainer") == "ok 0"
    serve(gw, "r3", "r3.p.e.localhost", None, "/", a, "s")
    assert get(gw.port, "/", "r3.p.e.localhost").status_code == 200
