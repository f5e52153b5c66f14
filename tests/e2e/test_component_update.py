"""`ferry component update` end to end: the real CLI against a real ferryd.
Every setting changes and shows; refused changes say why and leave the
component exactly as it was; name and type stay; roles, scopes and the
audit; a task's next runs follow its new schedule; and a signed push queues
a build only while auto-build is on (a real git daemon, GitHub-signed
deliveries with test_webhook's helpers)."""

import json
import os

import pytest

from ferry import Ferryd
from gitserve import GitDaemon, remove_local_images
from test_foundation import make_token
from test_webhook import Hooked


def show(d, pc):
    return d.ok("component", "show", pc)


@pytest.fixture
def shop(ferryd):
    ferryd.ok("project", "create", "shop")
    ferryd.ok("component", "create", "shop/api", "--repo", "https://git.example/shop.git")
    ferryd.ok("component", "create", "shop/nightly", "--repo", "https://git.example/shop.git",
              "--type", "scheduled-task", "--schedule", "0 3 * * *")
    return ferryd


# ---- every setting -------------------------------------------------------

@pytest.mark.parametrize("opts, field, value", [
    (["--repo", "ssh://git.example/other.git"], "repo", "ssh://git.example/other.git"),
    (["--branch", "release/2.x"], "branch", "release/2.x"),
    (["--path", "services/api"], "path", "services/api"),
    (["--dockerfile", "build/Dockerfile.prod"], "dockerfile", "build/Dockerfile.prod"),
    (["--buildpack", "static"], "buildpack", "static"),
    (["--auto-build"], "auto_build", True),
    (["--auto-deploy"], "auto_deploy", True),
    (["--poll-interval", "120"], "poll_interval", 120),
    (["--scan-fail-on", "medium"], "scan_policy", {"fail_on": "medium"}),
])
def test_each_service_setting_changes_and_shows(shop, opts, field, value):
    before = show(shop, "shop/api")
    assert before[field] != value
    out = shop.ok("component", "update", "shop/api", *opts)
    after = show(shop, "shop/api")
    assert after[field] == value
    assert {k: v for k, v in out.items() if k != "changed"} == after
    name = "scan_fail_on" if field == "scan_policy" else field
    assert name in out["changed"]
    # nothing else moved (a buildpack replaces the Dockerfile)
    moved = {k for k in after if after[k] != before[k]}
    assert moved == {field} | ({"dockerfile"} if field == "buildpack" else set())


def test_switches_turn_off_and_recipes_replace_each_other(shop):
    shop.ok("component", "update", "shop/api", "--auto-build", "--auto-deploy", "--buildpack", "static")
    c = shop.ok("component", "update", "shop/api", "--no-auto-build", "--no-auto-deploy",
                "--dockerfile", "Dockerfile")
    assert c["auto_build"] is False and c["auto_deploy"] is False
    assert c["dockerfile"] == "Dockerfile" and c["buildpack"] is None
    assert sorted(c["changed"]) == ["auto_build", "auto_deploy", "buildpack", "dockerfile"]
    # the same again: accepted, nothing changed
    again = shop.ok("component", "update", "shop/api", "--no-auto-build")
    assert again["changed"] == []
    r = shop.cli("component", "update", "shop/api", "--no-auto-build")
    assert r.rc == 0 and "changed: nothing" in r.out


def test_people_see_the_component_and_what_changed(shop):
    r = shop.cli("component", "update", "shop/api", "--branch", "dev", "--poll-interval", "30")
    assert r.rc == 0, r
    assert "branch" in r.out and "dev" in r.out and "webhook_url" in r.out
    assert "changed: branch, poll_interval" in r.out


def test_task_settings_and_next_runs_follow_the_schedule(shop):
    c = show(shop, "shop/nightly")
    assert c["timezone"] == "UTC" and c["timeout"] == 3600 and c["concurrency"] == "forbid"
    assert all(t.endswith("T03:00:00Z") for t in c["next_runs"])
    c = shop.ok("component", "update", "shop/nightly", "--schedule", "30 12 * * *",
                "--timezone", "Asia/Tokyo", "--timeout", "90", "--concurrency", "replace")
    assert c["schedule"] == "30 12 * * *" and c["timezone"] == "Asia/Tokyo"
    assert c["timeout"] == 90 and c["concurrency"] == "replace"
    assert len(c["next_runs"]) == 5
    assert all(t.endswith("T03:30:00Z") for t in c["next_runs"])  # 12:30 in Tokyo
    assert sorted(c["changed"]) == ["concurrency", "schedule", "timeout", "timezone"]
    c = shop.ok("component", "update", "shop/nightly", "--timezone", "UTC")
    assert all(t.endswith("T12:30:00Z") for t in c["next_runs"])
    assert show(shop, "shop/nightly")["next_runs"] == c["next_runs"]


# ---- refusals ------------------------------------------------------------

@pytest.mark.parametrize("pc, opts, why", [
    ("shop/api", ["--repo", "ftp://x/y.git", "--branch", "dev"], "unsupported scheme"),
    ("shop/api", ["--branch", "a..b"], "not a valid git branch name"),
    ("shop/api", ["--path", "../outside"], 'must not contain ".."'),
    ("shop/api", ["--dockerfile", "/etc/Dockerfile"], "must be relative"),
    ("shop/api", ["--dockerfile", "D", "--buildpack", "static"], "not both"),
    ("shop/api", ["--buildpack", "ruby"], 'buildpack "ruby" is not known'),
    ("shop/api", ["--schedule", "* * * * *"], "only scheduled-task components have a schedule"),
    ("shop/api", ["--timezone", "Europe/Berlin"], "time zone is only meaningful"),
    ("shop/api", ["--timeout", "60"], "are for task components"),
    ("shop/api", ["--concurrency", "allow", "--auto-build"], "are for task components"),
    ("shop/api", ["--poll-interval", "86401"], "poll interval"),
    ("shop/api", ["--scan-fail-on", "severe", "--branch", "dev"], 'scan fail-on level "severe"'),
    ("shop/nightly", ["--schedule", "61 * * * *", "--timeout", "5"], 'schedule "61 * * * *"'),
    ("shop/nightly", ["--timezone", "Mars/Base"], 'unknown time zone "Mars/Base"'),
    ("shop/nightly", ["--concurrency", "sometimes"], 'concurrency policy "sometimes"'),
    ("shop/nightly", ["--timeout", "604801"], "timeout must be"),
])
def test_invalid_changes_are_refused_and_change_nothing(shop, pc, opts, why):
    before = show(shop, pc)
    r = shop.cli("component", "update", pc, *opts, "--json")
    assert r.rc == 1, r
    assert why in r.err_json["error"], r
    assert show(shop, pc) == before


@pytest.mark.parametrize("opts, why", [
    ([], "nothing to change"),
    (["--auto-build", "--no-auto-build"], "not both"),
    (["--poll-interval", "soon"], "--poll-interval takes seconds"),
    (["--timeout", "0"], "--timeout takes seconds"),
    (["--type", "web-app"], "unknown option --type"),
])
def test_usage_errors_exit_2(shop, opts, why):
    before = show(shop, "shop/nightly")
    r = shop.cli("component", "update", "shop/nightly", *opts)
    assert r.rc == 2 and why in r.err, r
    assert show(shop, "shop/nightly") == before


def test_name_and_type_cannot_change(shop):
    before = show(shop, "shop/api")
    r = shop.api("PATCH", "/api/v1/projects/shop/components/api", json={"type": "web-app"})
    assert r.status_code == 400 and "type cannot change" in r.json()["error"]
    r = shop.api("PATCH", "/api/v1/projects/shop/components/api", json={"name": "web", "branch": "x"})
    assert r.status_code == 400 and "name cannot change" in r.json()["error"]
    # the current ones are no change at all
    r = shop.api("PATCH", "/api/v1/projects/shop/components/api", json={"name": "api", "type": "service"})
    assert r.status_code == 200 and r.json()["changed"] == []
    assert show(shop, "shop/api") == before


def test_api_refuses_unknown_fields_and_wrong_types(shop):
    before = show(shop, "shop/api")
    for body, why in (({"branch": "dev", "auto_biuld": True}, 'unknown field "auto_biuld"'),
                      ({"auto_build": "yes"}, '"auto_build" must be true or false'),
                      ({"poll_interval": "60"}, '"poll_interval" must be an integer'),
                      ({}, "nothing to change")):
        r = shop.api("PATCH", "/api/v1/projects/shop/components/api", json=body)
        assert r.status_code == 400 and why in r.json()["error"], (body, r.text)
    assert show(shop, "shop/api") == before


def test_unknown_component_is_404(shop):
    r = shop.cli("component", "update", "shop/ghost", "--branch", "dev", "--json")
    assert r.rc == 1 and r.err_json["status"] == 404


# ---- who may ---------------------------------------------------------------

def test_viewer_refused_developer_allowed(shop):
    before = show(shop, "shop/api")
    v = make_token(shop, "viewer")["token"]
    r = shop.cli("component", "update", "shop/api", "--branch", "dev", "--json", token=v)
    assert r.rc == 1 and r.err_json["status"] == 403 and "viewer role" in r.err_json["error"]
    assert show(shop, "shop/api") == before
    dev = make_token(shop, "developer", project="shop")["token"]
    assert shop.ok("component", "update", "shop/api", "--branch", "dev", token=dev)["branch"] == "dev"


def test_scoped_token_gets_404_for_another_project(shop):
    shop.ok("project", "create", "bank")
    shop.ok("component", "create", "bank/ledger", "--repo", "https://h/x")
    before = show(shop, "bank/ledger")
    s = make_token(shop, "developer", project="shop")["token"]
    r = shop.cli("component", "update", "bank/ledger", "--branch", "dev", "--json", token=s)
    assert r.rc == 1 and r.err_json["status"] == 404
    assert r.err_json["error"] == 'project "bank" not found'
    assert show(shop, "bank/ledger") == before


def test_repository_on_another_host_needs_its_credentials_removed_first(shop, tmp_path):
    tok = tmp_path / "token"
    tok.write_text("ghp_examplecanary\n")
    shop.ok("component", "credentials", "shop/api", "--https-token-file", str(tok))
    before = show(shop, "shop/api")
    r = shop.cli("component", "update", "shop/api", "--repo", "https://evil.example/shop.git", "--json")
    assert r.rc == 1 and "remove them first" in r.err_json["error"], r
    assert show(shop, "shop/api") == before
    # the same host keeps them
    c = shop.ok("component", "update", "shop/api", "--repo", "https://git.example/team/shop.git")
    assert c["repo"] == "https://git.example/team/shop.git"
    shop.ok("component", "credentials", "shop/api", "--remove")
    c = shop.ok("component", "update", "shop/api", "--repo", "https://elsewhere.example/shop.git")
    assert c["repo"] == "https://elsewhere.example/shop.git"


def test_audit_names_the_changed_settings(shop):
    shop.ok("component", "update", "shop/api", "--repo", "https://git.example/moved.git",
            "--auto-build")
    shop.cli("component", "update", "shop/api", "--branch", "a..b")
    entries = [e for e in shop.ok("audit", "--project", "shop") if e["action"] == "component.update"]
    assert len(entries) == 2
    failed, ok = entries
    assert ok["status"] == 200 and ok["result"] == "ok" and ok["actor"] == "admin"
    assert ok["object"] == "component shop/api changed repo,auto_build"
    assert failed["status"] == 400 and "not a valid git branch name" in failed["result"]
    assert failed["object"] == "component shop/api update of branch"
    # names, not values
    assert "moved.git" not in json.dumps(entries)


# ---- behaviour follows the change --------------------------------------------

@pytest.fixture
def hooks(tmp_path):
    os.makedirs(str(tmp_path / "git"))
    daemon = GitDaemon(str(tmp_path / "git")).start()
    d = Ferryd(str(tmp_path / "data"))
    try:
        d.start()
        d.ok("project", "create", "shop")
        yield d, daemon, str(tmp_path / "git")
    finally:
        d.stop()
        daemon.stop()
        remove_local_images(d.data)
    assert d.proc.returncode == 0, d.log()[-4000:]


def test_auto_build_switch_decides_whether_a_push_builds(hooks):
    d = hooks[0]
    h = Hooked(hooks)  # auto-build off
    pc = "shop/" + h.name
    r = h.github("push", h.github_payload(h.sha))
    assert r.status_code == 200 and "auto-build is off" in r.json()["reason"], r.text
    assert h.builds() == []

    d.ok("component", "update", pc, "--auto-build")
    sha = h.repo.commit({"hello.txt": "2\n"})
    r = h.github("push", h.github_payload(sha, before=h.sha))
    assert r.status_code == 202 and r.json()["queued"] is True, r.text
    build = r.json()["build"]
    assert [b["id"] for b in h.builds()] == [build]
    assert h.wait_build(build)["commit"] == sha

    d.ok("component", "update", pc, "--no-auto-build")
    sha3 = h.repo.commit({"hello.txt": "3\n"})
    r = h.github("push", h.github_payload(sha3, before=sha))
    assert r.status_code == 200 and "auto-build is off" in r.json()["reason"], r.text
    assert [b["id"] for b in h.builds()] == [build]


def test_branch_change_decides_which_pushes_build(hooks):
    d = hooks[0]
    h = Hooked(hooks, "--auto-build")
    pc = "shop/" + h.name
    other = h.repo.commit({"hello.txt": "feature\n"}, branch="feature")
    r = h.github("push", h.github_payload(other, ref="refs/heads/feature"))
    assert r.status_code == 200 and "builds branch main" in r.json()["reason"], r.text
    d.ok("component", "update", pc, "--branch", "feature")
    r = h.github("push", h.github_payload(other, ref="refs/heads/feature"))
    assert r.status_code == 202 and r.json()["queued"] is True, r.text
    assert h.wait_build(r.json()["build"])["commit"] == other
