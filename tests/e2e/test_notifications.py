"""Notifications (outgoing webhooks) against a real ferryd (buildah,
registry, podman with runc, HAProxy), received by a test receiver on
loopback that checks every signature: the events of a build, a deployment
and an approval arrive as signed JSON (or a Slack-compatible body); a
receiver answering 500 is tried again and the delivery log shows both
tries; a receiver that never answers holds up neither the build nor its
auto-deploy; bad hooks are refused with a clear message."""

import hashlib
import hmac
import http.server
import json
import os
import threading
import time

import pytest

from ferry import Ferryd, binary, free_port
from cnihold import BridgeHold
from gitserve import Repo
from openapi_check import Description
from test_deploy import active, settle
from test_rollout import cleanup, hello_files


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST (path, headers, body);
    answers 500 to the first `fail` requests of a path, and holds every
    request of a path in `hold` until release()."""

    def __init__(self):
        self.got = []
        self.fail = {}
        self.hold = set()
        self.held = threading.Event()
        self.release_ev = threading.Event()
        self.lock = threading.Lock()
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with rec.lock:
                    rec.got.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                    "at": time.time()})
                    fail = rec.fail.get(self.path, 0)
                    if fail:
                        rec.fail[self.path] = fail - 1
                if self.path in rec.hold:
                    rec.held.set()
                    rec.release_ev.wait(60)
                self.send_response(500 if fail else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def on(self, path):
        with self.lock:
            return [g for g in self.got if g["path"] == path]

    def wait_for(self, path, pred, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            hits = [g for g in self.on(path) if pred(g)]
            if hits:
                return hits
            time.sleep(0.2)
        raise AssertionError("nothing matching arrived on %s; got %r" % (path, self.on(path)))

    def release(self):
        self.release_ev.set()

    def close(self):
        self.release()
        self.srv.shutdown()
        self.srv.server_close()


def signed(g, secret):
    """The body's HMAC-SHA256 with secret equals X-Ferry-Signature-256."""
    want = "sha256=" + hmac.new(secret.encode(), g["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(g["headers"].get("X-Ferry-Signature-256", ""), want)


def event(g):
    return json.loads(g["body"])


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("notifications")
    data = str(root / "data")
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw,
                            "--init-binary", binary("ferry-init")])
    f.gw = gw
    f.rx = Receiver()
    hold = BridgeHold().__enter__()
    f.start()
    try:
        f.ok("project", "create", "demo", "--environments", "development,production")
        repo = Repo(str(root), name="hello")
        repo.commit(hello_files(), message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        repo.commit({}, message="executable cgi")
        f.repo = repo
        f.dev = f.ok("token", "create", "--role", "developer", "--name", "dev1")["token"]
        yield f
    finally:
        f.stop()
        f.rx.close()
        cleanup(data)
        hold.__exit__(None, None, None)


def test_bad_hooks_are_refused_naming_the_problem(d):
    r = d.cli("notifications", "create", "demo", "x", "--url", d.rx.url("/x"), "--events", "build.exploded",
              "--json")
    assert r.rc == 1 and r.err_json["status"] == 400, r
    assert "unknown event \"build.exploded\"" in r.err_json["error"] and "deployment.rolled-back" in \
        r.err_json["error"], r.err_json
    r = d.cli("notifications", "create", "demo", "x", "--url", "ftp://example.org/", "--events", "all", "--json")
    assert r.rc == 1 and "http:// or https://" in r.err_json["error"], r
    r = d.cli("notifications", "create", "demo", "Bad_Name", "--url", d.rx.url("/x"), "--events", "all",
              "--json")
    assert r.rc == 1 and "lower-case letter" in r.err_json["error"], r
    # a developer may not point ferryd at the server's own loopback
    r = d.cli("notifications", "create", "demo", "x", "--url", d.rx.url("/x"), "--events", "all", "--json",
              token=d.dev)
    assert r.rc == 1 and r.err_json["status"] == 403 and "loopback" in r.err_json["error"], r
    short = os.path.join(os.path.dirname(d.data), "short-secret")
    with open(short, "w") as f:
        f.write("tooshort\n")
    r = d.cli("notifications", "create", "demo", "x", "--url", d.rx.url("/x"), "--events", "all",
              "--secret-file", short, "--json")
    assert r.rc == 1 and "16 to 1024" in r.err_json["error"], r
    assert d.ok("notifications", "list", "demo") == []


def test_ping_retried_after_500_with_valid_signatures(d):
    spec = Description(d.api("GET", "/api/v1/openapi.json").json())
    secret_file = os.path.join(os.path.dirname(d.data), "ops-secret")
    secret = "s3cret-for-the-ops-receiver"
    with open(secret_file, "w") as f:
        f.write(secret + "\n")
    h = d.ok("notifications", "create", "demo", "ops", "--url", d.rx.url("/ops"), "--events", "all",
             "--secret-file", secret_file)
    assert "secret" not in h and h["format"] == "json" and "deployment.rolled-back" in h["events"], h
    spec.check(d.api("GET", "/api/v1/projects/demo/notifications"), "GET", "/api/v1/projects/demo/notifications")
    d.rx.fail["/ops"] = 1
    t0 = time.time()
    r = d.api("POST", "/api/v1/projects/demo/notifications/ops/test")
    assert r.status_code == 202, r.text
    spec.check(r, "POST", "/api/v1/projects/demo/notifications/ops/test")
    d.rx.wait_for("/ops", lambda g: len(d.rx.on("/ops")) >= 2, timeout=30)
    tries = d.rx.on("/ops")[:2]
    assert all(signed(g, secret) for g in tries), [g["headers"] for g in tries]
    # the same event both times, by its id; the second try about a second later
    assert event(tries[0])["event_id"] == event(tries[1])["event_id"]
    assert event(tries[0])["event"] == "ping" and tries[0]["headers"]["X-Ferry-Event"] == "ping"
    assert 0.8 <= tries[1]["at"] - tries[0]["at"] < 10, (tries[0]["at"] - t0, tries[1]["at"] - t0)
    # the delivery log shows both tries
    deadline = time.time() + 20
    while time.time() < deadline:
        log = d.ok("notifications", "deliveries", "demo", "--hook", "ops")
        if log and log[0]["status"] == "delivered":
            break
        time.sleep(0.2)
    dl = log[0]
    assert dl["status"] == "delivered" and dl["attempts"] == 2, dl
    assert [t["http_status"] for t in dl["tries"]] == [500, 200], dl
    assert dl["tries"][0]["error"] == "the receiver answered 500"
    spec.check(d.api("GET", "/api/v1/projects/demo/notification-deliveries"), "GET",
               "/api/v1/projects/demo/notification-deliveries")
    human = d.cli("notifications", "deliveries", "demo")
    assert human.rc == 0 and "delivered after 2 tries" in human.out and "HTTP 500" in human.out, human


def test_build_deploy_and_approval_events_arrive_signed(d):
    created = d.ok("notifications", "create", "demo", "chat", "--url", d.rx.url("/chat"), "--events",
                   "build.succeeded,build.failed,deployment.active,approval.requested,approval.decided",
                   "--format", "slack")
    secret = created["secret"]
    assert len(secret) == 64 and created["format"] == "slack"
    assert "secret" not in d.ok("notifications", "list", "demo")[1]
    # a receiver that holds every request: the build's notification waits
    # there while the build ends and its auto-deploy rolls out regardless
    d.rx.hold.add("/slow")
    d.ok("notifications", "create", "demo", "slow", "--url", d.rx.url("/slow"), "--events",
         "build.succeeded")
    d.ok("component", "create", "demo/hello", "--repo", d.repo.file_url, "--auto-deploy")
    d.ok("config", "set", "demo/hello", "GREETING=hello")
    r = d.cli("build", "demo/hello", "--wait", "--json", timeout=600)
    assert r.rc == 0, r
    build = r.json
    assert d.rx.held.wait(30), "the held receiver got nothing"
    deadline = time.time() + 300
    while time.time() < deadline and not active(d, "development"):
        time.sleep(0.5)
    dep = active(d, "development")
    assert dep, "the auto-deploy did not finish while a receiver held its notification"
    assert not d.rx.release_ev.is_set()
    d.rx.release()

    ops = d.rx.wait_for("/ops", lambda g: event(g)["event"] == "build.succeeded")[0]
    body = event(ops)
    assert body["project"] == "demo" and body["data"]["build"] == build["id"], body
    assert body["data"]["component"] == "hello" and body["data"]["digest"] == build["digest"], body
    assert ops["headers"]["X-Ferry-Event"] == "build.succeeded"
    ops = d.rx.wait_for("/ops", lambda g: event(g)["event"] == "deployment.active")[0]
    body = event(ops)
    assert body["data"]["deployment"] == dep["id"] and body["data"]["environment"] == "development", body
    # Slack's body: one text line, signed all the same
    chat = d.rx.wait_for("/chat", lambda g: "is active in development" in event(g)["text"])[0]
    assert signed(chat, secret) and list(event(chat)) == ["text"], chat
    assert "deployment %d of demo/hello" % dep["id"] in event(chat)["text"]

    # an approval asked for and decided
    d.ok("env", "update", "demo", "production", "--require-approval")
    r = d.cli("promote", "demo/hello", "--to", "production", "--json", token=d.dev, timeout=60)
    assert r.rc == 0, r
    req = r.json["approval_request"]["id"]
    chat = d.rx.wait_for("/chat", lambda g: "approval requested" in event(g)["text"])[0]
    assert signed(chat, secret) and "request %d" % req in event(chat)["text"] and "dev1" in event(chat)["text"]
    assert d.cli("reject", str(req), "--reason", "not today").rc == 0
    ops = d.rx.wait_for("/ops", lambda g: event(g)["event"] == "approval.decided")[0]
    body = event(ops)
    assert body["data"]["approval_request"] == req and body["data"]["status"] == "rejected", body
    assert body["data"]["reason"] == "not today"

    # a failed build
    d.ok("component", "create", "demo/broken", "--repo", d.repo.file_url, "--path", "no-such-dir")
    r = d.cli("build", "demo/broken", "--wait", "--json", timeout=300)
    assert r.rc != 0
    chat = d.rx.wait_for("/chat", lambda g: "of demo/broken failed" in event(g)["text"])[0]
    assert signed(chat, secret)
    # every delivery to the receivers that answer was delivered
    deadline = time.time() + 30
    while time.time() < deadline:
        log = d.ok("notifications", "deliveries", "demo", "--hook", "chat")
        if all(x["status"] == "delivered" for x in log):
            break
        time.sleep(0.3)
    assert len(log) >= 5 and all(x["status"] == "delivered" for x in log), log


def test_deleting_a_hook_stops_its_deliveries(d):
    assert d.ok("notifications", "delete", "demo", "slow")["deleted"] == "slow"
    r = d.cli("notifications", "delete", "demo", "slow", "--json")
    assert r.rc == 1 and r.err_json["status"] == 404, r
    names = [h["name"] for h in d.ok("notifications", "list", "demo")]
    assert names == ["chat", "ops"]
    r = d.cli("notifications", "deliveries", "demo", "--hook", "slow", "--json")
    assert r.rc == 1 and r.err_json["status"] == 404, r
