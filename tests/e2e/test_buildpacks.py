"""Source builds (buildpacks) end to end: each sample of examples/ (a small
HTTP service with a real dependency from its public registry) is built
without a Dockerfile, deployed through the real ferryd (buildah, registry,
podman, HAProxy) and answers; a code-only change rebuilds reusing the
dependency image (same layer digest); the same commit gives the same
digest; the image runs as a non-root user.

The base images (ferry/node, ferry/python, ...) are made from Debian
packages with mmdebstrap once per machine and cached in
/var/cache/ferry-buildpacks, so only the first run on a machine pays for
them. The java sample runs only with FERRY_TEST_JAVA=1 (make
test-buildpacks-java): its JDK and Maven base images and Maven's plugin
downloads take several minutes."""

import os
import subprocess
import time

import pytest
import requests

from ferry import ROOT, Ferryd, binary, free_port
from gitserve import Repo, build_env, containers_env, remove_local_images
from test_rollout import cleanup

EXAMPLES = os.path.join(ROOT, "examples")

# language -> (example dir, the file a code-only change edits, what it answers)
SAMPLES = {
    "node": ("node-hello", "server.js", "from node"),
    "python": ("python-hello", "app.py", "from python"),
    "go": ("go-hello", "main.go", "from go"),
    "java": ("java-hello", "src/main/java/dev/ferry/hello/Main.java", '"from":"java"'),
}


def example_files(name):
    root = os.path.join(EXAMPLES, name)
    files = {}
    for base, _, names in os.walk(root):
        for n in names:
            full = os.path.join(base, n)
            with open(full) as f:
                files[os.path.relpath(full, root)] = f.read()
    return files


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("buildpacks")
    data = str(root / "data")
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw,
                            "--init-binary", binary("ferry-init")])
    f.gw, f.root = gw, str(root)
    f.start()
    try:
        f.ok("project", "create", "shop")
        yield f
    finally:
        f.stop()
        cleanup(data)
        # the dependency images this ferryd made, in its own image store
        env = build_env(data)
        p = subprocess.run(["buildah", "images", "--noheading", "--format", "{{.ID}}",
                            "--filter", "reference=localhost/ferry-deps/*"],
                           env=env, capture_output=True, text=True)
        for iid in sorted(set(p.stdout.split())):
            subprocess.run(["buildah", "rmi", "-f", iid], env=env, capture_output=True)
        remove_local_images(data)


def build(d, name, *extra):
    r = d.cli("build", "shop/" + name, "--wait", "--json", *extra, timeout=1800)
    assert r.rc == 0, (r, log_text(d, r.json["id"]) if r.out.startswith("{") else "")
    assert r.json["status"] == "succeeded", log_text(d, r.json["id"])
    return r.json


def log_text(d, build_id):
    return "\n".join(l["text"] for l in d.ok("logs", "build", build_id))


def inspect(d, ref, *opts):
    p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", *opts, "docker://" + ref],
                       env=containers_env(d.data), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    import json
    return json.loads(p.stdout)


def answer(d, name, text, timeout=120):
    host = "%s.shop.development.localhost" % name
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            r = requests.get("http://127.0.0.1:%d/" % d.gw, headers={"Host": host}, timeout=10)
            last = (r.status_code, r.text)
            if r.status_code == 200 and text in r.text:
                return r.text
        except requests.RequestException as ex:
            last = ex
        time.sleep(0.5)
    raise AssertionError("%s never answered %r (last: %r)" % (host, text, last))


def run_sample(d, lang, *create_opts):
    example, source, says = SAMPLES[lang]
    name = lang + "-hello"
    repo = Repo(d.root, name=name)
    first_sha = repo.commit(example_files(example), message="the %s sample" % lang)
    d.ok("component", "create", "shop/" + name, "--repo", repo.file_url, *create_opts)

    first = build(d, name)
    log = log_text(d, first["id"])
    assert "buildpack %s" % lang in log, log
    assert "dependency image localhost/ferry-deps/shop/%s:" % name in log, log
    config = inspect(d, first["image"], "--config")["config"]
    assert config["User"] == "10001:10001"
    assert "PORT=8080" in config["Env"]

    assert d.cli("deploy", "shop/" + name, "--wait", timeout=600).rc == 0
    answer(d, name, "hello " + says if lang != "java" else says)

    # A code-only change: the dependency image is reused, not rebuilt.
    files = example_files(example)
    repo.commit({source: files[source].replace('"hello"', '"bonjour"')}, message="greet in French")
    second = build(d, name)
    log2 = log_text(d, second["id"])
    assert ": reused (" in log2 and "unchanged)" in log2, log2
    assert "building it" not in log2, log2
    assert second["digest"] != first["digest"]
    l1 = inspect(d, first["image"])["Layers"]
    l2 = inspect(d, second["image"])["Layers"]
    if lang in ("node", "python"):
        # base layer(s) + the dependency layer, the same; the code layer differs
        assert len(l1) == len(l2) >= 3
        assert l1[:-1] == l2[:-1] and l1[-1] != l2[-1]
    else:
        # compiled in a build stage: the runtime image's base layers stay
        assert l1[:-1] == l2[:-1]
    assert d.cli("deploy", "shop/" + name, "--wait", timeout=600).rc == 0
    answer(d, name, "bonjour" if lang != "java" else "bonjour")
    return name, first_sha, first


def test_node_sample_builds_deploys_and_reuses_its_dependency_layer(d):
    name, sha, first = run_sample(d, "node")
    # the same commit again: the same image
    again = build(d, name, "--commit", sha)
    assert again["digest"] == first["digest"]


def test_python_sample_chosen_by_name(d):
    run_sample(d, "python", "--buildpack", "python")


def test_go_sample(d):
    run_sample(d, "go")


@pytest.mark.skipif(os.environ.get("FERRY_TEST_JAVA") != "1",
                    reason="the java sample is slow (JDK and Maven base images, Maven plugin "
                           "downloads): make test-buildpacks-java")
def test_java_sample(d):
    run_sample(d, "java")


def test_node_without_a_lockfile_says_what_to_do(d):
    repo = Repo(d.root, name="nolock")
    files = example_files("node-hello")
    del files["package-lock.json"]
    repo.commit(files, message="no lockfile")
    d.ok("component", "create", "shop/nolock", "--repo", repo.file_url)
    r = d.cli("build", "shop/nolock", "--wait", "--json", timeout=600)
    assert r.rc != 0
    assert "package-lock.json" in r.json["error"] and "npm install" in r.json["error"]


def test_procfile_gives_the_start_command(d):
    repo = Repo(d.root, name="procfile")
    files = example_files("node-hello")
    files["Procfile"] = "# the web process\nweb: GREETING=procfile node server.js\n"
    repo.commit(files, message="with a Procfile")
    d.ok("component", "create", "shop/procfile", "--repo", repo.file_url, "--buildpack", "node")
    b = build(d, "procfile")
    assert "start command from the Procfile" in log_text(d, b["id"])
    cmd = inspect(d, b["image"], "--config")["config"]["Cmd"]
    assert cmd == ["/bin/sh", "-c", "GREETING=procfile node server.js"]
    assert d.cli("deploy", "shop/procfile", "--wait", timeout=600).rc == 0
    answer(d, "procfile", "procfile from node")


def test_unknown_buildpack_is_refused_with_the_known_ones(d):
    r = d.cli("component", "create", "shop/bad", "--repo", "file:///nowhere", "--buildpack", "ruby")
    assert r.rc != 0
    assert "static, node, python, go, java" in r.err
