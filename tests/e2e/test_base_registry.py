"""FROM by short name through ferryd --base-registry: a second local
docker-registry plays the upstream (Docker Hub, say); ferryd's
pull-through cache (docker-registry in proxy mode) keeps what was pulled,
so the build works again with the upstream stopped, and each build records
the base image's digest. Real ferryd, docker-registry, buildah, skopeo."""

import json
import os
import subprocess
import time

import pytest
import requests

from ferry import Ferryd, free_port
from gitserve import Repo, containers_env, registry_host, remove_local_images, remove_local_images_for

DOCKERFILE = 'FROM python:3.12-slim\nCOPY hello.txt /hello.txt\nUSER 65534\nCMD ["cat", "/hello.txt"]\n'


class Upstream:
    """A plain docker-registry on loopback, started and stopped by pid."""

    def __init__(self, root):
        self.dir = os.path.join(root, "upstream")
        os.makedirs(os.path.join(self.dir, "storage"))
        self.port = free_port()
        self.conf = os.path.join(self.dir, "config.yml")
        with open(self.conf, "w") as f:
            f.write("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s/storage\n"
                    "http:\n  addr: 127.0.0.1:%d\n" % (self.dir, self.port))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["docker-registry", "serve", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if requests.get("http://127.0.0.1:%d/v2/" % self.port, timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError("upstream registry did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def skopeo(data, *args):
    p = subprocess.run(["skopeo", *args], env=containers_env(data), capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("basereg"))
    up = Upstream(root).start()
    d = Ferryd(os.path.join(root, "data"), extra=["--base-registry", "http://127.0.0.1:%d" % up.port])
    d.start()
    try:
        d.ok("project", "create", "shop")
        yield d, up, root
    finally:
        d.stop()
        up.stop()
        remove_local_images(d.data)
        try:
            with open(os.path.join(d.data, "basecache", "0", "port")) as f:
                remove_local_images_for(d.data, "127.0.0.1:%d" % int(f.read()))
        except OSError:
            pass


def build(d, name):
    r = d.cli("build", "shop/" + name, "--wait", "--json", timeout=300)
    assert r.rc == 0, r
    return d.ok("build", "show", str(r.json["id"]))


def test_short_name_from_the_upstream_then_from_the_cache_alone(env):
    d, up, root = env
    # the upstream holds "python:3.12-slim" (ferry's busybox image, renamed)
    for _ in range(300):
        if os.path.exists(os.path.join(d.data, "registry", "port")) and \
           d.cli("component", "list", "shop").rc == 0:
            break
        time.sleep(0.1)
    src = "docker://%s/ferry/busybox:latest" % registry_host(d.data)
    for _ in range(100):  # ferryd pushes ferry/busybox at its first start
        p = subprocess.run(["skopeo", "inspect", "--tls-verify=false", src], env=containers_env(d.data),
                           capture_output=True, text=True)
        if p.returncode == 0:
            break
        time.sleep(0.3)
    skopeo(d.data, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", src,
           "docker://127.0.0.1:%d/python:3.12-slim" % up.port)
    want = json.loads(skopeo(d.data, "inspect", "--tls-verify=false",
                             "docker://127.0.0.1:%d/python:3.12-slim" % up.port))["Digest"]

    repo = Repo(root, name="py")
    repo.commit({"Dockerfile": DOCKERFILE, "hello.txt": "one\n"}, message="one")
    d.ok("component", "create", "shop/py", "--repo", repo.file_url)
    b = build(d, "py")
    assert b["status"] == "succeeded"
    base = b["base"]
    assert base["name"] == "python" and base["tag"] == "3.12-slim", base
    assert base["digest"] == want
    assert base["upstream"] == "http://127.0.0.1:%d" % up.port
    with open(os.path.join(d.data, "basecache", "0", "port")) as f:
        cache = "127.0.0.1:%d" % int(f.read())
    assert base["registry"] == cache
    log = "\n".join(l["text"] for l in d.ok("logs", "build", str(b["id"])))
    assert "base image python:3.12-slim is %s/python@%s, cached from" % (cache, want) in log, log

    # upstream gone, local copies gone: the cache alone serves the base
    up.stop()
    remove_local_images_for(d.data, cache)
    repo.commit({"hello.txt": "two\n"}, message="two")
    b2 = build(d, "py")
    assert b2["status"] == "succeeded" and b2["commit"] != b["commit"]
    assert b2["base"]["digest"] == want and b2["base"]["registry"] == cache


def test_unknown_short_name_fails_the_image_step(env):
    d, up, root = env
    repo = Repo(root, name="nope")
    repo.commit({"Dockerfile": "FROM no-such-base:1\nUSER 65534\n"}, message="x")
    d.ok("component", "create", "shop/nope", "--repo", repo.file_url)
    r = d.cli("build", "shop/nope", "--wait", "--json", timeout=300)
    assert r.rc == 1
    [b] = d.ok("builds", "shop/nope")
    assert b["status"] == "failed" and b["error"].startswith("image: "), b["error"]
