"""Scheduled and manual tasks through the real CLI against a real ferryd
(buildah, registry, podman with runc, ferry-init): a manual run's arguments,
configuration, exit code and output; a `* * * * *` schedule firing within
65 s of the deployment; `forbid` skipping an overlapping run; a timeout
killing a sleeping task; kill -9 of ferryd during an execution, which the
next ferryd re-attaches and finishes.

Everything started is removed by id at the end (cleanup() of test_rollout)."""

import os
import time

import pytest

from ferry import ROOT, Ferryd, binary, free_port
from gitserve import Repo
from test_rollout import cleanup

TASK = os.path.join(ROOT, "examples", "task")


def task_files():
    files = {}
    for n in os.listdir(TASK):
        with open(os.path.join(TASK, n)) as f:
            files[n] = f.read()
    return files


def wait_execution(d, xid, timeout=120, final=True):
    deadline = time.time() + timeout
    while time.time() < deadline:
        x = d.ok("execution", "show", xid)
        if not final or x["status"] not in ("pending", "running"):
            return x
        time.sleep(0.3)
    raise AssertionError("execution %s did not end: %r" % (xid, x))


def wait_status(d, xid, status, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        x = d.ok("execution", "show", xid)
        if x["status"] == status:
            return x
        time.sleep(0.2)
    raise AssertionError("execution %s never became %s: %r" % (xid, status, x))


def log_text(d, xid):
    r = d.cli("logs", "execution", xid)
    assert r.rc == 0, r
    return r.out


def deploy(d, name, *create_args, config=()):
    d.ok("component", "create", "demo/" + name, "--repo", d.repo.file_url, *create_args)
    for kv in config:
        d.ok("config", "set", "demo/" + name, kv)
    r = d.cli("build", "demo/" + name, "--wait", "--json", timeout=600)
    assert r.rc == 0, (r, d.cli("logs", "build", r.json["id"]).out if r.out else "")
    r = d.cli("deploy", "demo/" + name, "--wait", timeout=300)
    assert r.rc == 0, r
    return time.time()


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasks")
    data = str(root / "data")
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw,
                            "--init-binary", binary("ferry-init")])
    f.start()
    try:
        f.ok("project", "create", "demo", "--environments", "dev,prod")
        repo = Repo(str(root), name="task")
        repo.commit(task_files(), message="task")
        os.chmod(os.path.join(repo.work, "task.sh"), 0o755)
        repo.commit({}, message="executable task")
        f.repo = repo
        yield f
    finally:
        f.stop()
        cleanup(data)


@pytest.fixture(scope="module")
def manual(d):
    deploy(d, "once", "--type", "manual-task", config=["MESSAGE=from-config"])
    return "demo/once"


@pytest.fixture(scope="module")
def scheduled(d):
    """Every minute, each run sleeping 80 s: the second slot overlaps the first."""
    t = deploy(d, "tick", "--type", "scheduled-task", "--schedule", "* * * * *",
               config=["SLEEP=80", "MESSAGE=tick"])
    return "demo/tick", t


def test_manual_run_fails_with_its_exit_code_and_keeps_its_output(d, manual):
    r = d.cli("run", manual, "--env", "dev", "--wait", "--", "exit", "3", "two words")
    assert r.rc != 0, r
    assert "exit code 3" in r.err, r
    assert "task args: exit 3 two words" in r.out, r
    xs = d.ok("executions", manual, "--env", "dev")
    x = xs["executions"][0]
    assert x["status"] == "failed" and x["exit_code"] == 3, x
    assert x["trigger"] == "manual" and x["triggered_by"] == "admin", x
    assert x["args"] == ["exit", "3", "two words"]
    dep = d.ok("deployments", manual, "--env", "dev")[0]
    assert x["deployment"] == dep["id"] and x["commit"] == dep["commit"], (x, dep)
    assert x["started_at"] and x["finished_at"]
    assert xs["last_30_days"] >= 1
    out = log_text(d, x["id"])
    assert "task args: exit 3 two words" in out
    assert "MESSAGE=from-config execution=%d" % x["id"] in out
    # the log as JSON lines, and a successful run for contrast
    ok = d.cli("run", manual, "--env", "dev", "--wait", "--json", "--", "exit", "0")
    assert ok.rc == 0, ok
    assert ok.json["status"] == "succeeded" and ok.json["exit_code"] == 0


def test_run_refusals(d, manual):
    r = d.cli("run", manual, "--env", "prod", "--json")
    assert r.rc != 0 and "no active deployment" in r.err_json["error"], r
    r = d.cli("run", manual, "--json")
    assert r.rc == 2, r
    r = d.cli("component", "create", "demo/bad", "--repo", d.repo.file_url, "--type",
              "scheduled-task", "--schedule", "61 * * * *", "--json")
    assert r.rc != 0 and "out of range" in r.err_json["error"], r
    r = d.cli("component", "create", "demo/bad", "--repo", d.repo.file_url, "--type",
              "manual-task", "--concurrency", "sometimes", "--json")
    assert r.rc != 0 and "forbid" in r.err_json["error"], r


def test_timeout_kills_a_sleeping_task(d):
    deploy(d, "slow", "--type", "manual-task", "--timeout", "3")
    t0 = time.time()
    r = d.cli("run", "demo/slow", "--env", "dev", "--wait", "--json", "--", "sleep", "120", timeout=180)
    assert r.rc != 0, r
    x = d.ok("executions", "demo/slow")["executions"][0]
    assert x["status"] == "timed-out", x
    assert "timeout of 3 s" in x["reason"], x
    assert time.time() - t0 < 60
    assert "slept" not in log_text(d, x["id"])


def test_cancel_stops_a_running_task(d, manual):
    x = d.ok("run", manual, "--env", "dev", "--", "sleep", "120")
    wait_status(d, x["id"], "running")
    running = d.ok("executions", manual, "--running")["executions"]
    assert [y["id"] for y in running] == [x["id"]]
    c = d.ok("execution", "cancel", x["id"], "--wait", timeout=60)
    assert c["status"] == "cancelled" and "cancelled by admin" in c["reason"], c
    r = d.cli("execution", "cancel", x["id"], "--json")
    assert r.rc != 0 and r.err_json["status"] == 409, r


def test_schedule_fires_within_65_s_and_forbid_skips_the_overlap(d, scheduled):
    pc, deployed = scheduled
    comp = d.ok("component", "show", pc)
    assert len(comp["next_runs"]) == 5 and comp["concurrency"] == "forbid"
    first = None
    while time.time() - deployed < 65:
        xs = d.ok("executions", pc)["executions"]
        if xs:
            first = xs[-1]
            break
        time.sleep(0.5)
    assert first, "no scheduled execution within 65 s of the deployment"
    assert first["trigger"] == "schedule" and first["triggered_by"] == "schedule", first
    assert first["scheduled_for"].endswith(":00Z")
    # the next minute's run overlaps the first (it sleeps 80 s): skipped
    deadline = time.time() + 75
    skipped = None
    while time.time() < deadline and not skipped:
        for x in d.ok("executions", pc)["executions"]:
            if x["status"] == "skipped":
                skipped = x
        time.sleep(1)
    assert skipped, d.ok("executions", pc)
    assert "execution %d was still running" % first["id"] in skipped["reason"], skipped
    assert d.ok("execution", "show", first["id"])["status"] in ("running", "succeeded")
    # skipped runs are history, not runs: the 30-day count leaves them out
    xs = d.ok("executions", pc)
    assert xs["last_30_days"] == len([x for x in xs["executions"] if x["status"] != "skipped"])
    d.ok("undeploy", pc, "--env", "dev")


def test_kill_9_during_an_execution_then_restart_finishes_it(d, manual):
    x = d.ok("run", manual, "--env", "dev", "--", "sleep", "12")
    wait_status(d, x["id"], "running")
    time.sleep(2)
    d.kill()
    time.sleep(3)
    d.start()
    x = wait_execution(d, x["id"], timeout=90)
    assert x["status"] == "succeeded" and x["exit_code"] == 0, x
    out = log_text(d, x["id"])
    assert "task args: sleep 12" in out and "slept 12" in out, out
