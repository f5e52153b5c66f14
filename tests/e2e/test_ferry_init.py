"""ferry-init end to end: the static init as PID 1 of real podman (runc)
containers built from a throwaway busybox image, configured the way ferry's
podman driver configures them (docs/ferry-init.md).

Run: FERRY_BUILD_DIR=/work/main/build-init \
     /usr/bin/python3 -m pytest tests/e2e/test_ferry_init.py
Nothing here is skipped: a missing tool or binary is a failure."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

from init_image import (Podman, ferry_init_binary, require_tools,
                        write_env_file)

# The image's own entrypoint prints each argument in <> so that word
# boundaries show; the driver puts it after `/.ferry/init --`.
ARGS_ENTRYPOINT = ["/bin/sh", "-c", "for a; do printf '<%s>' \"$a\"; done; echo", "argv0"]
ARGS_CMD = ["from the image cmd"]


@pytest.fixture(scope="session")
def init_bin():
    try:
        require_tools("podman", "buildah", "runc", "file")
        return ferry_init_binary()
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def podman():
    workdir = tempfile.mkdtemp(prefix="ferry-init-e2e-")
    pm = Podman(workdir)
    yield pm
    errors = pm.cleanup()
    shutil.rmtree(workdir, ignore_errors=True)
    assert not errors, "cleanup failed: %s" % errors


@pytest.fixture(scope="session")
def image(podman, init_bin):
    import json
    try:
        return podman.build_busybox_image(
            entrypoint=json.dumps(ARGS_ENTRYPOINT), cmd=json.dumps(ARGS_CMD),
            env={"FROM_IMAGE": "image value", "OVERRIDDEN": "image value"})
    except RuntimeError as e:
        pytest.fail("building the busybox image: %s" % e)


def _fstype(path):
    """File system type of the mount holding path."""
    best, fstype = "", None
    with open("/proc/self/mounts") as f:
        for line in f:
            mnt, typ = line.split()[1], line.split()[2]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, fstype = mnt, typ
    return fstype


@pytest.fixture
def config_dir():
    """The deployment's configuration directory, on tmpfs as the driver
    keeps it."""
    d = tempfile.mkdtemp(prefix="ferry-init-config-", dir="/dev/shm")
    assert _fstype(d) == "tmpfs", "/dev/shm is not a tmpfs here"
    yield d
    shutil.rmtree(d, ignore_errors=True)


def sh(script):
    """A program for the container: busybox sh running script."""
    return ["/bin/sh", "-c", script]


# --- the binary itself ------------------------------------------------------

def test_binary_is_static(init_bin):
    out = subprocess.run(["file", "-L", init_bin], capture_output=True,
                         text=True, check=True).stdout
    assert "statically linked" in out, out


def test_version(init_bin):
    p = subprocess.run([init_bin, "--version"], capture_output=True, text=True)
    assert p.returncode == 0
    assert p.stdout.startswith("ferry-init "), p.stdout


def test_not_pid1_on_host(init_bin, config_dir):
    """Outside a container (not PID 1) it works the same, for tests."""
    write_env_file(config_dir, [("GREETING", "hello\nworld")])
    env = dict(os.environ, FERRY_CONFIG_DIR=config_dir)
    p = subprocess.run([init_bin, "--", "sh", "-c", 'printf "%s" "$GREETING"; exit 4'],
                       env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 4, p.stderr
    assert p.stdout == "hello\nworld"


def test_usage_errors_on_host(init_bin, config_dir):
    write_env_file(config_dir, [])
    env = dict(os.environ, FERRY_CONFIG_DIR=config_dir)
    p = subprocess.run([init_bin, "--"], env=env, capture_output=True, text=True)
    assert p.returncode == 125
    assert "no program to run" in p.stderr
    p = subprocess.run([init_bin, "--bogus", "true"], env=env, capture_output=True,
                       text=True)
    assert p.returncode == 125
    assert "unknown option --bogus" in p.stderr
    env["FERRY_CONFIG_DIR"] = os.path.join(config_dir, "missing")
    p = subprocess.run([init_bin, "--", "true"], env=env, capture_output=True,
                       text=True)
    assert p.returncode == 125
    assert "configuration directory" in p.stderr and "missing" in p.stderr


# --- in real containers -----------------------------------------------------

def test_runs_as_pid1(podman, image, init_bin, config_dir):
    write_env_file(config_dir, [])
    p, _ = podman.run(image, init_bin, config_dir,
                      sh('tr "\\0" " " < /proc/1/cmdline; echo; echo "me=$$"'))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0].startswith("/.ferry/init -- /bin/sh -c"), lines
    assert lines[1] != "me=1"


def test_env_values_reach_program(podman, image, init_bin, config_dir):
    records = [
        ("PLAIN", "simple"),
        ("MULTILINE", "line one\nline two\n"),
        ("WITH_EQUALS", "a=b==c="),
        ("EMPTY", ""),
        ("OVERRIDDEN", "from ferry"),
        ("PATH", "/opt/ferry-test:/bin"),
    ]
    write_env_file(config_dir, records)
    script = ('for v in PLAIN MULTILINE WITH_EQUALS EMPTY OVERRIDDEN FROM_IMAGE PATH; do '
              'eval "printf \'%s=[%s]\\n\' $v \\"\\$$v\\""; done')
    p, _ = podman.run(image, init_bin, config_dir, sh(script))
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == (
        "PLAIN=[simple]\n"
        "MULTILINE=[line one\nline two\n]\n"
        "WITH_EQUALS=[a=b==c=]\n"
        "EMPTY=[]\n"
        "OVERRIDDEN=[from ferry]\n"
        "FROM_IMAGE=[image value]\n"
        "PATH=[/opt/ferry-test:/bin]\n")


def test_path_lookup_uses_new_path(podman, image, init_bin, config_dir):
    """The program is looked up in the PATH from the env file. /bin/busybox
    can be found as "busybox" only through /bin; the image's PATH is /bin, so
    a PATH without /bin must make the lookup fail (127) and with it pass."""
    write_env_file(config_dir, [("PATH", "/nonexistent")])
    p, _ = podman.run(image, init_bin, config_dir, ["busybox", "true"])
    assert p.returncode == 127, p.stderr
    assert b"ferry-init: cannot run busybox" in p.stderr
    write_env_file(config_dir, [("PATH", "/nonexistent:/bin")])
    p, _ = podman.run(image, init_bin, config_dir, ["busybox", "true"])
    assert p.returncode == 0, p.stderr


def test_args_appended(podman, image, init_bin, config_dir):
    """The driver runs `/.ferry/init -- <entrypoint...> <cmd or args...>`."""
    write_env_file(config_dir, [])
    entrypoint, cmd = podman.image_config(image)
    assert entrypoint == ARGS_ENTRYPOINT and cmd == ARGS_CMD
    p, _ = podman.run(image, init_bin, config_dir, entrypoint + cmd)
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "<from the image cmd>\n"
    p, _ = podman.run(image, init_bin, config_dir,
                      entrypoint + ["run arg 1", "--flag=x", "", "*"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "<run arg 1><--flag=x><><*>\n"


def test_exit_status_propagates(podman, image, init_bin, config_dir):
    write_env_file(config_dir, [])
    p, cid = podman.run(image, init_bin, config_dir, sh("exit 3"))
    assert p.returncode == 3
    assert podman.inspect(cid, "{{.State.ExitCode}}") == "3"
    p, _ = podman.run(image, init_bin, config_dir, sh("kill -KILL $$"))
    assert p.returncode == 128 + 9
    p, _ = podman.run(image, init_bin, config_dir, ["/no/such/program"])
    assert p.returncode == 127
    assert b"ferry-init: cannot run /no/such/program: No such file or directory" in p.stderr
    p, _ = podman.run(image, init_bin, config_dir, ["/etc/passwd"])
    assert p.returncode == 126
    assert b"Permission denied" in p.stderr


def _wait_for_log(podman, cid, needle, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out, _ = podman.logs(cid)
        if needle in out:
            return out
        time.sleep(0.1)
    raise AssertionError("%r never appeared in the logs of %s" % (needle, cid))


# 37 is SIGRTMIN+3, the STOPSIGNAL of systemd-based images.
@pytest.mark.parametrize("sig", ["TERM", "INT", "HUP", "QUIT", "USR1", "USR2",
                                 "WINCH", "PWR", "37"])
def test_signals_forwarded(podman, image, init_bin, config_dir, sig):
    """`podman kill -s SIG` reaches PID 1, which must pass it to the child;
    without forwarding PID 1 ignores it and the container keeps running."""
    write_env_file(config_dir, [])
    script = ("trap 'echo got-%s; exit 7' %s; echo ready; "
              "while :; do sleep 1 & wait $!; done") % (sig, sig)
    p, cid = podman.run(image, init_bin, config_dir, sh(script), detach=True)
    assert p.returncode == 0, p.stderr
    _wait_for_log(podman, cid, "ready")
    podman.run_tool(["podman", "kill", "-s", sig, cid])
    p = podman.run_tool(["podman", "wait", cid], timeout=30)
    assert p.stdout.decode().strip() == "7"
    out, _ = podman.logs(cid)
    assert "got-%s" % sig in out


def test_podman_stop_is_prompt(podman, image, init_bin, config_dir):
    """podman stop sends SIGTERM to PID 1 and SIGKILLs after the timeout
    (30 s here). The child's trap must run, and the container end at once."""
    write_env_file(config_dir, [])
    script = ("trap 'echo got-TERM; exit 0' TERM; echo ready; "
              "while :; do sleep 1 & wait $!; done")
    p, cid = podman.run(image, init_bin, config_dir, sh(script), detach=True)
    assert p.returncode == 0, p.stderr
    _wait_for_log(podman, cid, "ready")
    t0 = time.monotonic()
    podman.run_tool(["podman", "stop", "-t", "30", cid], timeout=60)
    elapsed = time.monotonic() - t0
    assert elapsed < 10, "podman stop took %.1fs: SIGTERM was not forwarded" % elapsed
    assert podman.inspect(cid, "{{.State.ExitCode}}") == "0"
    out, _ = podman.logs(cid)
    assert "got-TERM" in out


def test_default_sigterm_kills_child(podman, image, init_bin, config_dir):
    """A program with no SIGTERM handler dies of it: exit 143."""
    write_env_file(config_dir, [])
    p, cid = podman.run(image, init_bin, config_dir,
                        sh("echo ready; exec sleep 1000"), detach=True)
    assert p.returncode == 0, p.stderr
    _wait_for_log(podman, cid, "ready")
    t0 = time.monotonic()
    podman.run_tool(["podman", "stop", "-t", "30", cid], timeout=60)
    assert time.monotonic() - t0 < 10
    assert podman.inspect(cid, "{{.State.ExitCode}}") == str(128 + 15)


def test_zombies_reaped(podman, image, init_bin, config_dir):
    """Subshells orphan their children, which the kernel re-parents to
    PID 1; once they exit, only PID 1 can reap them. The script lists every
    process's state after the orphans are gone: none may be a zombie."""
    write_env_file(config_dir, [])
    script = ("for i in 1 2 3 4 5 6 7 8; do (sleep 0.2 &); done; "
              "sleep 0.1; echo orphans; cat /proc/[0-9]*/stat; "
              "sleep 1.5; echo after; cat /proc/[0-9]*/stat; exit 0")
    p, _ = podman.run(image, init_bin, config_dir, sh(script))
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    before, after = out.split("after\n")

    def procs(text):
        res = []
        for line in text.splitlines():
            if ") " not in line:
                continue
            pid = int(line.split(" ", 1)[0])
            state, ppid = line.rsplit(") ", 1)[1].split()[:2]
            res.append((pid, int(ppid), state))
        return res

    # The orphans really were children of PID 1 (ferry-init).
    orphans = [p_ for p_ in procs(before) if p_[1] == 1 and p_[0] != 2]
    assert len(orphans) >= 8, before
    zombies = [p_ for p_ in procs(after) if p_[2] == "Z"]
    assert zombies == [], after


def test_malformed_env_file(podman, image, init_bin, config_dir):
    canary = "CANARY-secret-7d41"
    cases = [
        (b"GOOD=1\0BAD-KEY=" + canary.encode() + b"\0", "invalid key"),
        (b"GOOD=1\0NOEQUALS" + canary.encode() + b"\0", "has no '='"),
        (b"GOOD=" + canary.encode(), "no terminating NUL"),
        (b"A=1\0A=" + canary.encode() + b"\0", "key A is defined more than once"),
    ]
    for raw, message in cases:
        write_env_file(config_dir, None, raw=raw)
        p, _ = podman.run(image, init_bin, config_dir, sh("echo program-ran"))
        err = p.stderr.decode(errors="replace")
        assert p.returncode == 125, (raw, err)
        assert "ferry-init: /.ferry/config/env: " in err and message in err, err
        assert b"program-ran" not in p.stdout
        assert canary not in err and canary not in p.stdout.decode()


def test_missing_env_file(podman, image, init_bin, config_dir):
    p, _ = podman.run(image, init_bin, config_dir, sh("echo program-ran"))
    assert p.returncode == 125
    assert b"/.ferry/config/env: No such file or directory" in p.stderr
    assert b"program-ran" not in p.stdout


def test_non_root_user(podman, image, init_bin, config_dir):
    """A container running as another user reads the env file when the
    driver gives it to that user (docs/ferry-init.md)."""
    path = write_env_file(config_dir, [("WHO", "nobody's value")])
    os.chown(path, 65534, 65534)
    os.chown(config_dir, 65534, 65534)
    os.chmod(config_dir, 0o500)
    p, _ = podman.run(image, init_bin, config_dir,
                      sh('echo "$(id -u) $WHO"'), extra=["--user", "65534:65534"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.decode() == "65534 nobody's value\n"


def test_large_values(podman, image, init_bin, config_dir):
    """A value of 100 KiB reaches the program whole; one beyond the kernel's
    per-variable limit (128 KiB) is refused with advice, not passed to an
    exec that would fail with a puzzling E2BIG."""
    big = "".join(chr(ord("a") + i % 26) for i in range(100 * 1024))
    write_env_file(config_dir, [("BIG", big), ("SMALL", "x")])
    p, _ = podman.run(image, init_bin, config_dir,
                      sh('echo "${#BIG} $SMALL ${BIG%%bcd*} ${BIG##*wxyz}"'))
    assert p.returncode == 0, p.stderr
    tail = big[big.rindex("wxyz") + 4:]
    assert p.stdout.decode() == "%d x a %s\n" % (len(big), tail)

    write_env_file(config_dir, [("HUGE", "v" * (128 * 1024))])
    p, _ = podman.run(image, init_bin, config_dir, sh("echo program-ran"))
    assert p.returncode == 125
    assert b"HUGE, is 131078 bytes" in p.stderr and b"file mount" in p.stderr
    assert b"vvvv" not in p.stderr
