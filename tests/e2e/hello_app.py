"""A ferryd with the hello service built and deployed to development, for
tests that need something running (test_disk, test_faults)."""

import json
import os
import subprocess
import uuid

from ferry import Ferryd, binary, free_port
from gitserve import Repo, containers_env, registry_host
from test_deploy import wait_answer
from test_rollout import cleanup, hello_files


def start_hello(root, extra=(), unique=False, builds=1):
    """Starts a ferryd on root/data and deploys demo/hello (GREETING=hello)
    builds times, each from a new commit. unique: content of this run
    alone, so no other ferryd on the host shares the image. Returns the
    Ferryd with .gw, .data, .repo and .builds set; the caller stops it and
    cleans up (test_rollout.cleanup); on a failure here it is stopped."""
    data = os.path.join(str(root), "data")
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw,
                            "--init-binary", binary("ferry-init")] + list(extra))
    f.gw, f.data, f.builds = gw, data, []
    f.start()
    try:
        f.ok("project", "create", "demo")
        repo = Repo(str(root), name="hello")
        files = hello_files()
        if unique:
            files["www/nonce.txt"] = uuid.uuid4().hex + "\n"
        repo.commit(files, message="hello")
        os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
        repo.commit({}, message="executable cgi")
        f.repo = repo
        f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
        f.ok("config", "set", "demo/hello", "GREETING=hello")
        for n in range(builds):
            if n:
                repo.commit({"www/build%d.txt" % n: "%d\n" % n}, message="version %d" % (n + 1))
            r = f.cli("build", "demo/hello", "--wait", "--json", timeout=600)
            assert r.rc == 0, r
            f.builds.append(r.json)
            r = f.cli("deploy", "demo/hello", "--build", r.json["id"], "--wait", timeout=300)
            assert r.rc == 0, r
        wait_answer(f, "development", "hello from development")
    except BaseException:
        f.stop()
        raise
    return f


def remove_runtime_images(data):
    """Removes, by id, the runtime images only this ferryd's registry names."""
    try:
        host = registry_host(data)
    except (OSError, ValueError):
        return
    env = containers_env(data)
    p = subprocess.run(["podman", "images", "--format", "json"], env=env, capture_output=True, text=True)
    for img in json.loads(p.stdout or "[]"):
        refs = (img.get("RepoDigests") or []) + (img.get("Names") or [])
        if refs and all(r.startswith(host + "/") for r in refs):
            subprocess.run(["podman", "rmi", img["Id"]], env=env, capture_output=True)


def stop_hello(f, data):
    """Stops f (may be None) and removes, by id, what its ferryd started."""
    if f:
        f.stop()
    cleanup(data)
    remove_runtime_images(data)
