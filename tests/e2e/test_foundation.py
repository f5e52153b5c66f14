"""The foundation, end to end: the real ferry CLI against a real ferryd."""

import json
import os
import stat
import time

import pytest
import requests

from ferry import Ferryd


# ---- server basics -------------------------------------------------------

def test_healthz_needs_no_token(ferryd):
    r = ferryd.api("GET", "/healthz", token=None)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_admin_token_file_is_private(ferryd):
    st = os.stat(os.path.join(ferryd.data, "admin.token"))
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert ferryd.token.startswith("fry_") and len(ferryd.token) == 68


@pytest.mark.parametrize("token,why", [
    (None, "needs an API token"),
    ("fry_" + "0" * 64, "not known"),
    ("garbage", "malformed"),
])
def test_api_refuses_missing_and_wrong_tokens(ferryd, token, why):
    r = ferryd.api("GET", "/api/v1/projects", token=token)
    assert r.status_code == 401
    assert why in r.json()["error"]
    assert r.json()["code"] == "unauthorized"


def test_unknown_path_and_method(ferryd):
    assert ferryd.api("GET", "/api/v1/nope").status_code == 404
    r = ferryd.api("PUT", "/api/v1/projects")
    assert r.status_code == 405
    assert "not allowed" in r.json()["error"]


def test_sigterm_stops_cleanly(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    assert d.stop() == 0
    assert "event=stopped" in d.log()


# ---- projects and environments --------------------------------------------

def test_project_default_environments(ferryd):
    p = ferryd.ok("project", "create", "shop")
    assert [e["name"] for e in p["environments"]] == ["development", "production"]
    assert [e["production"] for e in p["environments"]] == [False, True]
    envs = ferryd.ok("env", "list", "shop")
    assert [e["name"] for e in envs] == ["development", "production"]
    assert [p["name"] for p in ferryd.ok("project", "list")] == ["shop"]
    assert ferryd.ok("project", "show", "shop")["name"] == "shop"


def test_project_custom_line_and_insert(ferryd):
    ferryd.ok("project", "create", "bank", "--environments", "dev,qa,prod")
    envs = ferryd.ok("env", "add", "bank", "staging", "--after", "qa")
    assert [e["name"] for e in envs] == ["dev", "qa", "staging", "prod"]
    assert [e["production"] for e in envs] == [False, False, False, True]
    assert [e["rank"] for e in envs] == [0, 1, 2, 3]
    r = ferryd.cli("env", "add", "bank", "after-prod", "--after", "prod")
    assert r.rc != 0 and "production environment" in r.err
    r = ferryd.cli("env", "add", "bank", "x", "--after", "nowhere")
    assert r.rc != 0 and "nowhere" in r.err and "not found" in r.err
    r = ferryd.cli("env", "add", "bank", "qa", "--after", "dev")
    assert r.rc != 0 and "already exists" in r.err
    assert [e["name"] for e in ferryd.ok("env", "list", "bank")] == ["dev", "qa", "staging", "prod"]


@pytest.mark.parametrize("name,why", [
    ("Shop", "uppercase"),
    ("my_shop", "'_'"),
    ("-shop", "starts or ends with '-'"),
    ("shop-", "starts or ends with '-'"),
    ("a" * 64, "at most 63"),
    ("caf\u00e9", "non-ASCII"),
])
def test_invalid_names_are_refused_with_the_reason(ferryd, name, why):
    r = ferryd.cli("project", "create", name)
    assert r.rc == 1
    assert why in r.err
    r = ferryd.cli("project", "create", "ok", "--environments", "dev," + name)
    assert r.rc == 1 and why in r.err
    assert ferryd.ok("project", "list") == []


def test_duplicates_and_unknowns(ferryd):
    ferryd.ok("project", "create", "shop")
    r = ferryd.cli("project", "create", "shop", "--json")
    assert r.rc == 1
    assert r.err_json["code"] == "conflict" and "already exists" in r.err_json["error"]
    r = ferryd.cli("project", "show", "ghost")
    assert r.rc == 1 and 'project "ghost" not found' in r.err
    r = ferryd.cli("project", "create", "x", "--environments", "dev,dev")
    assert r.rc == 1 and "twice" in r.err
    assert [p["name"] for p in ferryd.ok("project", "list")] == ["shop"]


# ---- components ----------------------------------------------------------

def test_component_lifecycle_with_every_flag(ferryd):
    ferryd.ok("project", "create", "shop")
    c = ferryd.ok("component", "create", "shop/api", "--repo", "https://git.example/shop.git",
                  "--branch", "release/1", "--path", "services/api", "--type", "service",
                  "--dockerfile", "build/Dockerfile", "--auto-build", "--auto-deploy")
    assert c["project"] == "shop" and c["name"] == "api" and c["type"] == "service"
    assert c["repo"] == "https://git.example/shop.git"
    assert c["branch"] == "release/1" and c["path"] == "services/api"
    assert c["dockerfile"] == "build/Dockerfile"
    assert c["auto_build"] is True and c["auto_deploy"] is True
    assert c["webhook_url"].startswith(ferryd.url + "/api/v1/hooks/")
    assert len(c["webhook_secret"]) == 64
    shown = ferryd.ok("component", "show", "shop/api")
    assert "webhook_secret" not in shown
    assert shown["webhook_url"] == c["webhook_url"]
    listed = ferryd.ok("component", "list", "shop")
    assert [x["name"] for x in listed] == ["api"] and "webhook_secret" not in listed[0]

    web = ferryd.ok("component", "create", "shop/site", "--repo", "file:///srv/site",
                    "--type", "web-app", "--buildpack", "static")
    assert web["buildpack"] == "static" and web["dockerfile"] is None and web["branch"] == "main"
    job = ferryd.ok("component", "create", "shop/nightly", "--repo", "git://h/x",
                    "--type", "scheduled-task", "--schedule", "0 3 * * *", "--timezone", "Europe/Berlin")
    assert job["schedule"] == "0 3 * * *" and job["timezone"] == "Europe/Berlin"
    runs = ferryd.ok("component", "show", "shop/nightly")["next_runs"]
    assert len(runs) == 5 and runs == sorted(runs)
    # 03:00 in Berlin is 01:00 or 02:00 UTC, depending on daylight saving time
    assert all(r.endswith(("T01:00:00Z", "T02:00:00Z")) for r in runs), runs
    assert "next runs:" in ferryd.cli("component", "show", "shop/nightly").out
    ferryd.ok("component", "create", "shop/manual", "--repo", "ssh://git@h/x.git", "--type", "manual-task")
    ferryd.ok("component", "create", "shop/plain", "--repo", "http://h/x.git")

    assert ferryd.ok("component", "delete", "shop/api")["deleted"] is True
    assert ferryd.cli("component", "show", "shop/api").rc == 1
    assert sorted(x["name"] for x in ferryd.ok("component", "list", "shop")) == \
        ["manual", "nightly", "plain", "site"]


@pytest.mark.parametrize("args,why", [
    (["--repo", "ftp://h/x"], "unsupported scheme"),
    (["--repo", "https://"], "no host"),
    (["--repo", "https://h/x", "--type", "lambda"], "not one of service"),
    (["--repo", "https://h/x", "--type", "scheduled-task"], "needs a schedule"),
    (["--repo", "https://h/x", "--schedule", "* * * * *"], "only scheduled-task"),
    (["--repo", "https://h/x", "--path", "../up"], "must not contain"),
    (["--repo", "https://h/x", "--path", "/abs"], "relative"),
    (["--repo", "https://h/x", "--branch", "bad..name"], "not a valid git branch"),
    (["--repo", "https://h/x", "--dockerfile", "D", "--buildpack", "static"], "not both"),
    (["--repo", "https://h/x", "--buildpack", "rails"], "not known"),
    (["--repo", "https://h/x", "--type", "scheduled-task", "--schedule", "0 24 * * *"],
     "hour"),
    (["--repo", "https://h/x", "--type", "scheduled-task", "--schedule", "0 0 31 2 *"],
     "never runs"),
    (["--repo", "https://h/x", "--type", "scheduled-task", "--schedule", "@daily",
      "--timezone", "Mars/Olympus"], "Mars/Olympus"),
])
def test_component_validation(ferryd, args, why):
    ferryd.ok("project", "create", "shop")
    r = ferryd.cli("component", "create", "shop/bad", *args)
    assert r.rc == 1, r
    assert why in r.err, r
    assert ferryd.ok("component", "list", "shop") == []


def test_component_duplicate_and_unknown_project(ferryd):
    ferryd.ok("project", "create", "shop")
    ferryd.ok("component", "create", "shop/api", "--repo", "https://h/x")
    r = ferryd.cli("component", "create", "shop/api", "--repo", "https://h/y")
    assert r.rc == 1 and "already exists" in r.err
    r = ferryd.cli("component", "create", "ghost/api", "--repo", "https://h/y")
    assert r.rc == 1 and 'project "ghost" not found' in r.err
    assert ferryd.ok("component", "show", "shop/api")["repo"] == "https://h/x"


# ---- bad requests: clear 4xx, nothing changed ----------------------------

def test_bad_bodies(ferryd):
    api = ferryd.api
    r = api("POST", "/api/v1/projects", data="{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = api("POST", "/api/v1/projects", data="[1,2]")
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
    r = api("POST", "/api/v1/projects", json={"name": 7})
    assert r.status_code == 400 and '"name" must be a string' in r.json()["error"]
    r = api("POST", "/api/v1/projects", json={})
    assert r.status_code == 400 and '"name" is required' in r.json()["error"]
    r = api("POST", "/api/v1/projects", json={"name": "a", "envs": ["x"]})
    assert r.status_code == 400 and 'unknown field "envs"' in r.json()["error"]
    r = api("POST", "/api/v1/projects", json={"name": "a", "environments": "dev"})
    assert r.status_code == 400 and "array" in r.json()["error"]
    r = api("POST", "/api/v1/projects", json={"name": "a", "environments": []})
    assert r.status_code == 400 and "at least one" in r.json()["error"]
    big = json.dumps({"name": "big", "pad": "x" * (2 << 20)})
    r = api("POST", "/api/v1/projects", data=big)
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert api("GET", "/api/v1/projects").json() == []


def test_body_limit_applies_to_chunked_uploads(ferryd):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536
    r = ferryd.api("POST", "/api/v1/projects", data=chunks())
    assert r.status_code == 413
    assert ferryd.api("GET", "/api/v1/projects").json() == []


# ---- roles and scope -----------------------------------------------------

def make_token(ferryd, role, project=None, name=None):
    args = ["token", "create", "--role", role]
    if project:
        args += ["--project", project]
    if name:
        args += ["--name", name]
    t = ferryd.ok(*args)
    assert t["role"] == role and t["token"].startswith("fry_")
    return t


def test_viewer_reads_only(ferryd):
    ferryd.ok("project", "create", "shop")
    v = make_token(ferryd, "viewer")["token"]
    assert [p["name"] for p in ferryd.ok("project", "list", token=v)] == ["shop"]
    r = ferryd.cli("component", "create", "shop/api", "--repo", "https://h/x", token=v)
    assert r.rc == 1 and "viewer role" in r.err
    r = ferryd.cli("project", "create", "other", token=v)
    assert r.rc == 1 and "admin token" in r.err
    assert ferryd.ok("component", "list", "shop") == []


def test_developer_cannot_create_projects_or_environments(ferryd):
    ferryd.ok("project", "create", "shop")
    d = make_token(ferryd, "developer")["token"]
    r = ferryd.cli("project", "create", "other", token=d)
    assert r.rc == 1 and "admin token" in r.err
    r = ferryd.cli("env", "add", "shop", "qa", "--after", "development", token=d)
    assert r.rc == 1 and "admin token" in r.err
    ferryd.ok("component", "create", "shop/api", "--repo", "https://h/x", token=d)
    r = ferryd.cli("token", "create", "--role", "admin", token=d)
    assert r.rc == 1 and "admin token" in r.err
    r = ferryd.cli("audit", token=d)
    assert r.rc == 1 and "admin token" in r.err
    assert [p["name"] for p in ferryd.ok("project", "list")] == ["shop"]


def test_project_scope_hides_other_projects(ferryd):
    ferryd.ok("project", "create", "shop")
    ferryd.ok("project", "create", "bank")
    ferryd.ok("component", "create", "bank/ledger", "--repo", "https://h/x")
    s = make_token(ferryd, "developer", project="shop")["token"]
    assert [p["name"] for p in ferryd.ok("project", "list", token=s)] == ["shop"]
    for args in (["project", "show", "bank"], ["component", "list", "bank"],
                 ["component", "show", "bank/ledger"], ["env", "list", "bank"],
                 ["component", "create", "bank/x", "--repo", "https://h/x"],
                 ["component", "delete", "bank/ledger"]):
        r = ferryd.cli(*args, "--json", token=s)
        assert r.rc == 1, args
        assert r.err_json["status"] == 404, (args, r)
        assert r.err_json["error"] == 'project "bank" not found'
    # the same answer as for a project that does not exist
    r = ferryd.cli("project", "show", "ghost", "--json", token=s)
    assert r.err_json["status"] == 404
    ferryd.ok("component", "create", "shop/api", "--repo", "https://h/x", token=s)
    assert [c["name"] for c in ferryd.ok("component", "list", "bank")] == ["ledger"]


def test_revoked_token_stops_working(ferryd):
    t = make_token(ferryd, "viewer", name="ci")
    ferryd.ok("project", "list", token=t["token"])
    tokens = ferryd.ok("token", "list")
    assert {x["name"] for x in tokens} == {"admin", "ci"}
    assert all("token" not in x and "hash" not in x for x in tokens)
    ferryd.ok("token", "revoke", t["id"])
    r = ferryd.cli("project", "list", "--json", token=t["token"])
    assert r.rc == 1 and r.err_json["status"] == 401 and "revoked" in r.err_json["error"]
    revoked = [x for x in ferryd.ok("token", "list") if x["id"] == t["id"]][0]
    assert revoked["revoked_at"] is not None
    assert ferryd.cli("token", "revoke", "999").rc == 1


# ---- audit ---------------------------------------------------------------

def test_audit_records_changes_without_secrets(ferryd):
    ferryd.ok("project", "create", "shop")
    c = ferryd.ok("component", "create", "shop/api", "--repo", "https://h/x")
    t = make_token(ferryd, "developer", name="dev1")
    ferryd.cli("component", "create", "shop/bad", "--repo", "ftp://x", token=t["token"])
    entries = ferryd.ok("audit")
    actions = [(e["actor"], e["action"], e["status"]) for e in entries]
    assert ("admin", "project.create", 201) in actions
    assert ("admin", "component.create", 201) in actions
    assert ("admin", "token.create", 201) in actions
    assert ("dev1", "component.create", 400) in actions
    failed = [e for e in entries if e["status"] == 400][0]
    assert "unsupported scheme" in failed["result"] and failed["role"] == "developer"
    blob = json.dumps(entries)
    assert t["token"] not in blob and c["webhook_secret"] not in blob
    shop = ferryd.ok("audit", "--project", "shop")
    assert shop and all(e["project"] == "shop" for e in shop)
    assert entries == sorted(entries, key=lambda e: -e["id"])


# ---- CLI conventions -----------------------------------------------------

def test_cli_errors_and_usage(ferryd):
    r = ferryd.cli("frobnicate")
    assert r.rc == 2 and "unknown command" in r.err
    r = ferryd.cli("project", "create")
    assert r.rc == 2 and "usage: ferry project create" in r.err
    r = ferryd.cli("project", "list", "--bogus")
    assert r.rc == 2 and "unknown option --bogus" in r.err
    r = ferryd.cli("project", "list", "--json", token=None, env={"HOME": "/nonexistent"})
    assert r.rc == 1 and "no API token" in r.err_json["error"]
    r = ferryd.cli("project", "list", "--json", env={"FERRY_SERVER": "http://127.0.0.1:1"})
    assert r.rc == 1 and "cannot reach ferryd" in r.err_json["error"]


def test_global_options_before_the_command(ferryd):
    ferryd.ok("project", "create", "shop")
    r = ferryd.cli("--server", ferryd.url, "--token", ferryd.token, "--json", "project", "list",
                   token=None, env={"FERRY_SERVER": "http://127.0.0.1:1"})
    assert r.rc == 0, r
    assert [p["name"] for p in r.json] == ["shop"]


def test_cli_tables_for_people(ferryd):
    ferryd.ok("project", "create", "shop")
    r = ferryd.cli("env", "list", "shop")
    assert r.rc == 0
    lines = r.out.splitlines()
    assert lines[0].split() == ["RANK", "ENVIRONMENT", "PRODUCTION", "CREATED"]
    assert lines[1].split()[:3] == ["0", "development", "no"]
    assert lines[2].split()[:3] == ["1", "production", "yes"]


def test_login_saves_server_and_token(ferryd, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    tf = tmp_path / "tok"
    tf.write_text(ferryd.token + "\n")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": ""}
    r = ferryd.cli("login", "--server", ferryd.url, "--token-file", str(tf), token=None, env=env)
    assert r.rc == 0, r
    saved = home / ".config" / "ferry" / "config.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    # no flags, no environment: the saved login is used
    e = dict(env, FERRY_SERVER="")
    import subprocess
    from ferry import binary
    full = dict(os.environ)
    full.pop("FERRY_TOKEN", None)
    full.pop("FERRY_SERVER", None)
    full.update({"HOME": str(home)})
    full.pop("XDG_CONFIG_HOME", None)
    p = subprocess.run([binary("ferry"), "whoami", "--json"], env=full, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["role"] == "admin"
    bad = tmp_path / "bad"
    bad.write_text("fry_" + "1" * 64)
    r = ferryd.cli("login", "--server", ferryd.url, "--token-file", str(bad), token=None, env=e)
    assert r.rc == 1 and "not known" in r.err


# ---- durability ----------------------------------------------------------

def test_everything_survives_kill_9(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    d.ok("project", "create", "shop", "--environments", "dev,stage,prod")
    d.ok("component", "create", "shop/api", "--repo", "https://h/x", "--auto-build")
    v = make_token(d, "viewer")
    before = (d.ok("project", "list"), d.ok("env", "list", "shop"),
              d.ok("component", "show", "shop/api"), d.ok("token", "list"))
    d.kill()
    d.start()
    after = (d.ok("project", "list"), d.ok("env", "list", "shop"),
             d.ok("component", "show", "shop/api"), d.ok("token", "list"))
    assert before == after
    d.ok("project", "list", token=v["token"])
    assert len(d.ok("audit")) >= 3
    d.stop()


# ---- the job queue -------------------------------------------------------

def wait_job(d, jid, statuses, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = d.api("GET", "/api/v1/jobs/%d" % jid).json()
        if j["status"] in statuses:
            return j
        time.sleep(0.05)
    raise AssertionError("job %d still %s" % (jid, j["status"]))


def test_job_runs_logs_and_follows(ferryd):
    r = ferryd.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 1})
    assert r.status_code == 202
    jid = r.json()["id"]
    lines = []
    with ferryd.api("GET", "/api/v1/jobs/%d/log?follow=1" % jid, stream=True) as s:
        for line in s.iter_lines():
            lines.append(json.loads(line))
    assert lines[0]["text"] == "sleeping 1 s"
    assert lines[-2]["text"] == "done"
    assert lines[-1]["status"] == "succeeded"
    j = wait_job(ferryd, jid, ["succeeded"])
    assert j["attempts"] == 1 and j["finished_at"]
    full = ferryd.api("GET", "/api/v1/jobs/%d/log" % jid).json()
    assert [x["text"] for x in full] == [x["text"] for x in lines[:-1]]


def test_job_failure_and_cancel(ferryd):
    jid = ferryd.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 0, "fail": True}).json()["id"]
    j = wait_job(ferryd, jid, ["failed"])
    assert "failed on request" in j["reason"]
    jid = ferryd.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 60}).json()["id"]
    wait_job(ferryd, jid, ["running"])
    assert ferryd.api("POST", "/api/v1/jobs/%d/cancel" % jid).status_code == 202
    j = wait_job(ferryd, jid, ["cancelled"], timeout=5)
    assert j["reason"] == "cancelled on request"
    r = ferryd.api("POST", "/api/v1/jobs/%d/cancel" % jid)
    assert r.status_code == 409 and "already ended" in r.json()["error"]


def test_job_kind_concurrency_limit(ferryd):
    ids = [ferryd.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 2}).json()["id"]
           for _ in range(3)]
    time.sleep(0.8)
    states = [ferryd.api("GET", "/api/v1/jobs/%d" % i).json()["status"] for i in ids]
    assert states == ["running", "running", "queued"]  # the sleep kind's limit is 2
    ferryd.api("POST", "/api/v1/jobs/%d/cancel" % ids[2])
    assert wait_job(ferryd, ids[2], ["cancelled"])["reason"] == "cancelled before it started"
    for i in ids[:2]:
        ferryd.api("POST", "/api/v1/jobs/%d/cancel" % i)


def test_running_job_after_kill_9_is_requeued_with_reason(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    jid = d.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 2}).json()["id"]
    wait_job(d, jid, ["running"])
    d.kill()
    d.start()
    j = wait_job(d, jid, ["succeeded"], timeout=30)
    assert j["attempts"] == 2
    assert "ferryd stopped while the job ran" in j["reason"] and "re-queued" in j["reason"]
    log = [x["text"] for x in d.api("GET", "/api/v1/jobs/%d/log" % jid).json()]
    assert log.count("sleeping 2 s") == 2
    d.stop()


def test_job_not_safe_to_repeat_is_marked_interrupted(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    jid = d.api("POST", "/api/v1/jobs", json={"kind": "sleep-once", "seconds": 30}).json()["id"]
    wait_job(d, jid, ["running"])
    d.kill()
    d.start()
    j = d.api("GET", "/api/v1/jobs/%d" % jid).json()
    assert j["status"] == "interrupted"
    assert "ferryd stopped while the job ran" in j["reason"] and j["finished_at"]
    d.stop()


def test_graceful_stop_requeues_running_jobs(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    jid = d.api("POST", "/api/v1/jobs", json={"kind": "sleep", "seconds": 30}).json()["id"]
    wait_job(d, jid, ["running"])
    t0 = time.time()
    assert d.stop() == 0
    assert time.time() - t0 < 5
    d.start()
    j = wait_job(d, jid, ["running", "queued"])
    assert "re-queued" in j["reason"]
    d.api("POST", "/api/v1/jobs/%d/cancel" % jid)
    wait_job(d, jid, ["cancelled"])
    d.stop()


def test_only_diagnostic_jobs_can_be_queued_directly(ferryd):
    r = ferryd.api("POST", "/api/v1/jobs", json={"kind": "build"})
    assert r.status_code == 400 and "cannot be queued directly" in r.json()["error"]
    v = make_token(ferryd, "viewer")["token"]
    r = ferryd.api("POST", "/api/v1/jobs", json={"kind": "sleep"}, token=v)
    assert r.status_code == 403
