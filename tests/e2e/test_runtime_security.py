"""Deployed containers are confined (docs/security.md, layer 5): every
capability the descriptor does not declare is dropped, no-new-privileges
and podman's default seccomp profile are on, the root file system is
read-only when the descriptor asks, and a service cannot reach the host's
loopback. Checked from inside real containers that ferryd deployed (real
buildah, registry, podman with runc, HAProxy), against listeners this test
starts on the host. Both images run as root inside, so that what holds is
the confinement, not the user."""

import os
import socket
import subprocess
import threading

import pytest

from ferry import deploying_ferryd
from gitserve import Repo, containers_env
from test_rollout import cleanup

CAP_NET_BIND_SERVICE = 10

HEALTHZ = "ok\n"


def service_files(port, security):
    desc = ("endpoints:\n  - name: web\n    port: %d\n    type: REST\n    basePath: /\n"
            "health:\n  readiness:\n    http: {path: /healthz, port: %d}\n    periodSeconds: 1\n"
            % (port, port)) + security
    return {
        # no USER: root inside the container, on purpose
        "Dockerfile": "FROM ferry/busybox\nCOPY www /www\nEXPOSE %d\n"
                      "ENTRYPOINT [\"httpd\", \"-f\", \"-p\", \"%d\", \"-h\", \"/www\"]\n" % (port, port),
        "www/healthz": HEALTHZ,
        ".ferry/component.yaml": desc,
    }


COMPONENTS = {
    # no security section: no capability at all, writable root
    "plain": service_files(8080, ""),
    # port 80 needs NET_BIND_SERVICE (the host's ip_unprivileged_port_start
    # is 1024); its root file system is read-only
    "port80": service_files(80, "security:\n  capabilities: [NET_BIND_SERVICE]\n"
                                "  readOnlyRootFilesystem: true\n"),
}


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("rtsec")
    data = str(root / "data")
    f = deploying_ferryd(data)
    try:
        f.ok("project", "create", "sec")
        for name, files in COMPONENTS.items():
            repo = Repo(str(root), name=name)
            repo.commit(files, message=name)
            # root on purpose: the scanner's FERRY-DF-001 is only reported
            f.ok("component", "create", "sec/" + name, "--repo", repo.file_url,
                 "--scan-fail-on", "never")
            r = f.cli("build", "sec/" + name, "--wait", "--json", timeout=600)
            assert r.rc == 0, r
            r = f.cli("deploy", "sec/" + name, "--wait", timeout=300)
            assert r.rc == 0, (r, f.log()[-3000:])
        yield f
    finally:
        f.stop()
        cleanup(data)


def container_of(d, component):
    with open(os.path.join(d.data, "runtime-instance")) as f:
        inst = f.read().strip()
    p = subprocess.run(["podman", "ps", "-q", "--no-trunc", "--filter", "label=ferry.instance=" + inst,
                        "--filter", "label=ferry.component=" + component],
                       env=containers_env(d.data), capture_output=True, text=True)
    [cid] = p.stdout.split()
    return cid


def sh_in(d, cid, script):
    return subprocess.run(["podman", "exec", cid, "sh", "-c", script], env=containers_env(d.data),
                          capture_output=True, text=True, timeout=60)


def service_status(d, cid):
    """/proc/PID/status of the service's own process (httpd, ferry-init's
    child), as a dict."""
    r = sh_in(d, cid, "for p in /proc/[0-9]*; do grep -q httpd $p/cmdline 2>/dev/null && "
                      "cat $p/status && break; done")
    assert r.returncode == 0 and "CapBnd" in r.stdout, r
    return dict(l.split(":\t", 1) for l in r.stdout.splitlines() if ":\t" in l)


def test_undeclared_capabilities_are_all_dropped(d):
    st = service_status(d, container_of(d, "plain"))
    assert st["Uid"].split()[0] == "0"  # root inside ...
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[k], 16) == 0, (k, st[k])  # ... with no capability at all
    assert st["NoNewPrivs"].strip() == "1"
    assert st["Seccomp"].strip() == "2"  # a filter: podman's default profile


def test_declared_capability_is_the_only_one_kept(d):
    cid = container_of(d, "port80")
    st = service_status(d, cid)
    assert int(st["CapBnd"], 16) == 1 << CAP_NET_BIND_SERVICE
    assert int(st["CapEff"], 16) == 1 << CAP_NET_BIND_SERVICE
    assert st["NoNewPrivs"].strip() == "1" and st["Seccomp"].strip() == "2"
    # and it is enough: httpd listens on port 80 (the rollout probed it)
    r = sh_in(d, cid, "printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' | nc -w 3 127.0.0.1 80")
    assert r.returncode == 0 and r.stdout.endswith(HEALTHZ), r


def test_root_without_capabilities_cannot_act_as_root(d):
    cid = container_of(d, "plain")
    r = sh_in(d, cid, "mknod /tmp/vda b 253 0 && echo MKNOD-OK; "
                      "chown 65534 /www/healthz && echo CHOWN-OK; "
                      "echo done")
    assert "done" in r.stdout, r
    for marker in ("MKNOD-OK", "CHOWN-OK"):
        assert marker not in r.stdout, r
    assert "Operation not permitted" in r.stderr, r


def test_read_only_root_when_the_descriptor_asks(d):
    r = sh_in(d, container_of(d, "port80"), "touch /www/new; echo rc=$?; touch /tmp/new && echo tmp-ok")
    assert "rc=1" in r.stdout and "Read-only file system" in r.stderr, r
    assert "tmp-ok" in r.stdout, r  # /tmp stays a writable tmpfs
    r = sh_in(d, container_of(d, "plain"), "touch /www/new && echo root-ok")
    assert "root-ok" in r.stdout, r  # the default: a writable root


class Listener:
    """A TCP listener on addr (random port) that counts accepted
    connections."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            c.sendall(b"HOST-LISTENER\n")
            c.close()

    def close(self):
        self.sock.close()
        self.thread.join(5)


def test_service_cannot_reach_the_hosts_loopback(d):
    cid = container_of(d, "plain")
    gateway = subprocess.run(["podman", "inspect", "-f",
                              "{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}", cid],
                             env=containers_env(d.data), capture_output=True, text=True).stdout.strip()
    assert gateway, "no gateway address for the container's network"
    with open(os.path.join(d.data, "registry", "port")) as f:
        registry = int(f.read().strip())
    lo = Listener("127.0.0.1")
    control = Listener(gateway)  # the host's address on the environment's bridge
    try:
        # the listener answers on the host
        with socket.create_connection(("127.0.0.1", lo.port), timeout=5) as s:
            assert s.recv(64) == b"HOST-LISTENER\n"
        assert lo.accepted == 1
        targets = [(h, p) for h in ("127.0.0.1", gateway, "host.containers.internal")
                   for p in (lo.port, d.port, registry, d.gw)]
        script = "; ".join("nc -w 3 %s %d </dev/null && echo REACHED-%s-%d || echo refused-%s-%d"
                           % (h, p, h, p, h, p) for h, p in targets)
        script += "; nc -w 3 %s %d </dev/null" % (gateway, control.port)
        r = sh_in(d, cid, script)
        # the probe works: the host's bridge address is reachable
        assert "HOST-LISTENER" in r.stdout and control.accepted == 1, r
        assert "REACHED" not in r.stdout, r
        for h, p in targets:
            assert "refused-%s-%d" % (h, p) in r.stdout, r
        assert lo.accepted == 1, "a container reached the test's 127.0.0.1 listener"
    finally:
        lo.close()
        control.close()
