"""Builds end to end: the real ferry CLI against a real ferryd, with git
repositories served by `git daemon`, `git http-backend` and file://, the
managed registry (docker-registry) and buildah."""

import json
import os
import signal
import subprocess
import time

import pytest
import requests

from ferry import Ferryd
from gitserve import (GitDaemon, GitHTTP, Repo, containers_env, remove_local_images,
                      remove_local_images_for)

# USER: the scan step fails a final stage that runs as root (docs/scanning.md).
DOCKERFILE = 'FROM ferry/busybox\nCOPY hello.txt /hello.txt\nUSER 65534\nCMD ["cat", "/hello.txt"]\n'


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One ferryd (with its own registry) and one git daemon for the module;
    both stopped by pid, and the local images this registry named removed."""
    root = tmp_path_factory.mktemp("build")
    d = Ferryd(str(root / "data"))
    os.makedirs(str(root / "git"))
    daemon = GitDaemon(str(root / "git")).start()
    d.start()
    d.ok("project", "create", "shop")
    try:
        yield d, daemon, str(root / "git")
    finally:
        d.stop()
        daemon.stop()
        remove_local_images(d.data)
        assert d.proc.returncode == 0, d.log()[-4000:]


_n = [0]


def component(env, files, *opts, url="daemon", name=None):
    """A repository with files committed, and a component building it."""
    d, daemon, gitroot = env
    _n[0] += 1
    name = name or "c%d" % _n[0]
    repo = Repo(gitroot, name=name)
    sha = repo.commit(files, message="first of " + name)
    u = {"daemon": daemon.url(repo), "file": repo.file_url}.get(url, url)
    d.ok("component", "create", "shop/" + name, "--repo", u, *opts)
    return name, repo, sha


def build_wait(d, name, *extra, ok=True):
    r = d.cli("build", "shop/" + name, "--wait", "--json", *extra, timeout=300)
    if ok:
        assert r.rc == 0, r
    return r


def log_text(d, build_id, step=None):
    lines = d.ok("logs", "build", build_id)
    return "\n".join(l["text"] for l in lines if step is None or l["step"] == step)


def skopeo_inspect(d, ref):
    p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "docker://" + ref],
                       env=containers_env(d.data), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


# ---- the happy path -------------------------------------------------------

def test_build_pushes_an_image_addressed_by_digest(env):
    d = env[0]
    name, repo, sha = component(env, {"Dockerfile": DOCKERFILE, "hello.txt": "hello\n"})
    b = build_wait(d, name).json
    assert b["status"] == "succeeded"
    assert b["commit"] == sha
    assert b["digest"].startswith("sha256:") and len(b["digest"]) == 71
    assert b["image"].endswith("/shop/%s@%s" % (name, b["digest"]))
    assert [s["name"] for s in b["steps"]] == ["checkout", "descriptor", "image", "scan", "push", "endpoints"]
    assert [s["status"] for s in b["steps"]] == ["succeeded", "succeeded", "succeeded", "succeeded",
                                                 "succeeded", "succeeded"]
    assert all(s["started_at"] and s["finished_at"] for s in b["steps"])
    assert b["trigger"] == "manual" and b["triggered_by"] == "admin"
    # The registry has it, by digest, and tagged by the commit.
    info = skopeo_inspect(d, b["image"])
    assert info["Digest"] == b["digest"]
    tagged = skopeo_inspect(d, b["image"].split("@")[0] + ":" + sha)
    assert tagged["Digest"] == b["digest"]
    assert info["Labels"]["org.opencontainers.image.revision"] == sha
    # Listed, shown, and logged per step.
    builds = d.ok("builds", "shop/" + name)
    assert [x["id"] for x in builds] == [b["id"]]
    shown = d.cli("build", "show", b["id"])
    assert shown.rc == 0 and "push" in shown.out and b["digest"] in shown.out
    log = d.cli("logs", "build", b["id"])
    assert log.rc == 0
    assert "==> checkout" in log.out and "==> image" in log.out and "==> push" in log.out
    assert "COPY hello.txt /hello.txt" in log_text(d, b["id"], "image")
    # The workspace is removed (just after the result is recorded).
    ws = os.path.join(d.data, "work", "build-%d" % b["id"])
    deadline = time.time() + 10
    while os.path.exists(ws):
        assert time.time() < deadline, ws
        time.sleep(0.1)


def test_rebuild_of_a_commit_gives_the_same_digest(env):
    d = env[0]
    name, repo, sha = component(env, {"Dockerfile": DOCKERFILE.replace("USER 65534\n",  # RUN as root
                                                                        "RUN echo built > /built\nUSER 65534\n"),
                                      "hello.txt": "same\n"})
    first = build_wait(d, name).json
    second = build_wait(d, name, "--commit", sha).json
    assert second["commit"] == sha
    assert second["digest"] == first["digest"]
    assert "same digest as the previous build" in log_text(d, second["id"], "push")
    assert skopeo_inspect(d, second["image"])["Digest"] == first["digest"]


def test_commits_lists_the_branch_newest_first(env):
    d = env[0]
    name, repo, first = component(env, {"Dockerfile": DOCKERFILE, "hello.txt": "1\n"})
    second = repo.commit({"hello.txt": "2\n"}, message="second change\n\nwith a body")
    commits = d.ok("commits", "shop/" + name)
    assert [c["sha"] for c in commits] == [second, first]
    assert commits[0]["message"] == "second change"
    assert commits[0]["author"] == "Ada Tester"
    assert commits[0]["time"].endswith("Z")
    assert [c["sha"] for c in d.ok("commits", "shop/" + name, "--limit", "1")] == [second]
    human = d.cli("commits", "shop/" + name)
    assert human.rc == 0 and "second change" in human.out and "SHA" in human.out


def test_build_of_an_older_commit_and_over_smart_http(env):
    d, daemon, gitroot = env
    http = GitHTTP(gitroot).start()
    try:
        _n[0] += 1
        name = "c%d" % _n[0]
        repo = Repo(gitroot, name=name)
        old = repo.commit({"Dockerfile": DOCKERFILE, "hello.txt": "old\n"})
        repo.commit({"hello.txt": "new\n"})
        d.ok("component", "create", "shop/" + name, "--repo", http.url(repo))
        b = build_wait(d, name, "--commit", old[:10]).json
        assert b["commit"] == old and b["status"] == "succeeded"
    finally:
        http.stop()


def test_monorepo_path_and_file_url(env):
    d = env[0]
    name, repo, sha = component(env, {
        "services/api/Dockerfile": DOCKERFILE,
        "services/api/hello.txt": "api\n",
        "services/web/Dockerfile": "this is not a Dockerfile\n",
    }, "--path", "services/api", url="file")
    b = build_wait(d, name).json
    assert b["status"] == "succeeded"
    assert "path services/api" in log_text(d, b["id"], "checkout")


def test_static_buildpack(env):
    d = env[0]
    name, repo, sha = component(env, {"index.html": "<h1>hi</h1>\n", "css/site.css": "h1{}\n"},
                                "--type", "web-app", "--buildpack", "static")
    b = build_wait(d, name).json
    assert b["status"] == "succeeded"
    assert "buildpack static" in log_text(d, b["id"], "image")
    info = skopeo_inspect(d, b["image"])
    assert info["Digest"] == b["digest"]


def test_descriptor_endpoints_and_api_specification(env):
    d = env[0]
    descriptor = """\
schemaVersion: "1.2"
endpoints:
  - name: greeter
    service:
      port: 8080
      basePath: /greet
    type: REST
    networkVisibilities: [Public]
    schemaFilePath: api/openapi.yaml
configurations:
  env:
    - name: GREETING
      valueFrom:
        configForm:
          required: false
"""
    spec = """\
openapi: 3.0.3
info:
  title: Greeter
  version: "1.0"
paths:
  /hello:
    get:
      responses:
        "200":
          description: ok
"""
    name, repo, sha = component(env, {"Dockerfile": DOCKERFILE, "hello.txt": "x\n",
                                      ".choreo/component.yaml": descriptor,
                                      "api/openapi.yaml": spec})
    b = build_wait(d, name).json
    shown = d.ok("build", "show", b["id"])
    assert shown["descriptor"]["format"] == "choreo"
    [ep] = shown["endpoints"]
    assert ep["name"] == "greeter" and ep["port"] == 8080 and ep["base_path"] == "/greet"
    assert ep["type"] == "REST" and ep["visibilities"] == ["Public"]
    assert ep["schema"]["format"] == "openapi" and ep["schema"]["version"] == "3.0.3"
    assert ep["schema"]["document"]["info"]["title"] == "Greeter"
    assert "200" in ep["schema"]["document"]["paths"]["/hello"]["get"]["responses"]
    human = d.cli("build", "show", b["id"])
    assert "greeter" in human.out and "openapi 3.0.3" in human.out


def test_choreo_sample_descriptor_builds_as_is(env):
    # The shapes of Choreo's own sample repositories: an endpoint named with
    # an underscore, configForm types object and array, a connection, a
    # configuration group, a literal value, an unknown key and comments.
    d = env[0]
    descriptor = """\
# Go greeter, as in the reference's samples
schemaVersion: 1.1
endpoints:
    - name: go_greeter
      displayName: Go Greeter
      service:
          basePath: /greeting-service
          port: 9090
      type: REST
      networkVisibilities:
          - Public
          - Organization
dependencies:
  connectionReferences:
    - name: hello conn
      resourceRef: service:/connkeys/hello-svc/v1/803f0/PUBLIC
configuration:
  env:
    - name: HELLO_URL
      valueFrom: {connectionRef: {name: hello conn, key: ServiceURL}}
    - name: REGION
      valueFrom: {configGroupRef: {name: shared, key: region}}
    - name: CUSTOM_VAR
      value: custom-value
somethingNew: true
"""
    name, repo, sha = component(env, {"Dockerfile": DOCKERFILE, "hello.txt": "x\n",
                                      ".choreo/component.yaml": descriptor})
    b = build_wait(d, name).json
    assert b["status"] == "succeeded"
    shown = d.ok("build", "show", b["id"])
    desc = shown["descriptor"]
    [ep] = desc["endpoints"]
    assert ep["name"] == "go-greeter" and ep["declared_name"] == "go_greeter"
    assert [e["name"] for e in desc["env"]] == ["HELLO_URL", "REGION", "CUSTOM_VAR"]
    assert desc["env"][1]["config_group_ref"] == {"name": "shared", "key": "region"}
    assert desc["env"][2]["value"] == "custom-value"
    [c] = desc["connection_references"]
    assert c["component"] == "hello-svc" and c["project"] == "connkeys"
    log = log_text(d, b["id"], "descriptor")
    assert 'endpoints[0].name: "go_greeter" is "go-greeter"' in log, log
    assert "somethingNew: unknown field, ignored" in log, log
    assert "component.yaml 1.1 is outdated" in log, log
    assert len(desc["warnings"]) == 3, desc["warnings"]


def test_invalid_choreo_descriptor_says_what_the_reference_accepts(env):
    d = env[0]
    name, repo, sha = component(env, {
        "Dockerfile": DOCKERFILE, "hello.txt": "x\n",
        ".choreo/component.yaml": "schemaVersion: 1.2\nendpoints:\n"
                                  "  - name: db\n    service: {port: 5432}\n    type: TCP\n"
                                  "    networkVisibilities: [Public]\n",
    })
    build_wait(d, name, ok=False)
    [b] = d.ok("builds", "shop/" + name)
    steps = {s["name"]: s["status"] for s in b["steps"]}
    assert steps["descriptor"] == "failed" and steps["image"] == "skipped"
    assert (".choreo/component.yaml:6:26: endpoints[0].networkVisibilities: "
            "a TCP endpoint can only have networkVisibilities [Project]") in b["error"], b["error"]


# ---- failures ------------------------------------------------------------

def test_failing_run_fails_the_image_step_with_buildahs_error(env):
    d = env[0]
    name, repo, sha = component(env, {"Dockerfile": "FROM ferry/busybox\n"
                                      "RUN echo marker-before-failure && exit 3\n"})
    r = build_wait(d, name, ok=False)
    assert r.rc == 1, r
    assert "failed" in r.err_json["error"]
    [b] = d.ok("builds", "shop/" + name)
    assert b["status"] == "failed"
    steps = {s["name"]: s["status"] for s in b["steps"]}
    assert steps["checkout"] == "succeeded" and steps["image"] == "failed"
    assert steps["push"] == "skipped"
    assert b["error"].startswith("image: ")
    log = log_text(d, b["id"], "image")
    assert "marker-before-failure" in log
    assert "exit status 3" in log


def test_unreachable_repository_fails_checkout(env):
    d = env[0]
    from ferry import free_port
    _n[0] += 1
    name = "c%d" % _n[0]
    d.ok("component", "create", "shop/" + name, "--repo",
         "git://127.0.0.1:%d/nowhere.git" % free_port())
    r = build_wait(d, name, ok=False)
    assert r.rc == 1
    [b] = d.ok("builds", "shop/" + name)
    assert b["status"] == "failed"
    assert b["steps"][0]["name"] == "checkout" and b["steps"][0]["status"] == "failed"
    assert b["error"].startswith("checkout: ")
    assert "127.0.0.1" in b["error"]
    # commits says the same.
    c = d.cli("commits", "shop/" + name)
    assert c.rc == 1 and "127.0.0.1" in c.err


def test_broken_descriptor_fails_with_line_and_column(env):
    d = env[0]
    name, repo, sha = component(env, {
        "Dockerfile": DOCKERFILE, "hello.txt": "x\n",
        ".ferry/component.yaml": "endpoints:\n  - name: web\n    service:\n      port: http\n",
    })
    build_wait(d, name, ok=False)
    [b] = d.ok("builds", "shop/" + name)
    assert b["status"] == "failed"
    steps = {s["name"]: s["status"] for s in b["steps"]}
    assert steps["descriptor"] == "failed" and steps["image"] == "skipped"
    assert ".ferry/component.yaml:4:13" in b["error"], b["error"]
    assert "port" in b["error"]


def test_unknown_commit_fails_checkout(env):
    d = env[0]
    name, repo, sha = component(env, {"Dockerfile": DOCKERFILE, "hello.txt": "x\n"})
    build_wait(d, name, "--commit", "0123456789abcdef0123456789abcdef01234567", ok=False)
    [b] = d.ok("builds", "shop/" + name)
    assert b["status"] == "failed" and b["error"].startswith("checkout: ")


# ---- live logs and cancel --------------------------------------------------

def test_follow_shows_output_while_the_build_runs(env):
    d = env[0]
    name, repo, sha = component(env, {"Dockerfile": "FROM ferry/busybox\n"
                                      "RUN for i in 1 2 3 4; do echo tick-$i; sleep 1; done\n"
                                      "USER 65534\n"})
    b = d.ok("build", "shop/" + name)
    e = dict(os.environ, FERRY_SERVER=d.url, FERRY_TOKEN=d.token)
    from ferry import binary
    p = subprocess.Popen([binary("ferry"), "logs", "build", str(b["id"]), "--follow"], env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen_running = False
        lines = []
        for line in p.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("tick-1"):
                # Output arrives while the build still runs.
                status = d.ok("build", "show", b["id"])["status"]
                seen_running = status == "running"
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert seen_running, lines
    assert p.returncode == 0, p.stderr.read()
    assert "==> image" in lines
    assert [l for l in lines if l.startswith("tick-")] == ["tick-1", "tick-2", "tick-3", "tick-4"]
    assert lines[-1] == "==> build %d succeeded" % b["id"]


def test_cancel_a_running_build_kills_buildah(env):
    d = env[0]
    name, repo, sha = component(env, {"Dockerfile": "FROM ferry/busybox\n"
                                      "RUN echo started-sleeping && sleep 120\n"})
    b = d.ok("build", "shop/" + name)
    deadline = time.time() + 60
    while "started-sleeping" not in log_text(d, b["id"]):
        assert time.time() < deadline, log_text(d, b["id"])
        time.sleep(0.2)
    t0 = time.time()
    c = d.ok("build", "cancel", b["id"], "--wait")
    assert time.time() - t0 < 20
    assert c["status"] == "cancelled"
    steps = {s["name"]: s["status"] for s in c["steps"]}
    assert steps["image"] == "cancelled" and steps["push"] == "cancelled"
    again = d.cli("build", "cancel", b["id"])
    assert again.rc == 1 and "already ended" in again.err


def test_cancel_a_queued_build(tmp_path):
    """With concurrency 1, the second build waits in the queue; cancelling it
    there stops it before it starts."""
    d = Ferryd(str(tmp_path / "data"), extra=["--build-concurrency", "1"]).start()
    try:
        d.ok("project", "create", "p")
        repo = Repo(str(tmp_path), name="slow")
        repo.commit({"Dockerfile": "FROM ferry/busybox\nRUN sleep 5\nUSER 65534\n"})
        d.ok("component", "create", "p/slow", "--repo", repo.file_url)
        first = d.ok("build", "p/slow")
        second = d.ok("build", "p/slow")
        c = d.ok("build", "cancel", second["id"])
        assert c["status"] == "cancelled"
        assert c["error"] == "cancelled before it started"
        assert all(s["status"] == "cancelled" for s in c["steps"])
        d.ok("build", "cancel", first["id"], "--wait")
    finally:
        d.stop()
        remove_local_images(d.data)


def test_build_interrupted_by_a_restart_is_failed_with_the_reason(tmp_path):
    d = Ferryd(str(tmp_path / "data")).start()
    try:
        d.ok("project", "create", "p")
        repo = Repo(str(tmp_path), name="long")
        repo.commit({"Dockerfile": "FROM ferry/busybox\nRUN echo long-running && sleep 60\n"})
        d.ok("component", "create", "p/long", "--repo", repo.file_url)
        b = d.ok("build", "p/long")
        deadline = time.time() + 60
        while "long-running" not in log_text(d, b["id"]):
            assert time.time() < deadline
            time.sleep(0.2)
        assert d.stop() == 0
        d.start()
        again = d.ok("build", "show", b["id"])
        assert again["status"] == "failed"
        assert "interrupted" in again["error"] and "ferryd stopped" in again["error"]
    finally:
        d.stop()
        remove_local_images(d.data)


def test_build_needs_write_access_and_a_known_component(env):
    d = env[0]
    tok = d.ok("token", "create", "--role", "viewer")["token"]
    name, repo, sha = component(env, {"Dockerfile": DOCKERFILE, "hello.txt": "x\n"})
    r = d.cli("build", "shop/" + name, token=tok)
    assert r.rc == 1 and "viewer" in r.err.lower() or "permission" in r.err.lower(), r
    r = d.cli("build", "shop/nope")
    assert r.rc == 1 and "not found" in r.err
    r = d.cli("build", "show", "999999")
    assert r.rc == 1 and "not found" in r.err


def test_build_timeout_stops_buildah(tmp_path):
    d = Ferryd(str(tmp_path / "data"), extra=["--build-timeout", "10"]).start()
    try:
        d.ok("project", "create", "p")
        repo = Repo(str(tmp_path), name="slow")
        repo.commit({"Dockerfile": "FROM ferry/busybox\nRUN sleep 120\n"})
        d.ok("component", "create", "p/slow", "--repo", repo.file_url)
        t0 = time.time()
        r = d.cli("build", "p/slow", "--wait", "--json", timeout=120)
        assert r.rc == 1
        assert time.time() - t0 < 40
        [b] = d.ok("builds", "p/slow")
        assert b["status"] == "failed"
        assert b["error"] == "image: the build took longer than its timeout of 10 s"
    finally:
        d.stop()
        remove_local_images(d.data)


def test_registry_dies_with_a_killed_ferryd(tmp_path):
    """ferryd killed with SIGKILL takes its registry with it (a parent-death
    signal); the next start runs a new one on the same port and data, and
    the images pushed before are still there."""
    d = Ferryd(str(tmp_path / "data")).start()
    old = None
    try:
        d.ok("project", "create", "p")
        repo = Repo(str(tmp_path), name="app")
        repo.commit({"Dockerfile": DOCKERFILE, "hello.txt": "x\n"})
        d.ok("component", "create", "p/app", "--repo", repo.file_url)
        r = d.cli("build", "p/app", "--wait", "--json", timeout=300)
        assert r.rc == 0, r
        first = r.json
        pidfile = os.path.join(d.data, "registry", "ferryd.pid")
        old = int(open(pidfile).read())
        d.kill()
        deadline = time.time() + 10
        while os.path.exists("/proc/%d" % old) and open("/proc/%d/stat" % old).read().split()[2] != "Z":
            assert time.time() < deadline, "the registry outlived a killed ferryd"
            time.sleep(0.05)
        d.start()
        # the registry starts in the background after /healthz answers
        deadline = time.time() + 60
        while d.api("GET", "/healthz?verbose=1").json()["parts"]["registry"]["state"] != "up":
            assert time.time() < deadline, "the registry did not start again"
            time.sleep(0.1)
        assert skopeo_inspect(d, first["image"])["Digest"] == first["digest"]
        r = d.cli("build", "p/app", "--wait", "--json", timeout=300)
        assert r.rc == 0, r
        assert r.json["digest"] == first["digest"]
        assert int(open(pidfile).read()) != old
    finally:
        d.stop()
        remove_local_images(d.data)
        # If the test failed half-way, the registry this test started.
        if old and os.path.exists("/proc/%d" % old):
            with open("/proc/%d/cmdline" % old, "rb") as f:
                if d.data.encode() in f.read():
                    os.kill(old, signal.SIGKILL)


def test_external_registry(tmp_path):
    """ferryd --registry URL: nothing is started; images go to that registry
    (here a docker-registry this test runs itself, on loopback)."""
    from ferry import free_port
    port = free_port()
    cfg = tmp_path / "ext.yml"
    cfg.write_text(
        "version: 0.1\n"
        "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:%d\n" % (tmp_path / "ext-storage", port))
    log = open(str(tmp_path / "ext.log"), "wb")
    reg = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=log, stderr=log,
                           stdin=subprocess.DEVNULL)
    log.close()
    d = Ferryd(str(tmp_path / "data"), extra=["--registry", "http://127.0.0.1:%d" % port])
    try:
        deadline = time.time() + 15
        while True:
            try:
                if requests.get("http://127.0.0.1:%d/v2/" % port, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline and reg.poll() is None
            time.sleep(0.05)
        d.start()
        d.ok("project", "create", "p")
        repo = Repo(str(tmp_path), name="app")
        sha = repo.commit({"Dockerfile": DOCKERFILE, "hello.txt": "x\n"})
        d.ok("component", "create", "p/app", "--repo", repo.file_url)
        r = d.cli("build", "p/app", "--wait", "--json", timeout=300)
        assert r.rc == 0, r
        assert r.json["image"].startswith("127.0.0.1:%d/p/app@sha256:" % port)
        tags = requests.get("http://127.0.0.1:%d/v2/p/app/tags/list" % port, timeout=5).json()
        assert tags["tags"] == [sha]
        # ferry/busybox was put there too, and ferryd started no registry of its own.
        assert requests.get("http://127.0.0.1:%d/v2/ferry/busybox/tags/list" % port,
                            timeout=5).status_code == 200
        assert not os.path.exists(os.path.join(d.data, "registry", "ferryd.pid"))
    finally:
        d.stop()
        remove_local_images_for(d.data, "127.0.0.1:%d" % port)
        reg.terminate()
        reg.wait(10)
