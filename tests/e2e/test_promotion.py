"""Promotion rules and approvals as a team meets them, through the real CLI
against a real ferryd (buildah, registry, podman with runc, HAProxy): the
environment line (a developer cannot skip staging, an admin can with a
recorded reason), a promote issued while the source environment rolls out
a newer version promotes that version (or, with --no-wait, is refused
naming it), and every promote names what it promoted."""

import json
import os
import threading
import time

import pytest
import requests

from ferry import Ferryd, binary, free_port
from cnihold import BridgeHold
from gitserve import Repo
from openapi_check import Description
from test_deploy import active, deps, settle
from test_rollout import cleanup, hello_files

LINE = ["development", "staging", "production"]


def slow_hello():
    """examples/hello, its readiness probe starting only after 3 s: every
    rollout of it lasts at least that long, so a test can act while one is
    in flight."""
    files = hello_files()
    desc = files[".ferry/component.yaml"]
    assert "    periodSeconds: 1\n" in desc
    files[".ferry/component.yaml"] = desc.replace("    periodSeconds: 1\n",
                                                  "    initialDelaySeconds: 3\n    periodSeconds: 1\n")
    return files


def answer(d, env):
    r = requests.get("http://127.0.0.1:%d/" % d.gw,
                     headers={"Host": "hello.demo.%s.localhost" % env}, timeout=10)
    return r.status_code, r.text.strip()


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("promotion")
    data = str(root / "data")
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw,
                            "--init-binary", binary("ferry-init")])
    f.gw = gw
    hold = BridgeHold().__enter__()
    f.start()
    try:
        f.ok("project", "create", "demo", "--environments", ",".join(LINE))
        repo = Repo(str(root), name="hello")
        repo.commit(slow_hello(), message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        repo.commit({}, message="executable cgi")
        f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        f.ok("config", "set", "demo/hello", "GREETING=hello")
        r = f.cli("build", "demo/hello", "--wait", "--json", timeout=600)
        assert r.rc == 0, r
        f.build = r.json
        f.dev = f.ok("token", "create", "--role", "developer", "--name", "dev1")["token"]
        f.dev2 = f.ok("token", "create", "--role", "developer", "--name", "dev2")["token"]
        assert f.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
        yield f
    finally:
        f.stop()
        cleanup(data)
        hold.__exit__(None, None, None)


def test_promote_names_the_source_deployment_commit_and_digest(d):
    src = active(d, "development")
    r = d.cli("promote", "demo/hello", "--to", "staging", "--wait", "--json", token=d.dev, timeout=300)
    assert r.rc == 0, r
    p = r.json
    assert p["status"] == "active" and p["cause"] == "promote"
    # for people, the promote says what it promotes
    human = d.cli("promote", "demo/hello", "--to", "staging", token=d.dev, timeout=300)
    assert human.rc == 0, human
    assert "promoting deployment %d (#%d in development, commit %s, %s)" % (
        src["id"], src["seq"], src["commit"][:12], src["digest"]) in human.out, human.out
    settle(d, "staging")
    api = d.api("POST", "/api/v1/projects/demo/components/hello/promote", json={"to": "staging"})
    assert api.status_code == 202, api.text
    body = api.json()
    assert body["source"] == {"id": src["id"], "environment": "development", "seq": src["seq"],
                              "commit": d.build["commit"], "digest": d.build["digest"]}
    assert body["promoted_from"] == src["id"] and body["digest"] == src["digest"]
    settle(d, "staging")
    assert answer(d, "staging") == (200, "hello from staging")


def test_promote_during_a_rollout_promotes_the_newer_version(d):
    old = active(d, "development")
    d.ok("config", "set", "demo/hello", "GREETING=newer")
    newer = max(deps(d, "development"), key=lambda x: x["id"])
    assert newer["id"] != old["id"] and newer["status"] in ("pending", "rolling-out"), newer
    # --no-wait: refused, naming the deployment in flight
    r = d.cli("promote", "demo/hello", "--to", "staging", "--no-wait", "--json", token=d.dev)
    assert r.rc != 0, r
    err = r.err_json
    assert err["status"] == 409
    assert "rolling out deployment %d (#%d" % (newer["id"], newer["seq"]) in err["error"], err
    assert active(d, "development")["id"] == old["id"], "the refusal must not wait for the rollout"
    # without it: waits for that rollout and promotes its result, not the
    # older active deployment
    r = d.cli("promote", "demo/hello", "--to", "staging", "--json", token=d.dev, timeout=300)
    assert r.rc == 0, r
    p = r.json
    assert p["source"]["id"] == newer["id"] and p["promoted_from"] == newer["id"], p
    assert d.ok("deployment", "show", newer["id"])["status"] == "active"
    settle(d, "staging")
    assert active(d, "staging")["id"] == p["id"]
    assert answer(d, "staging") == (200, "newer from staging")


def test_a_failed_rollout_in_the_source_promotes_nothing(d):
    before = active(d, "staging")
    d.ok("config", "set", "demo/hello", "GREETING=doomed")
    doomed = max(deps(d, "development"), key=lambda x: x["id"])
    assert doomed["status"] in ("pending", "rolling-out"), doomed
    out = {}
    t = threading.Thread(target=lambda: out.update(r=d.cli("promote", "demo/hello", "--to", "staging",
                                                            "--json", token=d.dev, timeout=300)))
    t.start()
    # the promote is waiting for the doomed rollout when it ends badly (an
    # undeploy before its rollout finished fails it)
    time.sleep(1)
    assert t.is_alive(), out
    assert d.cli("undeploy", "demo/hello", "--env", "development").rc == 0
    t.join(300)
    r = out["r"]
    assert r.rc != 0 and r.err_json["status"] == 409, r
    assert "deployment %d (#%d" % (doomed["id"], doomed["seq"]) in r.err_json["error"], r.err_json
    assert "nothing was promoted" in r.err_json["error"], r.err_json
    assert d.ok("deployment", "show", doomed["id"])["status"] == "failed"
    assert active(d, "staging")["id"] == before["id"]
    # a deploy right after the undeploy keeps serving once the undeploy job
    # has run (it used to stop the newer deployment's replica too)
    assert d.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0
    deadline = time.time() + 6
    while time.time() < deadline:
        assert answer(d, "development") == (200, "doomed from development")
        time.sleep(0.3)
    s = d.ok("status", "demo/hello")
    assert s["environments"][0]["healthy"] is True, s


def test_skipping_an_environment_needs_an_admin_and_a_reason(d):
    settle(d, "development")
    src = active(d, "development")
    r = d.cli("promote", "demo/hello", "--to", "production", "--from", "development", "--json",
              token=d.dev)
    assert r.rc != 0 and r.err_json["status"] == 403, r
    assert "--skip-reason" in r.err_json["error"] and "environment line" in r.err_json["error"], r.err_json
    # a developer's reason does not help
    r = d.cli("promote", "demo/hello", "--to", "production", "--from", "development",
              "--skip-reason", "hotfix", "--json", token=d.dev)
    assert r.rc != 0 and r.err_json["status"] == 403, r
    # an admin must say why
    r = d.cli("promote", "demo/hello", "--to", "production", "--from", "development", "--json")
    assert r.rc != 0 and r.err_json["status"] == 400 and "--skip-reason" in r.err_json["error"], r
    # a reason for a promotion that skips nothing is a mistake
    r = d.cli("promote", "demo/hello", "--to", "staging", "--skip-reason", "why", "--json")
    assert r.rc != 0 and r.err_json["status"] == 400, r
    assert active(d, "production") is None
    reason = "hotfix INC-42 approved by the on-call lead"
    r = d.cli("promote", "demo/hello", "--to", "production", "--from", "development",
              "--skip-reason", reason, "--wait", "--json", timeout=300)
    assert r.rc == 0, r
    p = r.json
    assert p["skip_reason"] == reason and p["promoted_from"] == src["id"] and p["status"] == "active"
    log = d.cli("logs", "deployment", p["id"])
    assert log.rc == 0 and reason in log.out, log
    audit = d.ok("audit", "--project", "demo")
    entry = [e for e in audit if e["action"] == "deployment.promote" and reason in e["object"]]
    assert entry and entry[0]["actor"] == "admin" and entry[0]["status"] == 202, audit[:5]
    refused = [e for e in audit if e["action"] == "deployment.promote" and e["actor"] == "dev1"
               and e["status"] == 403]
    assert refused, audit[:8]
    # the ordinary step along the line stays open to developers
    r = d.cli("promote", "demo/hello", "--to", "production", "--wait", "--json", token=d.dev, timeout=300)
    assert r.rc == 0 and "skip_reason" not in r.json, r
    assert answer(d, "production")[0] == 200


# ---- approvals -------------------------------------------------------------

def json_text(v):
    return json.dumps(v)


def pending(d, token=None):
    kw = {} if token is None else {"token": token}
    return d.ok("approvals", "demo", **kw)


def held(r):
    assert r.rc == 0, r
    req = r.json["approval_request"]
    assert req["status"] == "pending", req
    return req


def test_approval_required_for_production(d):
    settle(d, "production")
    r = d.cli("env", "update", "demo", "production", "--require-approval", "--approvers", "admin,dev2",
              "--json", token=d.dev)
    assert r.rc != 0 and r.err_json["status"] == 403, r  # admins set policies
    env = d.ok("env", "update", "demo", "production", "--require-approval", "--approvers", "admin,dev2")
    assert env["approval"] == {"approvers": ["admin", "dev2"], "approvals": 1, "ttl_s": 86400}, env
    listed = {e["name"]: e["approval"] for e in d.ok("env", "list", "demo")}
    assert listed["production"]["approvers"] == ["admin", "dev2"] and listed["staging"] is None
    d.dev3 = d.ok("token", "create", "--role", "developer", "--name", "dev3")["token"]
    before = active(d, "production")
    source = active(d, "staging")

    # a promote with --wait waits for the decision, then for the rollout
    out = {}
    t = threading.Thread(target=lambda: out.update(r=d.cli(
        "promote", "demo/hello", "--to", "production", "--wait", "--json", token=d.dev, timeout=300)))
    t.start()
    deadline = time.time() + 30
    while time.time() < deadline and not pending(d):
        time.sleep(0.2)
    reqs = pending(d)
    assert len(reqs) == 1, reqs
    req = reqs[0]
    assert req["action"] == "promote" and req["environment"] == "production" and req["requested_by"] == "dev1"
    assert "deployment %d" % source["id"] in req["summary"] and source["digest"] in req["summary"], req
    assert active(d, "production")["id"] == before["id"], "nothing rolls out before the approval"
    # the requester cannot approve, nor can a token that is not an approver
    r = d.cli("approve", req["id"], "--json", token=d.dev)
    assert r.rc != 0 and r.err_json["status"] == 403 and "requester" in r.err_json["error"], r
    r = d.cli("approve", req["id"], "--json", token=d.dev3)
    assert r.rc != 0 and r.err_json["status"] == 403 and "not an approver" in r.err_json["error"], r
    assert d.ok("approval", "show", req["id"])["status"] == "pending"
    r = d.cli("approve", req["id"], "--comment", "looks good", "--json", token=d.dev2)
    assert r.rc == 0, r
    decided = r.json
    assert decided["status"] == "approved" and decided["deployment"], decided
    assert decided["votes"] == [{"by": "dev2", "decision": "approve", "comment": "looks good",
                                 "at": decided["votes"][0]["at"]}]
    t.join(300)
    w = out["r"]
    assert w.rc == 0, w
    assert w.json["id"] == decided["deployment"] and w.json["status"] == "active", w.json
    dep = w.json
    assert dep["promoted_from"] == source["id"] and dep["created_by"] == "dev1" and dep["cause"] == "promote"
    log = d.cli("logs", "deployment", dep["id"])
    assert "approval request %d approved" % req["id"] in log.out, log
    # decided requests are not pending any more; --all lists them
    assert pending(d) == []
    assert [x["status"] for x in d.ok("approvals", "demo", "--all") if x["id"] == req["id"]] == ["approved"]
    r = d.cli("approve", req["id"], "--json", token=d.dev2)
    assert r.rc != 0 and r.err_json["status"] == 409, r
    audit = d.ok("audit", "--project", "demo")
    acts = [(e["actor"], e["action"], e["status"]) for e in audit]
    assert ("dev1", "approval.request", 202) in acts, acts[:10]
    assert ("dev2", "approval.approve", 200) in acts, acts[:10]
    assert ("dev1", "approval.approve", 403) in acts and ("dev3", "approval.approve", 403) in acts
    assert ("admin", "environment.update", 200) in acts


def test_rejected_request_changes_nothing(d):
    settle(d, "production")
    before = active(d, "production")
    req = held(d.cli("rollback", "demo/hello", "--env", "production", "--json", token=d.dev))
    assert req["action"] == "rollback" and "back from deployment %d" % before["id"] in req["summary"], req
    r = d.cli("reject", req["id"], token=d.dev2)
    assert r.rc == 2 and "--reason" in r.err, r
    # the API's answers are the ones its OpenAPI description promises
    spec = Description(d.api("GET", "/api/v1/openapi.json").json())
    spec.check(d.api("GET", "/api/v1/approvals?project=demo&all=1"), "GET", "/api/v1/approvals")
    spec.check(d.api("GET", "/api/v1/approvals/%d" % req["id"]), "GET", "/api/v1/approvals/%d" % req["id"])
    for e in d.ok("env", "list", "demo"):
        assert "approval" in e
    spec.check(d.api("GET", "/api/v1/projects/demo/environments"), "GET", "/api/v1/projects/demo/environments")
    r = d.cli("reject", req["id"], "--reason", "not during the sale", "--json", token=d.dev2)
    assert r.rc == 0 and r.json["status"] == "rejected" and r.json["reason"] == "not during the sale", r
    r = d.cli("approve", req["id"], "--json")
    assert r.rc != 0 and r.err_json["status"] == 409 and "rejected" in r.err_json["error"], r
    assert active(d, "production")["id"] == before["id"]
    assert not [x for x in deps(d, "production") if x["id"] > before["id"]]
    audit = d.ok("audit", "--project", "demo")
    assert [e for e in audit if e["action"] == "approval.reject" and "not during the sale" in e["object"]]


def test_request_expires(d):
    d.ok("env", "update", "demo", "production", "--require-approval", "--approval-ttl", "2s")
    req = held(d.cli("promote", "demo/hello", "--to", "production", "--json", token=d.dev))
    assert req["approvers"] == ["admin", "dev2"], req  # the policy's approvers are kept
    time.sleep(3)
    r = d.cli("approve", req["id"], "--json", token=d.dev2)
    assert r.rc != 0 and r.err_json["status"] == 409 and "expired" in r.err_json["error"], r
    assert d.ok("approval", "show", req["id"])["status"] == "expired"
    audit = d.ok("audit", "--project", "demo")
    assert [e for e in audit if e["action"] == "approval.expire" and e["actor"] == "ferry"], audit[:5]
    d.ok("env", "update", "demo", "production", "--require-approval", "--approval-ttl", "24h")


def test_request_invalidated_when_its_source_changes(d):
    settle(d, "staging")
    source = active(d, "staging")
    req = held(d.cli("promote", "demo/hello", "--to", "production", "--json", token=d.dev))
    # staging moves on before anyone approves
    d.ok("config", "set", "demo/hello", "GREETING=moved", "--env", "staging")
    settle(d, "staging")
    assert active(d, "staging")["id"] != source["id"]
    r = d.cli("approve", req["id"], "--json", token=d.dev2)
    assert r.rc != 0 and r.err_json["status"] == 409 and "invalidated" in r.err_json["error"], r
    shown = d.ok("approval", "show", req["id"])
    assert shown["status"] == "invalidated" and "deployment %d" % source["id"] in shown["reason"], shown


def test_configuration_change_waits_for_approval(d):
    settle(d, "production")
    before = active(d, "production")
    secret = "approval-canary-5e1d9b77c3"
    req = held(d.cli("config", "set", "demo/hello", "GREETING=agreed", "API_KEY=" + secret, "--secret",
                     "--env", "production", "--json", token=d.dev))
    assert req["action"] == "config.set" and "GREETING" in req["summary"] and "API_KEY (secret)" in req["summary"]
    keys = [c["key"] for c in d.ok("config", "list", "demo/hello", "--env", "production")]
    assert "API_KEY" not in keys, "a held change is not made"
    assert active(d, "production")["id"] == before["id"]
    # the held values are sealed: not in any answer, log or the store
    assert secret not in json_text(d.ok("approvals", "demo", "--all")) and secret not in d.log()
    with open(os.path.join(d.data, "ferry.db"), "rb") as f:
        assert secret.encode() not in f.read()
    r = d.cli("approve", req["id"], "--json", token=d.dev2)
    assert r.rc == 0 and r.json["status"] == "approved", r
    assert secret not in r.out
    got = {c["key"]: c for c in d.ok("config", "list", "demo/hello", "--env", "production")}
    assert got["API_KEY"]["secret"] is True and "value" not in got["API_KEY"]
    assert got["API_KEY"]["updated_by"] == "dev1"
    settle(d, "production")
    now = active(d, "production")
    assert now["id"] != before["id"] and now["cause"] == "config"
    assert answer(d, "production") == (200, "agreed from production")
    # unset waits too; an unknown key is refused at once
    r = d.cli("config", "unset", "demo/hello", "NOPE", "--env", "production", "--json", token=d.dev)
    assert r.rc != 0 and r.err_json["status"] == 404, r
    a = d.api("DELETE", "/api/v1/projects/demo/components/hello/configs/API_KEY?env=production")
    assert a.status_code == 202, a.text
    Description(d.api("GET", "/api/v1/openapi.json").json()).check(
        a, "DELETE", "/api/v1/projects/demo/components/hello/configs/API_KEY")
    d.ok("reject", a.json()["approval_request"]["id"], "--reason", "not this way")
    req = held(d.cli("config", "unset", "demo/hello", "API_KEY", "--env", "production", "--json", token=d.dev))
    assert req["action"] == "config.unset"
    d.ok("reject", req["id"], "--reason", "keep it", token=d.dev2)
    # without the policy, changes go straight through again
    d.ok("env", "update", "demo", "production", "--no-require-approval")
    r = d.cli("promote", "demo/hello", "--to", "production", "--json", token=d.dev, timeout=300)
    assert r.rc == 0 and "approval_request" not in r.json and r.json["cause"] == "promote", r
