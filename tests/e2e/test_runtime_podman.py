"""End-to-end tests of the podman runtime driver (src/runtime/podman.c)
against REAL podman with runc, driven through tests/unit/runtime/runtime-tool.

Every test run uses its own ferry instance name (label ferry.instance) and
name prefix, so it only ever sees and removes what it created: containers by
the ids the driver lists for that instance, networks by their names, the
image by id, the tmpfs by its path.

Needs root (podman rootful, the tmpfs mount under DATA/run), podman, buildah,
/bin/busybox (busybox-static) and a build dir with runtime-tool and
ferry-init (FERRY_BUILD_DIR, default: build/ in this source tree). A missing
piece is a failure, never a skip.

    /usr/bin/python3 -m pytest tests/e2e/test_runtime_podman.py
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

from gitserve import remove_network

BUSYBOX = "/bin/busybox"
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""


def build_dir():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.environ.get("FERRY_BUILD_DIR", os.path.join(root, "build"))


def need_file(path, hint):
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s is missing: %s" % (path, hint))
    return path


class Env:
    """One test session's instance: a containers.conf, a data dir with the
    driver's tmpfs, a busybox image, and the runtime-tool invocations."""

    def __init__(self):
        for tool in ("podman", "buildah"):
            if shutil.which(tool) is None:
                raise RuntimeError("%s is not installed (scripts/install-deps)" % tool)
        need_file(BUSYBOX, "apt-get install busybox-static")
        b = build_dir()
        self.tool = need_file(os.path.join(b, "tests/unit/runtime/runtime-tool"),
                              "ninja -C %s tests/unit/runtime/runtime-tool" % b)
        self.init = need_file(os.path.join(b, "src/init/ferry-init"),
                              "ninja -C %s src/init/ferry-init" % b)
        self.work = tempfile.mkdtemp(prefix="ferry-rt-e2e-")
        self.data = os.path.join(self.work, "data")
        os.mkdir(self.data)
        conf = os.path.join(self.work, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=conf)
        self.instance = "rt" + secrets.token_hex(4)
        self.networks = set()
        self.images = []
        self.image = None
        self.user_image = None

    # -- tools ---------------------------------------------------------
    def sh(self, argv, check=True, timeout=120, **kw):
        p = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError("%s exited %d:\n%s%s" % (argv, p.returncode,
                                                         p.stdout, p.stderr))
        return p

    def rt(self, *args, check=True, timeout=120):
        argv = [self.tool, "--instance", self.instance, "--init", self.init,
                "--data", self.data] + list(args)
        return self.sh(argv, check=check, timeout=timeout)

    def rt_json(self, *args):
        return json.loads(self.rt(*args).stdout)

    def ensure_network(self, project, env):
        self.networks.add("%s-%s-%s" % (self.instance, project, env))
        self.rt("net-ensure", project, env)

    def start(self, project, env, component, deployment, args=None, replica=0,
              setenv=(), files=(), ports=(8080,), image=None, extra=(), check=True):
        argv = ["start", "--project", project, "--env", env, "--component",
                component, "--deployment", str(deployment), "--replica",
                str(replica), "--image", image or self.image]
        for p in ports:
            argv += ["--port", str(p)]
        for kv in setenv:
            argv += ["--setenv", kv]
        for path, content in files:
            argv += ["--file", "%s=%s" % (path, content)]
        for a in args or ():
            argv += ["--arg", a]
        argv += list(extra)
        p = self.rt(*argv, check=check)
        return json.loads(p.stdout) if p.returncode == 0 else p

    def exec(self, rid, *argv, timeout_ms=10000, check=True):
        return self.rt("exec", rid, str(timeout_ms), *argv, check=check)

    # -- fixtures --------------------------------------------------------
    def build_images(self):
        c = self.sh(["buildah", "from", "scratch"]).stdout.strip()
        try:
            mnt = self.sh(["buildah", "mount", c]).stdout.strip()
            for d in ("bin", "tmp", "etc", "home/app"):
                os.makedirs(os.path.join(mnt, d), exist_ok=True)
            os.chmod(os.path.join(mnt, "tmp"), 0o1777)
            shutil.copy2(BUSYBOX, os.path.join(mnt, "bin/busybox"))
            applets = self.sh([BUSYBOX, "--list"]).stdout.split()
            for a in applets:
                if a != "busybox":
                    os.symlink("busybox", os.path.join(mnt, "bin", a))
            with open(os.path.join(mnt, "etc/passwd"), "w") as f:
                f.write("root:x:0:0:root:/root:/bin/sh\n"
                        "app:x:1234:2345:app:/home/app:/bin/sh\n")
            with open(os.path.join(mnt, "etc/group"), "w") as f:
                f.write("root:x:0:\napp:x:2345:\n")
            self.sh(["buildah", "unmount", c])
            self.sh(["buildah", "config", "--env", "PATH=/bin", "--entrypoint", "[]",
                     "--cmd", '["sh","-c","echo $GREETING > /tmp/index.html; '
                     'exec httpd -f -p 8080 -h /tmp"]', c])
            iid = self.sh(["buildah", "commit", "-q", c]).stdout.strip()
            self.images.append(iid)
            self.image = iid
            self.sh(["buildah", "config", "--user", "app", c])
            iid = self.sh(["buildah", "commit", "-q", c]).stdout.strip()
            self.images.append(iid)
            self.user_image = iid
        finally:
            self.sh(["buildah", "rm", c], check=False)

    def cleanup(self):
        errors = []
        try:
            for r in self.rt_json("list"):
                p = self.rt("stop", r["id"], "0", check=False)
                if p.returncode:
                    errors.append(p.stderr)
        except Exception as ex:  # keep cleaning
            errors.append(str(ex))
        for net in self.networks:
            p = self.sh(["podman", "network", "exists", net], check=False)
            if p.returncode == 0:
                remove_network(net, self.env, force=False)
        for iid in reversed(self.images):
            self.sh(["podman", "rmi", "--force", iid], check=False)
        run = os.path.join(self.data, "run")
        if os.path.ismount(run):
            self.sh(["umount", run], check=False)
        shutil.rmtree(self.work, ignore_errors=True)
        return errors


@pytest.fixture(scope="module")
def env():
    e = Env()
    try:
        e.build_images()
        yield e
    finally:
        errors = e.cleanup()
    assert not errors, errors


def http_get(env, rid, host, port=8080):
    """Inside replica rid: an HTTP GET to host:port with busybox nc. Returns
    (exit status, output)."""
    p = env.exec(rid, "sh", "-c",
                 "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 %s %d" % (host, port),
                 check=False)
    return p.returncode, p.stdout


def container_ip(env, rid):
    out = env.sh(["podman", "inspect", "--format", "json", rid]).stdout
    nets = json.loads(out)[0]["NetworkSettings"]["Networks"]
    return next(iter(nets.values()))["IPAddress"]


def wait_for(pred, timeout=15.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def test_network_isolation_and_dns_by_component_name(env):
    env.ensure_network("shop", "dev")
    env.ensure_network("shop", "dev")  # idempotent
    env.ensure_network("shop", "prod")
    web_dev = env.start("shop", "dev", "web", 1, setenv=["GREETING=hello-from-dev"])
    web_prod = env.start("shop", "prod", "web", 1, setenv=["GREETING=hello-from-prod"])
    client = env.start("shop", "dev", "client", 1, args=["sleep", "300"], ports=())
    prod_ip = container_ip(env, web_prod["id"])
    dev_ip = container_ip(env, web_dev["id"])

    # same environment: the neighbour answers by its component name
    rc, out = wait_for(lambda: (lambda r: r if r[0] == 0 else None)(
        http_get(env, client["id"], "web")), what="web by name")
    assert "hello-from-dev" in out
    # and through the published port on the host's loopback
    port = web_prod["ports"][0]
    assert port["container_port"] == 8080 and port["host_port"] > 0
    assert "hello-from-prod" in env.sh(
        ["curl", "-s", "--max-time", "5",
         "http://127.0.0.1:%d/" % port["host_port"]]).stdout
    # another environment: no connection, by address either
    rc, out = http_get(env, client["id"], prod_ip)
    assert rc != 0 and "hello-from-prod" not in out
    # and not the other way round
    prod_client = env.start("shop", "prod", "client", 1, args=["sleep", "300"], ports=())
    rc, out = http_get(env, prod_client["id"], dev_ip)
    assert rc != 0 and "hello-from-dev" not in out
    rc, out = http_get(env, prod_client["id"], "web")
    assert rc == 0 and "hello-from-prod" in out

    # a network with replicas on it is not removed
    p = env.rt("net-remove", "shop", "prod", check=False)
    assert p.returncode == 1 and "stop them first" in p.stderr
    for r in (web_dev, web_prod, client, prod_client):
        env.rt("stop", r["id"], "0")
    env.rt("net-remove", "shop", "prod")
    env.rt("net-remove", "shop", "prod")  # idempotent
    assert env.sh(["podman", "network", "exists",
                   "%s-shop-prod" % env.instance], check=False).returncode == 1


def test_existing_network_without_isolation_is_refused(env):
    name = "%s-legacy-dev" % env.instance
    env.networks.add(name)
    env.sh(["podman", "network", "create", name])
    p = env.rt("net-ensure", "legacy", "dev", check=False)
    assert p.returncode == 1 and "isolate" in p.stderr, p.stderr
    env.sh(["podman", "network", "rm", name])
    env.ensure_network("legacy", "dev")
    info = json.loads(env.sh(["podman", "network", "inspect", "--format", "json",
                              name]).stdout)[0]
    assert info["options"]["isolate"] == "true" and info["dns_enabled"]
    assert info["labels"]["ferry.instance"] == env.instance
    env.rt("net-remove", "legacy", "dev")


def test_configuration_reaches_process_but_not_podman_or_disk(env):
    env.ensure_network("sec", "dev")
    canary = "canary-" + secrets.token_hex(12)
    file_canary = "filecanary-" + secrets.token_hex(12)
    multi = "line1\nline2=x"
    r = env.start("sec", "dev", "api", 3, args=["sleep", "300"], ports=(),
                  setenv=["SECRET_TOKEN=" + canary, "MULTI=" + multi],
                  files=[("/etc/app/secret.conf", file_canary)],
                  image=env.user_image)
    # the program (ferry-init's child, running as the image's user) has them
    out = env.exec(r["id"], "sh", "-c",
                   "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done").stdout
    assert "SECRET_TOKEN=" + canary in out
    assert "MULTI=line1\nline2=x" in out
    assert env.exec(r["id"], "cat", "/etc/app/secret.conf").stdout == file_canary
    assert env.exec(r["id"], "id", "-u").stdout.strip() == "1234"
    # mounted read-only
    assert env.exec(r["id"], "sh", "-c", "echo x > /etc/app/secret.conf",
                    check=False).returncode != 0
    # a process podman starts with the container's own config lacks them
    assert env.exec(r["id"], "sh", "-c", "echo ${SECRET_TOKEN:-unset}").stdout.strip() \
        == "unset"

    inspect = env.sh(["podman", "inspect", r["id"]]).stdout
    assert canary not in inspect and file_canary not in inspect
    grep = env.sh(["grep", "-rlF", "-e", canary, "-e", file_canary,
                   "/var/lib/containers"], check=False, timeout=300)
    assert grep.stdout == "", "canary found on disk: " + grep.stdout
    # 1: not found. 2 is an error: allowed only for files other podman users
    # removed while grep walked the tree (they cannot hold this canary).
    vanished = [l for l in grep.stderr.splitlines()
                if not l.endswith("No such file or directory")]
    assert grep.returncode == 1 or (grep.returncode == 2 and not vanished), grep.stderr

    # the configuration directory: on a tmpfs, private, owned by the user
    run_dir = env.rt("run-dir").stdout.strip()
    assert run_dir == os.path.join(env.data, "run")
    stat = env.sh(["stat", "-f", "-c", "%T", run_dir]).stdout.strip()
    assert stat in ("tmpfs", "ramfs"), stat
    cfg = os.path.join(run_dir, r["name"])
    st = os.stat(cfg)
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o700, 1234, 2345)
    st = os.stat(os.path.join(cfg, "env"))
    assert (st.st_mode & 0o7777, st.st_uid) == (0o400, 1234)

    env.rt("stop", r["id"], "0")
    assert not os.path.exists(cfg)
    assert env.sh(["podman", "container", "exists", r["id"]],
                  check=False).returncode == 1


def read_cgroup(env, rid, v1, v2):
    p = env.exec(rid, "sh", "-c", "cat %s 2>/dev/null || cat %s" % (v1, v2))
    return p.stdout.strip()


def test_memory_and_cpu_limits(env):
    env.ensure_network("lim", "dev")
    r = env.start("lim", "dev", "api", 1, args=["sleep", "300"], ports=(),
                  extra=["--memory", str(48 << 20), "--cpu", "250"])
    mem = read_cgroup(env, r["id"], "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                      "/sys/fs/cgroup/memory.max")
    assert mem == str(48 << 20)
    quota = read_cgroup(env, r["id"], "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
                        "/sys/fs/cgroup/cpu.max")
    assert quota.split()[0] == "25000"
    # the limit is enforced: allocating past it kills the process
    p = env.exec(r["id"], "sh", "-c",
                 "v=$(head -c 100000000 /dev/zero | tr '\\0' x); echo survived",
                 check=False, timeout_ms=60000)
    assert p.returncode != 0 and "survived" not in p.stdout
    # a small allocation is fine
    p = env.exec(r["id"], "sh", "-c",
                 "v=$(head -c 1000000 /dev/zero | tr '\\0' x); echo survived")
    assert "survived" in p.stdout
    env.rt("stop", r["id"], "0")


def test_stop_sends_sigterm_then_kills_after_grace(env):
    env.ensure_network("stp", "dev")
    polite = env.start("stp", "dev", "polite", 1, ports=(), args=[
        "sh", "-c", "trap 'echo got-sigterm; exit 0' TERM; "
        "while true; do sleep 0.1; done"])
    stubborn = env.start("stp", "dev", "stubborn", 1, ports=(), args=[
        "sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"])
    time.sleep(0.5)

    t = time.monotonic()
    env.rt("stop", polite["id"], "20")
    assert time.monotonic() - t < 8, "SIGTERM did not end a process that exits on it"

    t = time.monotonic()
    env.rt("stop", stubborn["id"], "3")
    took = time.monotonic() - t
    assert 3 <= took < 15, took
    for r in (polite, stubborn):
        assert env.sh(["podman", "container", "exists", r["id"]],
                      check=False).returncode == 1
    # stopping what is gone already is fine
    env.rt("stop", polite["id"], "1")
    env.rt("stop", polite["name"], "1")


def test_new_driver_instance_refinds_replicas_by_label(env):
    env.ensure_network("adopt", "dev")
    env.ensure_network("adopt", "prod")
    a = env.start("adopt", "dev", "web", 4, replica=0, setenv=["GREETING=a"])
    b = env.start("adopt", "dev", "web", 4, replica=1, setenv=["GREETING=b"])
    c = env.start("adopt", "prod", "web", 2, setenv=["GREETING=c"])
    # each runtime-tool run is a fresh driver: nothing is remembered in memory
    found = env.rt_json("list", "--project", "adopt")
    assert [r["name"] for r in found] == sorted([a["name"], b["name"], c["name"]])
    by_id = {r["id"]: r for r in found}
    for r in (a, b, c):
        f = by_id[r["id"]]
        assert f["state"] == "running"
        assert f["ports"] == r["ports"]
        for k in ("project", "environment", "component", "deployment", "replica"):
            assert f[k] == r[k]
    assert [r["replica"] for r in env.rt_json(
        "list", "--project", "adopt", "--env", "dev", "--deployment", "4")] == [0, 1]
    assert env.rt_json("list", "--project", "adopt", "--env", "prod")[0]["id"] == c["id"]
    # another ferry instance on the same host sees none of them
    other = [env.tool, "--instance", env.instance + "x", "--init", env.init,
             "--run-dir", os.path.join(env.data, "run"), "list"]
    assert json.loads(env.sh(other).stdout) == []
    # the same replica cannot be started twice
    p = env.start("adopt", "dev", "web", 4, replica=0, check=False)
    assert p.returncode == 1 and "already exists" in p.stderr
    for r in (a, b, c):
        env.rt("stop", r["id"], "0")
    assert env.rt_json("list", "--project", "adopt") == []


def test_task_runs_to_completion_with_logs_and_exit_code(env):
    env.ensure_network("job", "dev")
    r = env.start("job", "dev", "migrate", 9, ports=(), extra=["--task"],
                  setenv=["WHO=task"],
                  args=["sh", "-c", "echo out-$WHO; echo err-line >&2; exit 7"])
    assert env.rt("wait", r["id"], "30000").stdout.strip() == "7"
    info = env.rt_json("inspect", r["id"])
    assert (info["state"], info["exit_code"], info["task"], info["restarts"]) == \
        ("exited", 7, True, 0)
    logs = env.rt("logs", r["id"]).stdout.splitlines()
    assert "out-task" in logs and "err-line" in logs
    env.rt("stop", r["id"], "0")


def test_logs_follow_until_exit(env):
    env.ensure_network("job", "dev")
    r = env.start("job", "dev", "ticker", 1, ports=(), extra=["--task"],
                  args=["sh", "-c", "for i in 1 2 3; do echo tick-$i; sleep 0.3; done"])
    p = env.rt("logs", r["id"], "--follow", timeout=30)
    assert p.stdout.splitlines() == ["tick-1", "tick-2", "tick-3"]
    env.rt("stop", r["id"], "0")


def test_crashing_service_is_restarted_by_policy_then_left_exited(env):
    env.ensure_network("crash", "dev")
    r = env.start("crash", "dev", "bad", 1, ports=(), args=["sh", "-c", "exit 3"])
    info = wait_for(lambda: (lambda i: i if i["state"] == "exited" and
                             i["restarts"] >= 3 else None)(env.rt_json("inspect", r["id"])),
                    timeout=30, what="restarts to run out")
    assert info["exit_code"] == 3 and info["restarts"] == 3
    # the caller's own backoff then restarts it
    env.rt("restart", r["id"], "1")
    env.rt("stop", r["id"], "0")


def test_exec_probe_exit_codes(env):
    env.ensure_network("probe", "dev")
    r = env.start("probe", "dev", "web", 1, setenv=["GREETING=ok"])
    assert env.exec(r["id"], "true").returncode == 0
    assert env.exec(r["id"], "sh", "-c", "exit 5", check=False).returncode == 5
    assert env.exec(r["id"], "no-such-probe-binary", check=False).returncode in (126, 127)
    p = env.exec(r["id"], "sleep", "10", timeout_ms=500, check=False)
    assert p.returncode == 1 and "timeout" in p.stderr
    env.rt("stop", r["id"], "0")
    p = env.exec(r["id"], "true", check=False)
    assert p.returncode == 1


def test_start_refuses_missing_network_and_leaves_nothing(env):
    p = env.start("nonet", "dev", "web", 1, check=False)
    assert p.returncode == 1 and "ensure_network" in p.stderr
    env.ensure_network("nonet", "dev")
    p = env.start("nonet", "dev", "web", 1, image="localhost/ferry-no-such-image-%s"
                  % env.instance, check=False)
    assert p.returncode == 1 and "image" in p.stderr
    p = env.start("nonet", "dev", "web", 1, setenv=["BAD-KEY=v"], check=False)
    assert p.returncode == 1 and "BAD-KEY" in p.stderr
    assert env.rt_json("list", "--project", "nonet") == []
    run_dir = os.path.join(env.data, "run")
    assert not [d for d in os.listdir(run_dir) if "-nonet-" in d]
