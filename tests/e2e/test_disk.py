"""Disk that stays bounded: runtime images no deployment needs are removed
(the last N per environment kept for rollback), build leftovers are swept,
build logs have a size retention, the registry is garbage-collected on a
schedule, and `ferry admin df` says what uses the disk. Real buildah,
registry, podman and HAProxy."""

import os
import subprocess
import time

import pytest

from ferry import binary
from gitserve import build_env, containers_env
from hello_app import start_hello, stop_hello
from openapi_check import Description
from test_deploy import wait_answer


def image_exists(data, ref):
    return subprocess.run(["podman", "image", "exists", ref], env=containers_env(data),
                          capture_output=True).returncode == 0


def audit_actions(d):
    return [a for a in d.ok("audit", "--limit", "200") if a["actor"] == "ferryd"]


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("disk")
    data = str(root / "data")
    try:
        f = start_hello(root, ["--keep-deployments", "1", "--log-retention-size", "1K",
                               "--registry-gc", "* * * * *", "--housekeeping-interval", "3600"],
                        unique=True, builds=2)
        yield f
    finally:
        stop_hello(locals().get("f"), data)


def test_df_lists_what_uses_the_disk_and_what_would_be_freed(d):
    df = d.ok("admin", "df")
    assert df["disk"]["free_bytes"] > 0 and df["disk"]["path"] == d.data
    img = df["images"]
    assert img["keep_per_environment"] == 1
    # two builds deployed in turn: the first one's image is neither active nor the last one
    assert img["count"] >= 2 and img["reclaimable_count"] >= 1, img
    assert df["registry"]["bytes"] > 0 and df["registry"]["schedule"] == "* * * * *"
    assert df["registry"]["next_gc"].endswith("Z")
    assert df["build_cache"]["bytes"] > 0
    assert df["store"]["bytes"] > 0
    logs = df["logs"]
    assert logs["build"]["logs"] == 2 and logs["build"]["bytes"] > 1024
    assert logs["build"]["reclaimable_logs"] == 1  # the newest is kept
    assert logs["max_bytes_per_kind"] == 1024
    assert df["reclaimable_bytes"] >= img["reclaimable_bytes"] + logs["build"]["reclaimable_bytes"]
    spec = Description(d.api("GET", "/api/v1/openapi.json").json())
    spec.check(d.api("GET", "/api/v1/admin/df"), "GET", "/api/v1/admin/df")
    human = d.cli("admin", "df")
    assert human.rc == 0 and "runtime images" in human.out and "reclaimable now" in human.out
    # admins only
    tok = d.ok("token", "create", "--role", "developer")["token"]
    r = d.cli("admin", "df", "--json", token=tok)
    assert r.rc != 0 and r.err_json["status"] == 403


def test_prune_removes_unneeded_images_and_old_logs_and_rollback_still_works(d):
    first, second = d.builds
    assert image_exists(d.data, first["image"]) and image_exists(d.data, second["image"])
    before = d.api("GET", "/api/v1/builds/%d/log" % first["id"]).json()
    assert len(before) > 0
    out = d.ok("admin", "prune")
    assert out["images_removed"] >= 1 and out["images_freed_bytes"] > 0, out
    assert out["logs_freed_bytes"] > 0
    assert not image_exists(d.data, first["image"])
    assert image_exists(d.data, second["image"])  # active
    wait_answer(d, "development", "hello from development")
    # the older build's log went, its record stayed; the newest log is whole
    assert d.api("GET", "/api/v1/builds/%d/log" % first["id"]).json() == []
    assert d.ok("build", "show", first["id"])["status"] == "succeeded"
    assert len(d.api("GET", "/api/v1/builds/%d/log" % second["id"]).json()) > 0
    df = d.ok("admin", "df")
    assert df["images"]["reclaimable_count"] == 0 and df["logs"]["build"]["reclaimable_logs"] == 0
    assert any(a["action"] == "disk.prune" for a in audit_actions(d))
    # a removed image is pulled again from the registry when needed
    dep = [x for x in d.ok("deployments", "demo/hello", "--env", "development")
           if x["build"] == first["id"]][0]
    r = d.cli("rollback", "demo/hello", "--env", "development", "--to", dep["id"], "--wait", timeout=300)
    assert r.rc == 0, r
    assert image_exists(d.data, first["image"])


def test_build_leftovers_are_swept(d):
    env = build_env(d.data)
    p = subprocess.run(["buildah", "from", "scratch"], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    ctr = p.stdout.strip()
    ws = os.path.join(d.data, "work", "build-99999")
    os.makedirs(os.path.join(ws, "src"))
    with open(os.path.join(ws, "src", "left"), "w") as f:
        f.write("x" * 4096)
    try:
        out = d.ok("admin", "prune")
        assert out["build_leftovers_removed"] >= 2, out
        assert not os.path.exists(ws)
        p = subprocess.run(["buildah", "inspect", ctr], env=env, capture_output=True)
        assert p.returncode != 0  # gone
    finally:
        subprocess.run(["buildah", "rm", ctr], env=env, capture_output=True)


def test_registry_is_garbage_collected_on_its_schedule(d):
    deadline = time.time() + 150
    while time.time() < deadline:
        gcs = [a for a in audit_actions(d) if a["action"] == "registry.gc"]
        if gcs:
            break
        time.sleep(2)
    assert gcs, "no scheduled registry GC in 150 s"
    assert gcs[0]["status"] == 200 and gcs[0]["result"].startswith("ok"), gcs[0]
    # on demand too; the registry serves again afterwards
    r = d.api("POST", "/api/v1/admin/prune", json={"registry_gc": True})
    Description(d.api("GET", "/api/v1/openapi.json").json()).check(r, "POST", "/api/v1/admin/prune")
    assert "registry_freed_bytes" in r.json()
    assert d.api("POST", "/api/v1/admin/prune", json={"registry_gc": "yes"}).status_code == 400
    r = d.cli("build", "demo/hello", "--wait", "--json", timeout=600)
    assert r.rc == 0, r


def test_bad_registry_gc_schedule_is_refused(tmp_path):
    p = subprocess.run([binary("ferryd"), "--data", str(tmp_path / "data"), "--registry-gc", "61 * * * *"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    assert "--registry-gc \"61 * * * *\"" in p.stderr and "minute" in p.stderr
    assert not os.path.exists(str(tmp_path / "data"))
