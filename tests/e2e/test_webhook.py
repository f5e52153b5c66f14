"""Push webhooks and the branch poller, end to end: GitHub-format deliveries
signed with the component's secret (X-Hub-Signature-256), GitLab token hooks,
replays, wrong signatures, other branches, tags and deletions; every delivery
recorded and audited."""

import hashlib
import hmac
import json
import os
import time
import uuid

import pytest
import requests

from ferry import Ferryd
from gitserve import GitDaemon, Repo, remove_local_images

DOCKERFILE = 'FROM ferry/busybox\nCOPY hello.txt /hello.txt\nUSER 65534\n'
ZERO = "0" * 40


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("hooks")
    os.makedirs(str(root / "git"))
    daemon = GitDaemon(str(root / "git")).start()
    d = Ferryd(str(root / "data")).start()
    d.ok("project", "create", "shop")
    try:
        yield d, daemon, str(root / "git")
    finally:
        d.stop()
        daemon.stop()
        remove_local_images(d.data)
        assert d.proc.returncode == 0, d.log()[-4000:]


_n = [0]


class Hooked:
    """A repository and a component with its webhook URL and secret."""

    def __init__(self, env, *opts, branch="main"):
        d, daemon, gitroot = env
        _n[0] += 1
        self.d = d
        self.name = "h%d" % _n[0]
        self.repo = Repo(gitroot, name=self.name, branch=branch)
        self.sha = self.repo.commit({"Dockerfile": DOCKERFILE, "hello.txt": "1\n"})
        self.comp = d.ok("component", "create", "shop/" + self.name, "--repo", daemon.url(self.repo),
                         "--branch", branch, *opts)
        self.secret = self.comp["webhook_secret"]
        # The printed URL points at the daemon's public URL: here, the same ferryd.
        assert self.comp["webhook_url"].startswith(d.url + "/api/v1/hooks/")
        self.url = self.comp["webhook_url"]

    def github_payload(self, after, ref=None, before=None, deleted=False):
        """A push payload shaped like GitHub's (the fields ferry reads, and
        the usual company)."""
        ref = ref or "refs/heads/" + self.repo.branch
        return {
            "ref": ref,
            "before": before or ZERO,
            "after": after,
            "repository": {
                "id": 123456, "name": self.name, "full_name": "acme/" + self.name,
                "private": True, "clone_url": "https://github.com/acme/%s.git" % self.name,
                "default_branch": "main",
            },
            "pusher": {"name": "ada", "email": "ada@example.com"},
            "sender": {"login": "ada", "id": 1, "type": "User"},
            "created": before is None and not deleted,
            "deleted": deleted,
            "forced": False,
            "base_ref": None,
            "compare": "https://github.com/acme/%s/compare/%s...%s" % (self.name, (before or ZERO)[:12], after[:12]),
            "commits": [] if deleted else [{
                "id": after, "tree_id": "f" * 40, "distinct": True, "message": "change",
                "timestamp": "2026-01-01T00:01:00Z",
                "author": {"name": "Ada Tester", "email": "ada@example.com", "username": "ada"},
                "added": [], "removed": [], "modified": ["hello.txt"],
            }],
            "head_commit": None if deleted else {"id": after, "message": "change"},
        }

    def github(self, event, payload, secret=None, delivery=None, signature=...):
        body = json.dumps(payload, indent=2).encode()  # GitHub pretty-prints; the raw bytes are signed
        key = (secret if secret is not None else self.secret).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
            "X-GitHub-Hook-ID": "292430182",
            "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        }
        if signature is ...:
            headers["X-Hub-Signature-256"] = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return requests.post(self.url, data=body, headers=headers, timeout=30)

    def gitlab(self, payload, token=None, event="Push Hook", uuid_=None):
        headers = {
            "Content-Type": "application/json",
            "X-Gitlab-Event": event,
            "X-Gitlab-Token": token if token is not None else self.secret,
            "X-Gitlab-Instance": "https://gitlab.example.com",
        }
        if uuid_:
            headers["X-Gitlab-Event-UUID"] = uuid_
        return requests.post(self.url, data=json.dumps(payload).encode(), headers=headers, timeout=30)

    def builds(self):
        return self.d.ok("builds", "shop/" + self.name)

    def deliveries(self):
        return self.d.ok("component", "deliveries", "shop/" + self.name)

    def wait_build(self, build_id, timeout=120):
        deadline = time.time() + timeout
        while True:
            b = self.d.ok("build", "show", build_id)
            if b["status"] not in ("queued", "running"):
                return b
            assert time.time() < deadline
            time.sleep(0.2)


def test_signed_push_builds_the_pushed_commit_once(env):
    h = Hooked(env, "--auto-build")
    sha = h.repo.commit({"hello.txt": "2\n"})
    delivery = str(uuid.uuid4())
    r = h.github("push", h.github_payload(sha, before=h.sha), delivery=delivery)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["queued"] is True and body["build"]
    b = h.wait_build(body["build"])
    assert b["status"] == "succeeded", b
    assert b["commit"] == sha
    assert b["trigger"] == "webhook" and delivery[:8] in b["triggered_by"]
    # The same delivery again (GitHub's "redeliver"): nothing more is queued.
    again = h.github("push", h.github_payload(sha, before=h.sha), delivery=delivery)
    assert again.status_code == 200, again.text
    assert again.json()["queued"] is False and again.json()["duplicate"] is True
    assert "already received" in again.json()["reason"]
    assert again.json()["build"] == body["build"]
    assert len(h.builds()) == 1
    ds = h.deliveries()
    assert [x["status"] for x in ds] == [200, 202]
    assert ds[1]["build"] == body["build"] and ds[1]["verified"] is True
    assert ds[1]["delivery_id"] == delivery and ds[1]["event"] == "push"
    # Audited with actor "webhook".
    audit = h.d.ok("audit", "--project", "shop")
    hooks = [a for a in audit if a["action"] == "webhook.delivery" and h.name in a["object"]]
    assert len(hooks) == 2 and all(a["actor"] == "webhook" for a in hooks)


def test_wrong_or_missing_signature_is_refused_and_queues_nothing(env):
    h = Hooked(env, "--auto-build")
    sha = h.repo.commit({"hello.txt": "2\n"})
    r = h.github("push", h.github_payload(sha), secret="not-the-secret")
    assert r.status_code == 401 and "does not match" in r.json()["error"]
    r = h.github("push", h.github_payload(sha), signature=None)
    assert r.status_code == 401 and "missing X-Hub-Signature-256" in r.json()["error"]
    r = h.github("push", h.github_payload(sha), signature="sha256=" + "0" * 64)
    assert r.status_code == 401
    r = h.github("push", h.github_payload(sha), signature="sha1=abc")
    assert r.status_code == 401
    # A body changed after signing.
    body = json.dumps(h.github_payload(sha)).encode()
    sig = "sha256=" + hmac.new(h.secret.encode(), body, hashlib.sha256).hexdigest()
    r = requests.post(h.url, data=body + b" ", headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": sig}, timeout=30)
    assert r.status_code == 401
    assert h.builds() == []
    ds = h.deliveries()
    assert len(ds) == 5 and all(x["status"] == 401 and x["verified"] is False for x in ds)
    # A forged delivery does not use up the delivery id of a real one.
    delivery = str(uuid.uuid4())
    assert h.github("push", h.github_payload(sha), secret="x", delivery=delivery).status_code == 401
    r = h.github("push", h.github_payload(sha), delivery=delivery)
    assert r.status_code == 202, r.text
    h.wait_build(r.json()["build"])


def test_ping_other_branch_tag_and_deletion_queue_nothing(env):
    h = Hooked(env, "--auto-build")
    r = h.github("ping", {"zen": "Keep it logically awesome.", "hook_id": 292430182,
                          "hook": {"type": "Repository", "events": ["push"]}})
    assert r.status_code == 200 and "pong" in r.json()["reason"]
    other = h.repo.commit({"hello.txt": "feature\n"}, branch="feature")
    r = h.github("push", h.github_payload(other, ref="refs/heads/feature"))
    assert r.status_code == 200 and r.json()["queued"] is False
    assert "branch feature" in r.json()["reason"] and "builds branch main" in r.json()["reason"]
    r = h.github("push", h.github_payload(h.sha, ref="refs/tags/v1.0"))
    assert r.status_code == 200 and "tag" in r.json()["reason"]
    r = h.github("push", h.github_payload(ZERO, before=h.sha, deleted=True))
    assert r.status_code == 200 and "deleted" in r.json()["reason"]
    r = h.github("issues", {"action": "opened"})
    assert r.status_code == 200 and "not a push" in r.json()["reason"]
    assert h.builds() == []
    assert [x["status"] for x in h.deliveries()] == [200] * 5


def test_auto_build_off_records_but_queues_nothing(env):
    h = Hooked(env)
    r = h.github("push", h.github_payload(h.sha))
    assert r.status_code == 200 and "auto-build is off" in r.json()["reason"]
    assert h.builds() == []


def test_gitlab_push_hook_with_token(env):
    h = Hooked(env, "--auto-build")
    sha = h.repo.commit({"hello.txt": "gl\n"})
    payload = {
        "object_kind": "push", "event_name": "push", "before": h.sha, "after": sha,
        "ref": "refs/heads/main", "checkout_sha": sha, "user_username": "ada",
        "project": {"path_with_namespace": "acme/" + h.name, "default_branch": "main"},
        "commits": [{"id": sha, "message": "gl", "author": {"name": "Ada"}}],
        "total_commits_count": 1,
    }
    r = h.gitlab(payload, token="wrong")
    assert r.status_code == 401 and "X-Gitlab-Token" in r.json()["error"]
    r = h.gitlab(payload, token="")
    assert r.status_code == 401
    u = str(uuid.uuid4())
    r = h.gitlab(payload, uuid_=u)
    assert r.status_code == 202, r.text
    assert h.wait_build(r.json()["build"])["commit"] == sha
    # Replays are recognised by the event UUID ...
    assert h.gitlab(payload, uuid_=u).json()["duplicate"] is True
    # ... or, without one, by the body.
    r1 = h.gitlab(dict(payload, total_commits_count=2))
    r2 = h.gitlab(dict(payload, total_commits_count=2))
    assert r1.status_code == 202 and r2.status_code == 200 and r2.json()["duplicate"] is True
    h.wait_build(r1.json()["build"])
    r = h.gitlab({"object_kind": "tag_push", "ref": "refs/tags/v1", "after": sha},
                 event="Tag Push Hook")
    assert r.status_code == 200 and r.json()["queued"] is False
    assert len(h.builds()) == 2


def test_bad_requests(env):
    h = Hooked(env, "--auto-build")
    # Unknown key: 404, and nothing to record it against.
    r = requests.post(h.url[:-4] + "0000", data=b"{}", headers={"X-GitHub-Event": "push"}, timeout=30)
    assert r.status_code == 404
    # Neither GitHub nor GitLab.
    r = requests.post(h.url, data=b"{}", headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 400
    # Signed, but not a push payload.
    r = h.github("push", {"hello": "world"})
    assert r.status_code == 400 and "ref" in r.json()["error"]
    r = h.github("push", {"ref": "refs/heads/main", "after": "main"})
    assert r.status_code == 400 and "40-digit" in r.json()["error"]
    # GitHub's other content type.
    form = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D"
    r = requests.post(h.url, data=form, timeout=30, headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(h.secret.encode(), form, hashlib.sha256).hexdigest()})
    assert r.status_code == 400 and "application/json" in r.json()["error"]
    # The hook route needs no token, but other routes still do.
    assert requests.get(h.d.url + "/api/v1/builds/1", timeout=30).status_code == 401
    assert h.builds() == []


def test_poller_builds_when_the_branch_moves(env):
    h = Hooked(env, "--auto-build", "--poll-interval", "1")
    assert h.comp["poll_interval"] == 1
    # The first poll builds the head (nothing was built yet).
    deadline = time.time() + 30
    while not h.builds():
        assert time.time() < deadline
        time.sleep(0.2)
    first = h.builds()[0]
    assert first["trigger"] == "poll"
    assert h.wait_build(first["id"])["commit"] == h.sha
    sha = h.repo.commit({"hello.txt": "polled\n"})
    deadline = time.time() + 30
    while len(h.builds()) < 2:
        assert time.time() < deadline
        time.sleep(0.2)
    b = h.wait_build(h.builds()[0]["id"])
    assert b["commit"] == sha and b["trigger"] == "poll"
    time.sleep(2.5)
    assert len(h.builds()) == 2  # no change, no build


def test_poll_interval_is_checked(env):
    d = env[0]
    r = d.cli("component", "create", "shop/badpoll", "--repo", "file:///x", "--poll-interval", "-1")
    assert r.rc == 2
    r = d.cli("component", "create", "shop/badpoll", "--repo", "file:///x", "--poll-interval", "100000")
    assert r.rc == 1 and "poll interval" in r.err
