"""The cap on queued jobs per project and kind (ferryd --max-queued-jobs,
docs/jobs.md): a ferryd with one worker, kept busy by a diagnostic sleep
job, so builds stay queued; with a cap of 2 the third build of a project is
refused through the CLI with the message naming the project, the kind and
the cap, the API answers 429 with Retry-After, a signed webhook push is
refused the same way and its delivery records why, and another project, or
a place freed by a cancel, is not held back; the branch poller, refused,
keeps the commit and queues it at the first poll that finds room."""

import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

from ferry import Ferryd
from gitserve import Repo

CAP_MESSAGE = ("project shop has 2 queued build jobs already (the cap per project and kind; "
               "ferryd --max-queued-jobs 2)")


def wait_job(d, jid, status, timeout=30):
    deadline = time.time() + timeout
    while True:
        j = d.api("GET", "/api/v1/jobs/%d" % jid).json()
        if j["status"] == status:
            return j
        assert time.time() < deadline, j
        time.sleep(0.05)


def signed_push(url, secret, branch, sha):
    body = json.dumps({"ref": "refs/heads/" + branch, "before": "0" * 40, "after": sha,
                       "deleted": False, "commits": [{"id": sha}],
                       "head_commit": {"id": sha}}).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }
    return requests.post(url, data=body, headers=headers, timeout=30)


@pytest.fixture
def busy(tmp_path):
    """A ferryd with --workers 1 --max-queued-jobs 2 whose only worker runs
    a long sleep job, projects shop and blog with a component each."""
    d = Ferryd(str(tmp_path / "data"), extra=["--workers", "1", "--max-queued-jobs", "2"]).start()
    try:
        sleeper = d.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 600}).json()["id"]
        wait_job(d, sleeper, "running")
        repo = Repo(str(tmp_path / "git"), name="web")
        sha = repo.commit({"Dockerfile": "FROM ferry/busybox\n"})
        for p in ("shop", "blog"):
            d.ok("project", "create", p)
        comp = d.ok("component", "create", "shop/web", "--repo", repo.file_url, "--auto-build")
        d.ok("component", "create", "blog/web", "--repo", repo.file_url)
        yield d, comp, repo, sha, sleeper
    finally:
        d.stop()
    assert d.proc.returncode == 0, d.log()[-4000:]


def test_the_build_over_the_cap_is_refused_through_the_cli(busy):
    d, comp, repo, sha, sleeper = busy
    first = d.ok("build", "shop/web")
    second = d.ok("build", "shop/web")
    assert first["status"] == second["status"] == "queued"

    # the third: refused, the message where the user acted
    r = d.cli("build", "shop/web")
    assert r.rc == 1, r
    assert CAP_MESSAGE in r.err, r
    r = d.cli("build", "shop/web", "--json")
    assert r.rc == 1, r
    assert CAP_MESSAGE in r.err_json["error"], r
    # nothing was recorded for the refused ones
    assert [b["id"] for b in d.ok("builds", "shop/web")] == sorted([first["id"], second["id"]],
                                                                   reverse=True)

    # the API: 429 with Retry-After
    a = d.api("POST", "/api/v1/projects/shop/components/web/builds", json={})
    assert a.status_code == 429, a.text
    assert a.headers.get("Retry-After") == "10"
    assert a.json()["code"] == "too_many_queued"
    assert CAP_MESSAGE in a.json()["error"]

    # another project is not held back by shop's queue
    assert d.ok("build", "blog/web")["status"] == "queued"

    # a place freed (a queued build cancelled) can be taken again, once
    d.ok("build", "cancel", first["id"])
    assert d.ok("build", "shop/web")["status"] == "queued"
    r = d.cli("build", "shop/web")
    assert r.rc == 1 and CAP_MESSAGE in r.err, r

    # a signed push over the cap: 429 to the git host, the delivery says why
    h = signed_push(comp["webhook_url"], comp["webhook_secret"], "main", sha)
    assert h.status_code == 429, h.text
    assert h.headers.get("Retry-After") == "10"
    assert CAP_MESSAGE in h.json()["error"]
    deliveries = d.ok("component", "deliveries", "shop/web")
    assert any(CAP_MESSAGE in (x.get("result") or "") and x.get("status") == 429
               for x in deliveries), deliveries

    # the sleeper still holds the worker: the builds are still queued
    assert d.api("GET", "/api/v1/jobs/%d" % sleeper).json()["status"] == "running"


def test_a_poll_over_the_cap_is_kept_for_the_next_poll(busy, tmp_path):
    d, comp, repo, sha, sleeper = busy
    queued = [d.ok("build", "shop/web")["id"] for _ in range(2)]
    polled = Repo(str(tmp_path / "git"), name="polled")
    head = polled.commit({"Dockerfile": "FROM ferry/busybox\n"})
    d.ok("component", "create", "shop/polled", "--repo", polled.file_url, "--auto-build",
         "--poll-interval", "1")
    # the poller sees the head, and is refused: nothing queued, the reason logged
    deadline = time.time() + 30
    while "event=poll_queue_failed" not in d.log():
        assert time.time() < deadline, d.log()[-3000:]
        time.sleep(0.2)
    assert CAP_MESSAGE in d.log()
    time.sleep(2.5)  # more polls, still no room
    assert d.ok("builds", "shop/polled") == []
    # room again: the next poll queues the commit it could not queue before
    d.ok("build", "cancel", queued[0])
    deadline = time.time() + 30
    while not d.ok("builds", "shop/polled"):
        assert time.time() < deadline, d.log()[-3000:]
        time.sleep(0.2)
    b = d.ok("builds", "shop/polled")
    assert len(b) == 1 and b[0]["trigger"] == "poll" and b[0]["status"] == "queued", b
    assert b[0]["requested"] == head, b
