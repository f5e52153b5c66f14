"""Hostile repositories: each Dockerfile below tries to harm the machine from a
RUN step, and each test checks from outside the build that nothing happened:
the build failed or was contained with a message naming why, and the machine
and ferryd are unaffected (docs/security.md). Real ferryd, buildah, runc,
slirp4netns and registry; the repositories are file:// ones (admin token)."""

import os
import subprocess
import time

import pytest

from ferry import Ferryd
from gitserve import Repo, remove_local_images

LIMITS = ["--build-memory", "128M", "--build-pids", "64", "--build-disk", "64M",
          "--build-timeout", "20"]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    d = Ferryd(str(root / "data"), extra=LIMITS).start()
    d.ok("project", "create", "evil")
    try:
        yield d, str(root)
    finally:
        d.stop()
        remove_local_images(d.data)
        assert d.proc.returncode == 0, d.log()[-4000:]


_n = [0]


def build(env, run_lines, ok=None):
    """Commits a Dockerfile with run_lines as RUN steps and builds it; returns
    (build, image step log)."""
    d, root = env
    _n[0] += 1
    name = "h%d" % _n[0]
    repo = Repo(root, name=name)
    text = "FROM ferry/busybox\n" + "".join("RUN %s\n" % l for l in run_lines) + "USER 65534\n"
    repo.commit({"Dockerfile": text})
    d.ok("component", "create", "evil/" + name, "--repo", repo.file_url)
    r = d.cli("build", "evil/" + name, "--wait", "--json", timeout=300)
    if ok is not None:
        assert (r.rc == 0) == ok, r
    [b] = d.ok("builds", "evil/" + name)
    log = "\n".join(l["text"] for l in d.ok("logs", "build", b["id"]) if l["step"] == "image")
    return b, log


def output(log):
    """What the RUN steps printed: the log without buildah's STEP lines, which
    repeat the commands (and so the markers they would print)."""
    return "\n".join(l for l in log.splitlines() if not l.startswith("STEP "))


def assert_ferryd_fine(d):
    assert d.proc.poll() is None, "ferryd died"
    assert d.api("GET", "/api/v1/projects").status_code == 200


def test_run_is_root_only_inside_its_user_namespace(env):
    b, log = build(env, ["cat /proc/self/uid_map /proc/self/gid_map; id"], ok=True)
    assert "sandbox: RUN steps as an unprivileged user" in log
    maps = [l.split() for l in log.splitlines() if l.split()[:1] == ["0"] and len(l.split()) == 3]
    assert len(maps) == 2, log
    for inside, outside, count in maps:
        assert int(outside) > 0 and int(count) == 65536  # uid 0 is not host root
    assert "uid=0(root)" in log


def test_run_cannot_see_or_signal_host_processes(env):
    d = env[0]
    victim = subprocess.Popen(["sleep", "300"])
    try:
        b, log = build(env, ["ps -o pid,comm; kill -9 %d; kill -9 %d; kill -9 -1; echo signalled"
                             % (victim.pid, d.proc.pid)])
        time.sleep(0.5)
        assert victim.poll() is None, "the test's process was killed from a build"
        assert_ferryd_fine(d)
        assert "ferryd" not in output(log) and "sleep" not in output(log)  # own PID namespace
        assert "can't kill pid %d" % victim.pid in log
    finally:
        victim.kill()
        victim.wait()


def test_run_cannot_reach_ferryd_or_the_registry_on_loopback(env):
    d = env[0]
    with open(os.path.join(d.data, "registry", "port")) as f:
        reg = int(f.read().strip())
    probes = []
    for host in ("127.0.0.1", "10.0.2.2"):  # 10.0.2.2: slirp4netns's gateway to the host
        for port in (d.port, reg):
            probes.append("nc -w 3 %s %d </dev/null && echo REACHED-%s-%d || echo refused-%s-%d"
                          % (host, port, host, port, host, port))
    b, log = build(env, ["cat /proc/net/dev"] + probes, ok=True)
    assert "REACHED" not in output(log), log
    for host in ("127.0.0.1", "10.0.2.2"):
        for port in (d.port, reg):
            assert "refused-%s-%d" % (host, port) in log
    assert "tap0" in log  # the user-mode network is there (egress is on by default)
    assert_ferryd_fine(d)


def test_run_cannot_create_a_device_node_and_read_it(env):
    b, log = build(env, ["mknod /tmp/vda b 253 0 && head -c 64 /tmp/vda | od | head -1 && "
                         "echo READ-DISK; mknod /tmp/mem c 1 1 && head -c 16 /tmp/mem && "
                         "echo READ-MEM; ls -l /dev"])
    assert "READ-DISK" not in output(log) and "READ-MEM" not in output(log), log
    assert "Operation not permitted" in log


def test_run_cannot_read_the_data_dir(env):
    d = env[0]
    with open(os.path.join(d.data, "admin.token")) as f:
        token = f.read().strip()
    data = os.path.abspath(d.data)
    b, log = build(env, ["cat %s/admin.token %s/master.key; ls %s; cat /proc/1/root%s/admin.token; "
                         "echo tried" % (data, data, data, data)])
    assert token not in log
    assert "No such file or directory" in log


def test_fork_bomb_is_stopped_at_the_process_limit(env):
    d = env[0]
    b, log = build(env, ["i=0; while [ $i -lt 5000 ]; do sleep 60 & i=$((i+1)); done; wait"],
                   ok=False)
    assert b["error"].startswith("image: the build reached its process limit of 64 "
                                 "(ferryd --build-pids)"), b["error"]
    assert_ferryd_fine(d)


def test_memory_hog_is_stopped_at_the_memory_limit(env):
    d = env[0]
    b, log = build(env, ["dd if=/dev/zero of=/dev/null bs=400M count=1"], ok=False)
    assert b["error"].startswith("image: the build ran out of memory: its memory limit of "
                                 "128 MiB (ferryd --build-memory)"), b["error"]
    assert_ferryd_fine(d)


def test_one_big_file_is_stopped_at_the_disk_limit(env):
    b, log = build(env, ["dd if=/dev/zero of=/fill bs=1M count=100000"], ok=False)
    assert b["error"] == ("image: the build wrote a file larger than its disk limit of 64 MiB "
                          "(ferryd --build-disk)"), b["error"]


def test_many_files_are_stopped_at_the_disk_limit(env):
    # 1 MiB a file, slowly enough for the once-a-second watch to catch it early
    b, log = build(env, ["i=0; while [ $i -lt 100000 ]; do dd if=/dev/zero of=/f$i bs=1M count=1 "
                         "2>/dev/null; i=$((i+1)); done"], ok=False)
    assert b["error"] == ("image: the build wrote more than its disk limit of 64 MiB "
                          "(ferryd --build-disk); it was stopped"), b["error"]


def test_run_forever_is_stopped_and_leaves_nothing_running(env):
    d = env[0]
    b, log = build(env, ["sleep 100000 & sleep 100000"], ok=False)
    assert b["error"] == "image: the build took longer than its timeout of 20 s"
    key = "p%d-b%d" % (d.proc.pid, b["id"])
    for ctl in ("pids", "memory", "cpu"):
        assert not os.path.exists("/sys/fs/cgroup/%s/ferry-build/%s" % (ctl, key)) and \
            not os.path.exists("/sys/fs/cgroup/ferry-build/%s" % key)
    assert_ferryd_fine(d)


def test_server_switch_turns_build_network_off(tmp_path):
    d = Ferryd(str(tmp_path / "data"), extra=["--build-network", "none"]).start()
    try:
        d.ok("project", "create", "p")
        repo = Repo(str(tmp_path), name="net")
        repo.commit({"Dockerfile": "FROM ferry/busybox\nRUN cat /proc/net/dev\nUSER 65534\n"})
        d.ok("component", "create", "p/net", "--repo", repo.file_url)
        r = d.cli("build", "p/net", "--wait", "--json", timeout=300)
        assert r.rc == 0, r
        [b] = d.ok("builds", "p/net")
        log = "\n".join(l["text"] for l in d.ok("logs", "build", b["id"]))
        assert "network none (the server allows no build network)" in log
        assert "lo:" in log and "tap0" not in log
    finally:
        d.stop()
        remove_local_images(d.data)
