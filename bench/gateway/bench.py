#!/usr/bin/python3
"""Gateway throughput over direct-to-backend throughput, with wrk.

The backend stands in for a container answering a small response at once:
a second HAProxy with `http-request return` (fast enough that the
gateway, not the backend, is what is measured). The gateway is started
through the real gateway API (tests/unit/gateway/gwctl). Prints requests/s
direct, through the gateway by Host and by path, the ratios (issue 5 goal:
>= 0.7), and non-2xx / socket errors (must be 0).

Usage: bench/gateway/bench.py [--duration 5] [--connections 32] [--threads 2]
(FERRY_BUILD_DIR selects the build dir; default build/, else build-gateway/.)
Every process started here is stopped by its pid.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BACKEND_CFG = """global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend be
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain string "hello from the backend\\n"
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit("nothing listens on %d" % port)


def gwctl():
    for d in [os.environ.get("FERRY_BUILD_DIR"), os.path.join(ROOT, "build"),
              os.path.join(ROOT, "build-gateway")]:
        if d and os.access(os.path.join(d, "tests/unit/gateway/gwctl"), os.X_OK):
            return os.path.join(d, "tests/unit/gateway/gwctl")
    sys.exit("gwctl is not built (ninja -C build tests/unit/gateway/gwctl)")


def wrk(args, url, host=None):
    cmd = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections,
           "-d%ds" % args.duration, url]
    if host:
        cmd[1:1] = ["-H", "Host: " + host]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockerr = re.search(r"Socket errors: (.*)", out)
    return rps, int(non2xx.group(1)) if non2xx else 0, sockerr.group(1) if sockerr else "none"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ferry-gw-bench-")
    be_port, gw_port = free_port(), free_port()
    with open(os.path.join(tmp, "backend.cfg"), "w") as f:
        f.write(BACKEND_CFG % be_port)
    backend = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", os.path.join(tmp, "backend.cfg")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gw = subprocess.Popen([gwctl()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    hap_pid = None

    def cmd(line):
        gw.stdin.write(line + "\n")
        gw.stdin.flush()
        ans = gw.stdout.readline().strip()
        if not ans.startswith("ok"):
            raise SystemExit("%s -> %s" % (line, ans))

    try:
        wait_port(be_port)
        cmd("start %s/data 127.0.0.1:%d" % (tmp, gw_port))
        with open("%s/data/gateway/haproxy.pid" % tmp) as f:
            hap_pid = int(f.read())
        cmd("route bench web.shop.dev.localhost /shop/dev/web /")
        cmd("add bench r0 127.0.0.1:%d" % be_port)
        cmd("state bench r0 ready")

        direct = wrk(args, "http://127.0.0.1:%d/" % be_port)
        by_host = wrk(args, "http://127.0.0.1:%d/" % gw_port, "web.shop.dev.localhost")
        by_path = wrk(args, "http://127.0.0.1:%d/shop/dev/web/" % gw_port)
        print("wrk -t%d -c%d -d%ds, small response" % (args.threads, args.connections, args.duration))
        print("direct_rps=%.0f" % direct[0])
        print("gateway_host_rps=%.0f ratio=%.2f non2xx=%d socket_errors=%s"
              % (by_host[0], by_host[0] / direct[0], by_host[1], by_host[2]))
        print("gateway_path_rps=%.0f ratio=%.2f non2xx=%d socket_errors=%s"
              % (by_path[0], by_path[0] / direct[0], by_path[1], by_path[2]))
        print("goal: ratio >= 0.70 -> %s" % ("met" if by_host[0] / direct[0] >= 0.7 else "NOT met"))
    finally:
        if gw.poll() is None:
            gw.stdin.write("stop\n")
            gw.stdin.close()
            gw.wait(timeout=15)
        if hap_pid:
            try:
                os.killpg(hap_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        backend.terminate()
        backend.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
