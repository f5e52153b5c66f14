"""The store's disk full: a data dir on a small tmpfs this test mounts (and
unmounts), filled up during a build and during a configuration change.
Clear errors, nothing corrupted, everything works again once space is
freed."""

import errno
import os
import sqlite3
import subprocess
import time

import pytest

from ferry import Ferryd, unmount_tree
from gitserve import Repo
from hello_app import stop_hello
from test_faults import BIG, wait_for


# BIG with dd's complaint left in the build log, as a user's RUN would
# leave it: the build's error is expected to name the full disk
BIG_LOUD = BIG.replace(" 2>/dev/null", "")


def fill(path):
    """Writes path until the file system is full (unbuffered: every byte
    that fits is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            chunk = b"\0" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as ex:
                assert ex.errno == errno.ENOSPC, ex
    finally:
        os.close(fd)


def small_ferryd(tmp_path, extra):
    """A ferryd whose data dir is on a 400 MiB tmpfs mounted for it."""
    mnt = str(tmp_path / "small")
    os.makedirs(mnt)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m,mode=0700", "tmpfs", mnt], check=True)
    data = os.path.join(mnt, "data")
    d = None
    try:
        d = Ferryd(data, extra=extra)
        d.log_path = str(tmp_path / "ferryd.log")  # not on the disk that fills up
        d.mnt = mnt
        d.start()
        yield d
    finally:
        stop_hello(d, data)
        unmount_tree(mnt)


@pytest.fixture
def small(tmp_path):
    yield from small_ferryd(tmp_path, ["--min-free-space", "0", "--build-timeout", "90"])


@pytest.fixture
def small_no_limit(tmp_path):
    # the default build time limit (30 min): only the watchdog can end a stuck build soon
    yield from small_ferryd(tmp_path, ["--min-free-space", "0"])


def integrity(data):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "ferry.db"), uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def test_disk_full_during_a_build_and_a_config_change(small, tmp_path):
    d = small
    d.ok("project", "create", "shop")
    repo = Repo(str(tmp_path), name="big")
    repo.commit({"Dockerfile": BIG_LOUD}, message="big")
    d.ok("component", "create", "shop/big", "--repo", repo.file_url, "--type", "manual-task")
    d.ok("config", "set", "shop/big", "A=1")
    filler = os.path.join(d.mnt, "filler")
    # the base image is made at start: let that finish on a disk with room
    wait_for("the base image", lambda: "event=baseimage_ready" in d.log(), timeout=120)

    # a build, with the disk filled while it runs
    b = d.ok("build", "shop/big")
    wait_for("the image step", lambda: {s["name"]: s["status"] for s in d.ok("build", "show", b["id"])["steps"]}
             .get("image") in ("running", "succeeded", "failed"), timeout=300, step=0.1)
    fill(filler)
    done = wait_for("the build to end", lambda: (lambda x: x if x["status"] not in ("queued", "running") else None)(
        d.ok("build", "show", b["id"])), timeout=300)
    assert done["status"] == "failed", done
    err = (done.get("error") or "").lower()
    assert "no space left" in err or "full" in err or "timeout" in err or "time limit" in err, done
    # recorded (the store's reserve is given up if the failure needs it); the
    # disk stays nearly full: the filler stays, the failed build's clean-up
    # frees only what the build wrote (its 64 MiB layer, its workspace)
    disk = d.api("GET", "/healthz?verbose=1").json()["parts"]["disk"]
    assert disk["free_bytes"] < (160 << 20), disk

    # a configuration change on the full disk: stored, or refused clearly
    r = d.cli("config", "set", "shop/big", "A=2", "--json")
    if r.rc != 0:
        assert r.err_json["status"] == 507, r
        assert "full" in r.err_json["error"], r
    changed = r.rc == 0
    assert d.api("GET", "/healthz", token=None).status_code == 200

    # space freed: nothing corrupted, everything works again
    os.unlink(filler)
    wait_for("the reserve back", lambda: d.api("GET", "/healthz?verbose=1").json()["parts"]["disk"]["store_reserve"],
             timeout=30)
    assert d.api("GET", "/healthz", token=None).json()["disk"] == "ok"
    assert integrity(d.data) == "ok"
    vals = {c["key"]: c.get("value") for c in d.ok("config", "list", "shop/big")}
    assert vals["A"] == ("2" if changed else "1")
    d.ok("config", "set", "shop/big", "A=3")
    assert {c["key"]: c.get("value") for c in d.ok("config", "list", "shop/big")}["A"] == "3"
    r = d.cli("build", "shop/big", "--wait", "--json", timeout=600)
    assert r.rc == 0, (r, subprocess.run(["du", "-sh"] + [os.path.join(d.data, x) for x in os.listdir(d.data)],
                                         capture_output=True, text=True).stdout,
                       subprocess.run(["df", "-h", d.mnt], capture_output=True, text=True).stdout)
    # a restart finds the same store
    d.stop()
    d.start()
    assert integrity(d.data) == "ok"
    assert d.ok("build", "show", b["id"])["status"] == "failed"
    assert {c["key"]: c.get("value") for c in d.ok("config", "list", "shop/big")}["A"] == "3"


# a build step that makes no progress (as buildah waiting on a full disk)
STUCK = 'FROM ferry/busybox\nRUN sleep 900\nUSER 65534\n'


def test_a_build_stuck_on_a_full_disk_ends_soon_naming_the_disk(small_no_limit, tmp_path):
    d = small_no_limit
    d.ok("project", "create", "shop")
    repo = Repo(str(tmp_path), name="stuck")
    repo.commit({"Dockerfile": STUCK}, message="stuck")
    d.ok("component", "create", "shop/stuck", "--repo", repo.file_url, "--type", "manual-task")
    wait_for("the base image", lambda: "event=baseimage_ready" in d.log(), timeout=120)
    b = d.ok("build", "shop/stuck")
    wait_for("the RUN step", lambda: any("sleep 900" in line["text"] for line in
                                         d.api("GET", "/api/v1/builds/%d/log" % b["id"]).json()),
             timeout=300, step=0.2)
    filler = os.path.join(d.mnt, "filler")
    fill(filler)
    filled = time.time()
    done = wait_for("the build to end", lambda: (lambda x: x if x["status"] not in ("queued", "running") else None)(
        d.ok("build", "show", b["id"])), timeout=180)
    took = time.time() - filled
    assert done["status"] == "failed", done
    err = done["error"]
    assert err.startswith("image: stopped: the file system of %s is full" % d.data), err
    assert "wrote nothing for" in err and "free space" in err, err
    assert "time limit" not in err
    # the watchdog's 20 s of a full disk and a silent tool, and the tool's stop
    assert 15 < took < 60, took
    assert "event=build_disk_stalled build=%d step=image" % b["id"] in d.log()
    image = [s for s in d.ok("build", "show", b["id"])["steps"] if s["name"] == "image"][0]
    assert image["status"] == "failed" and "is full" in (image.get("detail") or ""), image
    # space freed: the store has its reserve back, nothing corrupted
    os.unlink(filler)
    wait_for("the reserve back", lambda: d.api("GET", "/healthz?verbose=1").json()["parts"]["disk"]["store_reserve"],
             timeout=30)
    assert integrity(d.data) == "ok"
