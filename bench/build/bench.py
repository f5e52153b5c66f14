#!/usr/bin/python3
"""bench/build: what ferry adds to a build.

1. On the same small Dockerfile context, a whole `ferry build P/C --wait` (queue,
   checkout from git, descriptor, buildah bud, push, endpoints, bookkeeping) against
   a bare `buildah bud` + `buildah push` of the same tree with the same flags to the
   same registry. Prints the medians and their ratio (goal: <= 1.2).
2. The time from a signed GitHub push webhook being sent to its build running
   (goal: < 100 ms), polled through the API every 2 ms.

Usage: bench/build/bench.py   (env: ITER=5, FERRY_BUILD_DIR=build)
Needs root, buildah, docker-registry, git. Everything it starts (ferryd with its
registry, git daemon) is stopped by pid; the local images it made are removed.
"""

import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from ferry import Ferryd  # noqa: E402
from gitserve import GitDaemon, Repo, containers_env, registry_host, remove_local_images  # noqa: E402

ITER = int(os.environ.get("ITER", "5"))

DOCKERFILE = """\
FROM ferry/busybox
COPY site/ /srv/site/
RUN mkdir -p /srv/data && echo built > /srv/data/marker && ls /srv/site > /srv/data/index
CMD ["httpd", "-f", "-p", "8080", "-h", "/srv/site"]
"""
FILES = {
    "Dockerfile": DOCKERFILE,
    "site/index.html": "<h1>bench</h1>\n" * 50,
    "site/app.js": "console.log('bench');\n" * 200,
}


def run(argv, env):
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv[:3]), p.stderr[-2000:]))
    return p.stdout


def bare_build(ctx, data, tag, timestamp):
    """buildah bud + push with the flags ferry uses (src/pipeline/image.c)."""
    env = containers_env(data)
    name = "localhost/bench-bare/app:%s" % tag
    t0 = time.monotonic()
    run(["buildah", "bud", "--isolation", "chroot", "--layers=false", "--force-rm",
         "--format", "oci", "--timestamp", str(timestamp), "--tls-verify=false",
         "-t", name, "-f", os.path.join(ctx, "Dockerfile"), ctx], env)
    run(["buildah", "push", "--tls-verify=false", name,
         "docker://%s/bench/bare:%s" % (registry_host(data), tag)], env)
    elapsed = time.monotonic() - t0
    run(["buildah", "rmi", name], env)
    return elapsed


def ferry_build(d, sha):
    t0 = time.monotonic()
    r = d.cli("build", "bench/app", "--commit", sha, "--wait", "--json", timeout=600)
    elapsed = time.monotonic() - t0
    if r.rc != 0:
        raise RuntimeError("ferry build failed: %r" % r)
    return elapsed, r.json


def webhook_latency(d, repo, comp, n):
    """Signed GitHub push deliveries of new commits; seconds from sending the
    request to the build being `running`."""
    # The hook's key is the last path segment of the printed URL.
    url = d.url + "/api/v1/hooks/" + comp["webhook_url"].rstrip("/").rsplit("/", 1)[1]
    secret = comp["webhook_secret"].encode()
    out = []
    for i in range(n):
        sha = repo.commit({"site/n.txt": "%d\n" % i}, message="hook %d" % i)
        body = json.dumps({
            "ref": "refs/heads/" + repo.branch, "before": "0" * 40, "after": sha,
            "deleted": False, "created": False,
            "repository": {"full_name": "bench/app"},
            "head_commit": {"id": sha, "message": "hook %d" % i},
        }).encode()
        sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                   "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": sig}
        t0 = time.monotonic()
        r = requests.post(url, data=body, headers=headers, timeout=30)
        if r.status_code // 100 != 2 or not r.json().get("build"):
            raise RuntimeError("webhook answered %d: %s" % (r.status_code, r.text))
        build = r.json()["build"]
        while True:
            b = d.api("GET", "/api/v1/builds/%d" % build).json()
            if b["status"] != "queued":
                out.append(time.monotonic() - t0)
                break
            if time.monotonic() - t0 > 60:
                raise RuntimeError("build %d still queued after 60 s" % build)
            time.sleep(0.002)
        # Let it finish so the next one starts on an idle queue.
        while d.api("GET", "/api/v1/builds/%d" % build).json()["status"] in ("queued", "running"):
            time.sleep(0.05)
    return out


def main():
    if os.geteuid() != 0:
        sys.exit("bench/build: needs root (buildah)")
    tmp = tempfile.mkdtemp(prefix="ferry-bench-build-")
    gitroot = os.path.join(tmp, "git")
    os.makedirs(gitroot)
    d = Ferryd(os.path.join(tmp, "data"), extra=["--log-level", "warn"])
    daemon = GitDaemon(gitroot)
    try:
        daemon.start()
        d.start()
        repo = Repo(gitroot, name="app")
        sha = repo.commit(FILES, message="bench")
        d.ok("project", "create", "bench")
        comp = d.ok("component", "create", "bench/app", "--repo", daemon.url(repo), "--auto-build")
        # Warm-up: waits for the registry and ferry/busybox, pulls the base image.
        _, first = ferry_build(d, sha)
        export = os.path.join(tmp, "ctx")
        os.makedirs(export)
        tar = subprocess.run(["git", "archive", sha], cwd=repo.bare, capture_output=True,
                             check=True).stdout
        subprocess.run(["tar", "-x", "-C", export], input=tar, check=True)
        ts = int(subprocess.run(["git", "show", "-s", "--format=%ct", sha], cwd=repo.bare,
                                capture_output=True, text=True, check=True).stdout)
        bare_build(export, d.data, "warm", ts)

        ferry_t, bare_t = [], []
        for i in range(ITER):
            # Interleaved, so that drift of the machine hits both alike.
            t, b = ferry_build(d, sha)
            assert b["digest"] == first["digest"], "rebuild changed the digest"
            ferry_t.append(t)
            bare_t.append(bare_build(export, d.data, "i%d" % i, ts))
        hooks = webhook_latency(d, repo, comp, ITER)

        fm, bm = statistics.median(ferry_t), statistics.median(bare_t)
        hm = statistics.median(hooks)
        print("bench/build: %d builds each of one small Dockerfile context" % ITER)
        print("  ferry build --wait:      median %6.3f s  (%s)" %
              (fm, " ".join("%.3f" % x for x in ferry_t)))
        print("  buildah bud + push:      median %6.3f s  (%s)" %
              (bm, " ".join("%.3f" % x for x in bare_t)))
        print("  ratio ferry/bare:        %6.2f     (goal <= 1.2)  %s" %
              (fm / bm, "ok" if fm / bm <= 1.2 else "OVER"))
        print("  webhook -> build start:  median %6.1f ms (max %.1f ms)  (goal < 100 ms)  %s" %
              (hm * 1000, max(hooks) * 1000, "ok" if hm < 0.1 else "OVER"))
    finally:
        d.stop()
        daemon.stop()
        remove_local_images(d.data)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
