"""ferryd's wiring: its subsystems start in the order of its table and stop
in reverse, on SIGTERM and when one of them cannot start (then ferryd exits
1 naming it, and what had started, the registry among them, is stopped)."""

import os
import re
import signal
import socket
import subprocess
import time

from ferry import Ferryd, binary, free_port

ORDER = ["store", "vault", "core", "traffic", "notify", "scan", "builds", "supervisor",
         "rollout", "jobs", "tasks", "parts", "housekeeping", "webhooks", "api"]
# the ones with something to stop
STOPS = [n for n in ORDER if n not in ("core", "builds")]


def events(log, what):
    return re.findall(r"event=subsystem_%s name=(\S+)" % what, log)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose
    with open("/proc/%d/stat" % pid) as f:
        return f.read().split(") ")[-1][0] != "Z"


def registry_pid(data):
    try:
        with open(os.path.join(data, "registry", "ferryd.pid")) as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None


def test_subsystems_start_in_order_and_stop_in_reverse_on_sigterm(tmp_path):
    d = Ferryd(str(tmp_path / "data"), extra=["--log-level", "debug"]).start()
    try:
        deadline = time.time() + 60
        while registry_pid(d.data) is None and time.time() < deadline:
            time.sleep(0.2)
        reg = registry_pid(d.data)
        assert reg and alive(reg)
    finally:
        rc = d.stop()
    log = d.log()
    assert rc == 0, log[-3000:]
    assert events(log, "start") == ORDER
    assert events(log, "stop") == list(reversed(STOPS))
    assert "event=stopped" in log
    # the supervisor stopped the registry it ran
    deadline = time.time() + 10
    while alive(reg) and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(reg)


def test_a_subsystem_that_cannot_start_stops_those_before_it(tmp_path):
    # the API's port is taken: every other subsystem started, the last fails
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    data = str(tmp_path / "data")
    log_path = str(tmp_path / "ferryd.log")
    try:
        with open(log_path, "wb") as log:
            p = subprocess.Popen([binary("ferryd"), "--data", data, "--listen", "127.0.0.1:%d" % port,
                                  "--gateway-listen", "127.0.0.1:%d" % free_port(),
                                  "--log-level", "debug"],
                                 stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            rc = p.wait(120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
    finally:
        taken.close()
    with open(log_path, errors="replace") as f:
        log = f.read()
    assert rc == 1, log[-3000:]
    assert re.search(r"event=start_failed subsystem=api err=\"[^\"]*%d" % port, log), log[-3000:]
    assert events(log, "start") == ORDER
    assert events(log, "stop") == list(reversed(STOPS[:-1]))
    assert "event=ready" not in log
    reg = registry_pid(data)
    if reg:  # it had come up before the API failed: stopped with ferryd
        assert not alive(reg)


def test_a_failure_early_stops_only_what_started(tmp_path):
    # the scan subsystem refuses a scanner that is not installed
    data = str(tmp_path / "data")
    p = subprocess.run([binary("ferryd"), "--data", data, "--listen", "127.0.0.1:%d" % free_port(),
                        "--scanner", "grype", "--log-level", "debug"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PATH="/nonexistent"))
    log = p.stdout + p.stderr
    assert p.returncode == 1, log[-3000:]
    assert "event=start_failed subsystem=scan" in log and "grype is not installed" in log, log
    assert events(log, "start") == ORDER[:ORDER.index("scan") + 1]
    assert events(log, "stop") == ["notify", "traffic", "vault", "store"]
    assert registry_pid(data) is None
