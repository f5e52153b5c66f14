"""The web console in a real browser: Debian's headless chromium driven by
playwright-core (tests/browser/console_e2e.mjs), against a real ferryd with
the real parts (git, buildah, registry, podman with runc, HAProxy). Each test
runs one browser scenario and checks what it reports against the server:
sign in; build a chosen commit and watch its log to the end; deploy from the
setup area and promote, both environments answering their own value; an
environment-specific value and the deployment it caused; rollback; a secret
found nowhere in the page or its answers; a task run with arguments and its
log; a viewer without write controls whose direct write is refused; sign out.

FERRY_UPDATE_SHOTS=1 copies the screenshots into docs/console/."""

import json
import os
import shutil
import subprocess

import pytest
import requests

from ferry import ROOT, Ferryd, binary, free_port
from gitserve import Repo
from test_rollout import cleanup, hello_files
from test_tasks import task_files

SCRIPT = os.path.join(ROOT, "tests", "browser", "console_e2e.mjs")
SWEEP = os.path.join(ROOT, "tests", "browser", "console_sweep.mjs")
CONSOLE = os.path.join(ROOT, "web", "dist")
SHOTS_DOC = os.path.join(ROOT, "docs", "console")
SECRET = "canary-console-4be1c9d7-never-shown"


STRICT = """\
endpoints:
  - name: web
    service: {port: 8080, basePath: /}
    type: REST
    networkVisibilities: [Public]
    schemaFilePath: api/openapi.yaml
configurations:
  env:
    - name: API_URL
      required: true
      type: string
"""
SPEC = """\
openapi: 3.0.3
info: {title: Strict greeter, version: "1.0"}
paths:
  /: {get: {responses: {"200": {description: a greeting}}}}
"""


def get(d, env):
    return requests.get("http://127.0.0.1:%d/" % d.gw,
                        headers={"Host": "hello.demo.%s.localhost" % env}, timeout=10)


def answers(d, env):
    r = get(d, env)
    return r.status_code, r.text.strip()


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    if not os.path.exists(os.path.join(CONSOLE, "index.html")):
        pytest.fail("the console is not built: run make console")
    root = tmp_path_factory.mktemp("console")
    data = str(root / "data")
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw, "--init-binary", binary("ferry-init"),
                            "--console-dir", CONSOLE])
    f.gw = gw
    f.shots = str(root / "shots")
    f.start()
    try:
        f.ok("project", "create", "demo")
        repo = Repo(str(root), name="hello")
        files = hello_files()
        # The service says on stderr what it served: its runtime log.
        files["www/cgi-bin/index.cgi"] += 'echo "served ${QUERY_STRING:-/} in ${FERRY_ENVIRONMENT}" >&2\n'
        repo.commit(files, message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        f.chosen = repo.commit({}, message="executable cgi")
        repo.commit({"NOTES": "a newer commit the test does not build\n"}, message="notes")
        f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        f.ok("config", "set", "demo/hello", "GREETING=hello")
        f.ok("config", "set", "demo/hello", "GREETING=bonjour", "--env", "production")
        task = Repo(str(root), name="task")
        task.commit(task_files(), message="task")
        os.chmod(os.path.join(task.work, "task.sh"), 0o755)
        task.commit({}, message="executable task")
        f.ok("component", "create", "demo/once", "--repo", task.file_url, "--type", "manual-task")
        f.ok("config", "set", "demo/once", "MESSAGE=from-config")
        # A scheduled task never deployed: its schedule, no executions.
        f.ok("component", "create", "demo/nightly", "--repo", task.file_url, "--type", "scheduled-task",
             "--schedule", "30 3 * * *", "--timezone", "America/New_York")
        # A component never built: the empty states.
        f.ok("component", "create", "demo/empty", "--repo", repo.file_url)
        # A build that sleeps, to be cancelled.
        slow = Repo(str(root), name="slow")
        slow.commit({"Dockerfile": "FROM ferry/busybox\nRUN echo started-sleeping && sleep 300\n"}, message="slow")
        f.ok("component", "create", "demo/slow", "--repo", slow.file_url)
        # A build whose descriptor needs API_URL, set nowhere; with an API spec.
        strict = Repo(str(root), name="strict")
        strict.commit(dict(hello_files(), **{".ferry/component.yaml": STRICT, "api/openapi.yaml": SPEC}),
                      message="strict")
        f.ok("component", "create", "demo/strict", "--repo", strict.file_url)
        yield f
    finally:
        f.stop()
        cleanup(data)


def browse(d, scenario, timeout=900, script=SCRIPT, **params):
    params.setdefault("url", d.url)
    params.setdefault("token", d.token)
    params.setdefault("project", "demo")
    env = dict(os.environ, FERRY_E2E=json.dumps(params), SHOTS=d.shots)
    p = subprocess.run(["node", script, scenario], env=env, capture_output=True, text=True, timeout=timeout)
    lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    assert p.returncode == 0, "%s failed: %s\n%s\n%s" % (scenario, out.get("error"), p.stderr[-3000:],
                                                         d.log()[-3000:])
    assert out["problems"] == [], out["problems"]
    if os.environ.get("FERRY_UPDATE_SHOTS") == "1" and os.path.isdir(d.shots):
        os.makedirs(SHOTS_DOC, exist_ok=True)
        for n in os.listdir(d.shots):
            if not n.startswith("failed-"):
                shutil.copy(os.path.join(d.shots, n), os.path.join(SHOTS_DOC, n))
    return out


def test_sign_in_keeps_the_token_out_of_the_browser(d):
    browse(d, "signin")
    audit = d.ok("audit")
    assert any(a["action"] == "session.create" and a["actor"] == "admin" for a in audit)


def test_build_a_chosen_commit_and_watch_its_log_to_the_end(d):
    out = browse(d, "build", commit=d.chosen)
    b = d.ok("build", "show", out["build"])
    assert b["commit"] == d.chosen and b["status"] == "succeeded"
    assert out["end"] == "succeeded"
    assert out["steps"] == [s["name"] for s in b["steps"]]
    # every line of the server's log reached the page
    server_log = d.api("GET", "/api/v1/builds/%d/log" % out["build"]).json()
    assert out["lines"] == len(server_log) > 10
    assert "branch main is commit" in out["logText"] or d.chosen in out["logText"]
    for line in ("fetching", "read .ferry/component.yaml", "endpoint web"):
        assert line in out["logText"], line
    d.build = out["build"]


def test_deploy_from_the_setup_area_and_promote_to_production(d):
    out = browse(d, "deploy", build=d.build)
    assert out["phoneOverflow"] <= 0, "the Deploy page is wider than a phone: %d px" % out["phoneOverflow"]
    s = d.ok("status", "demo/hello")
    for e in s["environments"]:
        assert e["healthy"] is True and e["deployment"]["status"] == "active"
        assert e["deployment"]["build"] == d.build
        assert out["urls"][e["name"]] == e["url"]
    assert answers(d, "development") == (200, "hello from development")
    assert answers(d, "production") == (200, "bonjour from production")


def test_an_environment_specific_value_makes_a_new_deployment(d):
    before = [x for x in d.ok("deployments", "demo/hello", "--env", "production") if x["status"] == "active"][0]
    dev_before = [x for x in d.ok("deployments", "demo/hello", "--env", "development") if x["status"] == "active"][0]
    out = browse(d, "config", value="hola")
    dep = d.ok("deployment", "show", out["deployment"])
    assert dep["cause"] == "config" and dep["environment"] == "production" and dep["status"] == "active"
    assert dep["digest"] == before["digest"] and dep["id"] != before["id"]
    assert answers(d, "production") == (200, "hola from production")
    assert [x for x in d.ok("deployments", "demo/hello", "--env", "development")
            if x["status"] == "active"][0]["id"] == dev_before["id"]
    d.before_config = before["id"]
    d.after_config = dep["id"]


def test_roll_back_to_an_earlier_deployment(d):
    out = browse(d, "rollback", to=d.before_config, after=d.after_config)
    dep = d.ok("deployment", "show", out["active"])
    assert dep["cause"] == "rollback" and dep["status"] == "active"
    assert answers(d, "production") == (200, "bonjour from production")


def test_a_secret_is_nowhere_in_the_page_or_its_answers(d):
    out = browse(d, "secret", secret=SECRET)
    assert out["answers"] > 5
    entry = [x for x in d.ok("config", "list", "demo/hello") if x["key"] == "API_KEY"][0]
    assert entry["secret"] is True and "value" not in entry
    assert SECRET not in d.log()


def test_run_a_task_with_arguments_and_read_its_log(d):
    r = d.cli("build", "demo/once", "--wait", timeout=600)
    assert r.rc == 0, r
    r = d.cli("deploy", "demo/once", "--wait", timeout=300)
    assert r.rc == 0, r
    out = browse(d, "task", task="once", args=["alpha", "beta gamma"])
    x = d.ok("execution", "show", out["execution"])
    assert x["status"] == "succeeded" and x["exit_code"] == 0 and out["end"] == "succeeded"
    assert out["exitCode"] == "0"
    assert "task args: alpha beta gamma" in out["log"]
    assert "MESSAGE=from-config" in out["log"]
    assert out["count"] == d.ok("executions", "demo/once")["last_30_days"] >= 1
    d.execution = out["execution"]


def test_cancel_a_running_execution(d):
    out = browse(d, "cancelTask", task="once")
    x = d.ok("execution", "show", out["execution"])
    assert x["status"] == "cancelled" and "cancelled by admin" in x["reason"], x


def test_cancel_a_running_build(d):
    out = browse(d, "cancelBuild", component="slow")
    b = d.ok("build", "show", out["build"])
    assert b["status"] == "cancelled", b
    steps = {s["name"]: s["status"] for s in b["steps"]}
    assert steps["image"] == "cancelled", steps
    assert dict(out["steps"]) == steps


def test_auto_build_and_auto_deploy_switches(d):
    before = d.ok("component", "show", "demo/hello")
    out = browse(d, "toggles")
    assert [(x["field"], x["now"]) for x in out["seen"]] == [
        ("auto_build", not before["auto_build"]), ("auto_build", before["auto_build"]),
        ("auto_deploy", not before["auto_deploy"]), ("auto_deploy", before["auto_deploy"])]
    after = d.ok("component", "show", "demo/hello")
    assert (after["auto_build"], after["auto_deploy"]) == (before["auto_build"], before["auto_deploy"])
    changes = [a for a in d.ok("audit") if a["action"] == "component.update" and "hello" in (a.get("object") or "")]
    assert len(changes) >= 4


def test_runtime_logs_follow_live(d):
    out = browse(d, "runtimeLogs", gateway="http://127.0.0.1:%d/demo/production/hello/" % d.gw)
    assert len(out["lines"]) == 3 and all("in production" in x for x in out["lines"]), out["lines"]


def test_a_refusal_is_shown_with_the_servers_message(d):
    r = d.cli("build", "demo/strict", "--wait", "--json", timeout=600)
    assert r.rc == 0, r
    b = json.loads(r.out)["id"]
    out = browse(d, "refusal", component="strict", build=b)
    assert "web" in out["endpoint"] and "openapi 3.0.3" in out["endpoint"]
    assert json.loads(out["spec"])["info"]["title"] == "Strict greeter"
    r = d.api("POST", "/api/v1/projects/demo/components/strict/deploy", json={"build": b})
    assert r.status_code == 422
    assert r.json()["error"] in out["refusal"], (r.json(), out["refusal"])
    assert "API_URL is required but not set" in out["refusal"]
    assert d.ok("deployments", "demo/strict") == []


def test_a_viewer_sees_no_write_controls_and_a_direct_write_is_refused(d):
    viewer = d.ok("token", "create", "--role", "viewer", "--name", "watcher")["token"]
    builds = len(d.ok("builds", "demo/hello"))
    out = browse(d, "viewer", viewer=viewer)
    assert out["direct"]["status"] == 403 and "viewer" in out["direct"]["body"]["error"]
    assert len(d.ok("builds", "demo/hello")) == builds


def test_admin_pages_show_a_new_token_once_and_filter_the_audit_log(d):
    out = browse(d, "admin", actor="watcher")
    assert out["actorRows"] >= 1 and out["projectRows"] >= 1
    t = [x for x in d.ok("token", "list") if x["name"] == "browser-made"][0]
    assert t["role"] == "viewer"
    assert t["revoked_at"]
    r = d.api("GET", "/api/v1/whoami", token=out["token"])
    assert r.status_code == 401


def test_every_page_by_its_url_at_desktop_and_phone_width(d):
    """Each page opened from its URL; axe-core's WCAG 2.1 A/AA rules; focus
    rings; no overflow at 390 px; times local with UTC titles; empty states;
    the schedule's next runs as the server computes them."""
    out = browse(d, "sweep", script=SWEEP, build=d.build, execution=d.execution)
    assert out["sweepProblems"] == [], "\n".join(out["sweepProblems"])
    pages = out["pages"]
    assert len(pages) == 15
    assert sum(len(p["times"]) for p in pages.values()) > 10
    assert sum(len(p["focus"]) for p in pages.values()) > 40
    nightly = d.ok("component", "show", "demo/nightly")
    sched = pages["/projects/demo/components/nightly/executions"]
    assert sched["schedule"] == "30 3 * * *"
    assert len(nightly["next_runs"]) >= 3
    assert [normal(t) for t in sched["nextRuns"]] == [normal(t) for t in nightly["next_runs"]]
    assert any("No executions yet" in t for t in sched["empty"])
    assert out["firstStop"] == "Skip to content" and out["afterSkip"] is True


def normal(t):
    from datetime import datetime
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def test_sign_out_ends_the_session(d):
    out = browse(d, "signout")
    assert out["after"] == 401
    r = requests.get(d.url + "/api/v1/projects", cookies={"ferry_session": out["cookie"]}, timeout=10)
    assert r.status_code == 401
