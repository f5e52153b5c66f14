#!/usr/bin/python3
"""Cost of the gateway metrics on gateway throughput, with wrk: two
gateways in the same run, through the real gateway API (gwctl), in front of
the same fast backend (a second HAProxy with `http-request return`): one
without the per-request feed (ferryd --no-gateway-metrics), one with it
(HAProxy logs each request to a datagram socket, core/traffic.c counts it
in its deployment's buckets). Runs are alternated (without, with, with, without, ...) so
drift hits both alike. Prints requests/s of each, the ratio with/without,
and how many requests the metrics counted against what wrk sent.

Usage: bench/gateway/metrics_overhead.py [--duration 5] [--rounds 3]
       [--connections 32] [--threads 2]
Every process started here is stopped by its pid.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BACKEND_CFG, free_port, gwctl, wait_port  # noqa: E402


class Gateway:
    def __init__(self, tmp, name, metrics):
        self.port = free_port()
        self.proc = subprocess.Popen([gwctl()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hap_pid = None
        if metrics:
            self.cmd("traffic")
        self.cmd("start %s/%s 127.0.0.1:%d" % (tmp, name, self.port))
        with open("%s/%s/gateway/haproxy.pid" % (tmp, name)) as f:
            self.hap_pid = int(f.read())

    def cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        ans = self.proc.stdout.readline().strip()
        if not ans.startswith("ok"):
            raise SystemExit("%s -> %s" % (line, ans))
        return ans

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
        if self.hap_pid:
            try:
                os.killpg(self.hap_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wrk(args, port):
    cmd = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections, "-d%ds" % args.duration,
           "-H", "Host: web.shop.dev.localhost", "http://127.0.0.1:%d/" % port]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, total, int(non2xx.group(1)) if non2xx else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ferry-gwm-bench-")
    be_port = free_port()
    with open(os.path.join(tmp, "backend.cfg"), "w") as f:
        f.write(BACKEND_CFG % be_port)
    backend = subprocess.Popen(["/usr/sbin/haproxy", "-db", "-f", os.path.join(tmp, "backend.cfg")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gws = []
    try:
        wait_port(be_port)
        off = Gateway(tmp, "off", False)
        gws.append(off)
        on = Gateway(tmp, "on", True)
        gws.append(on)
        for g in gws:
            g.cmd("route bench web.shop.dev.localhost - /")
            g.cmd("add bench d1-r0 127.0.0.1:%d" % be_port)
            g.cmd("state bench d1-r0 ready")
        res = {"off": [], "on": []}
        sent_on = 0
        for r in range(args.rounds):
            # ABBA order: neither side always runs first
            order = (("off", off), ("on", on)) if r % 2 == 0 else (("on", on), ("off", off))
            for name, g in order:
                rps, total, non2xx = wrk(args, g.port)
                if non2xx:
                    raise SystemExit("%s: %d answers were not 2xx" % (name, non2xx))
                res[name].append(rps)
                if name == "on":
                    sent_on += total
        counted = int(on.cmd("samples 1").split()[1])
        mean = {k: sum(v) / len(v) for k, v in res.items()}
        print("wrk -t%d -c%d -d%ds x %d rounds, small response, alternated"
              % (args.threads, args.connections, args.duration, args.rounds))
        print("without_metrics_rps=%.0f (%s)" % (mean["off"], " ".join("%.0f" % x for x in res["off"])))
        print("with_metrics_rps=%.0f (%s)" % (mean["on"], " ".join("%.0f" % x for x in res["on"])))
        print("ratio_with_over_without=%.3f" % (mean["on"] / mean["off"]))
        print("requests_sent_with_metrics=%d counted=%d (%.1f%%; a full socket drops samples, never requests)"
              % (sent_on, counted, 100.0 * counted / sent_on if sent_on else 0))
    finally:
        for g in gws:
            g.close()
        backend.terminate()
        backend.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
