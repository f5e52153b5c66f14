"""History retention: with small --history-keep, --keep-deployments and
--audit-keep, a housekeeping pass deletes the oldest builds, deployments,
executions and audit entries, keeps everything still needed (the active
deployment, the rollback target, their builds), and `ferry admin df` says
what is past retention. The real CLI against a real ferryd, buildah,
registry, podman and HAProxy."""

import os

import pytest

from gitserve import Repo
from hello_app import start_hello, stop_hello
from openapi_check import Description
from test_deploy import wait_answer

JOB = 'FROM ferry/busybox\nUSER 65534\nCMD ["echo", "history"]\n'


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    data = str(root / "data")
    try:
        f = start_hello(root, ["--history-keep", "2", "--keep-deployments", "2", "--keep-builds", "1",
                               "--audit-keep", "10", "--housekeeping-interval", "3600"], builds=4)
        job = Repo(str(root), name="job")
        job.commit({"Dockerfile": JOB}, message="job")
        f.ok("component", "create", "demo/job", "--repo", job.file_url, "--type", "manual-task")
        assert f.cli("build", "demo/job", "--wait", timeout=300).rc == 0
        assert f.cli("deploy", "demo/job", "--wait", timeout=300).rc == 0
        for _ in range(4):
            assert f.cli("run", "demo/job", "--env", "development", "--wait", timeout=300).rc == 0
        yield f
    finally:
        stop_hello(locals().get("f"), data)


def test_df_shows_the_history_past_retention(d):
    h = d.ok("admin", "df")["history"]
    assert (h["keep"], h["audit_keep"]) == (2, 10)
    assert h["max_age_days"] == 365
    # hello: 4 deployments in development, the newest 2 kept; the job's 4 executions, 2 kept
    assert h["deployments"]["records"] == 5 and h["deployments"]["reclaimable"] == 2, h
    assert h["executions"]["records"] == 4 and h["executions"]["reclaimable"] == 2, h
    assert h["builds"]["records"] == 5, h
    assert h["audit"]["records"] > 10 and h["audit"]["reclaimable"] == h["audit"]["records"] - 10
    human = d.cli("admin", "df")
    assert human.rc == 0 and "HISTORY" in human.out and "deployments" in human.out, human


def test_prune_deletes_old_history_and_keeps_what_is_needed(d):
    before = d.ok("deployments", "demo/hello", "--env", "development")
    assert len(before) == 4
    active = [x for x in before if x["status"] == "active"]
    assert len(active) == 1
    out = d.ok("admin", "prune")
    spec = Description(d.api("GET", "/api/v1/openapi.json").json())
    h = out["history_deleted"]
    assert h["deployments"] == 2 and h["executions"] == 2, out
    # the two oldest builds were used only by the deployments that went
    assert h["builds"] == 2, out
    assert h["audit"] > 0, out
    after = d.ok("deployments", "demo/hello", "--env", "development")
    newest = sorted(x["id"] for x in before)[-2:]
    assert sorted(x["id"] for x in after) == newest
    assert [x for x in after if x["status"] == "active"][0]["id"] == active[0]["id"]
    builds = d.ok("builds", "demo/hello")
    assert sorted(b["id"] for b in builds) == sorted(b["id"] for b in d.builds)[-2:]
    assert len(d.ok("executions", "demo/job", "--env", "development")["executions"]) == 2
    # the audit keeps its newest 10, then the pass records what it removed
    # (history.prune, disk.prune, registry.prune) and the request its own
    assert len(d.ok("audit", "--limit", "500")) <= 10 + 4
    assert any(a["action"] == "history.prune" for a in d.ok("audit", "--limit", "5"))
    # what stays works: the service answers, the rollback target rolls back
    wait_answer(d, "development", "hello from development")
    r = d.cli("rollback", "demo/hello", "--env", "development", "--wait", timeout=300)
    assert r.rc == 0, r
    wait_answer(d, "development", "hello from development")
    # a second pass right after: nothing more of what the first left
    again = d.ok("admin", "prune")["history_deleted"]
    assert again["builds"] == 0 and again["executions"] == 0, again
    spec.check(d.api("GET", "/api/v1/admin/df"), "GET", "/api/v1/admin/df")
