"""A real ferryd on a temporary data dir and a free loopback port, and the real
ferry CLI pointed at it. Every process started here is stopped by its pid."""

import json
import os
import signal
import socket
import subprocess
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir():
    return os.environ.get("FERRY_BUILD_DIR", os.path.join(ROOT, "build"))


def binary(name):
    sub = {"ferryd": "src/ferryd", "ferry": "src/cli", "ferry-init": "src/init"}[name]
    path = os.path.join(build_dir(), sub, name)
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s is not built at %s (run make)" % (name, path))
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Result:
    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def err_json(self):
        return json.loads(self.err)

    def __repr__(self):
        return "Result(rc=%d, out=%r, err=%r)" % (self.rc, self.out[:2000], self.err[:2000])


class Ferryd:
    """One ferryd process. start() waits for /healthz; stop() sends SIGTERM
    and waits; kill() sends SIGKILL (a crash)."""

    def __init__(self, data, port=None, extra=()):
        self.data = data
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None
        self.log_path = os.path.join(os.path.dirname(data), "ferryd-%d.log" % self.port)
        self.url = "http://127.0.0.1:%d" % self.port
        self.admin_token = None  # set to use a token other than DATA/admin.token

    def start(self, timeout=20):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary("ferryd"), "--data", self.data, "--listen", "127.0.0.1:%d" % self.port]
            + self.extra,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.time() + timeout
        last = "no answer yet"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ferryd exited with %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                r = requests.get(self.url + "/healthz", timeout=5)
                if r.status_code == 200:
                    return self
                last = "%d %s" % (r.status_code, r.text[:300])
            except requests.RequestException as ex:
                last = repr(ex)
            time.sleep(0.05)
        raise RuntimeError("ferryd did not answer /healthz in %ds (last: %s):\n%s" % (timeout, last, self.log()))

    @property
    def token(self):
        if self.admin_token:
            return self.admin_token
        with open(os.path.join(self.data, "admin.token")) as f:
            return f.read().strip()

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # HTTP, for tests of the API itself
    def api(self, method, path, token=..., **kw):
        headers = kw.pop("headers", {})
        if token is ...:
            token = self.token
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    # The CLI, as a user runs it
    def cli(self, *args, token=..., env=None, input=None, timeout=120):
        e = dict(os.environ)
        e.pop("FERRY_TOKEN", None)
        e.pop("FERRY_SERVER", None)
        e["FERRY_SERVER"] = self.url
        if token is ...:
            token = self.token
        if token is not None:
            e["FERRY_TOKEN"] = token
        if env:
            e.update(env)
        p = subprocess.run([binary("ferry")] + [str(a) for a in args], env=e, input=input,
                           capture_output=True, text=True, timeout=timeout)
        return Result(p)

    def ok(self, *args, **kw):
        """Runs the CLI with --json and returns the parsed output; fails loudly."""
        args = [str(a) for a in args]
        # --json is ferry's own option: it goes before "--" (what follows
        # "--" belongs to the task being run)
        at = args.index("--") if "--" in args else len(args)
        r = self.cli(*args[:at], "--json", *args[at:], **kw)
        assert r.rc == 0, r
        return r.json


def gateway_ferryd(data, extra=()):
    """A Ferryd, not started yet, that can deploy: its own gateway on a free
    loopback port (the port in .gw) and the build's ferry-init."""
    gw = free_port()
    f = Ferryd(data, extra=["--gateway-listen", "127.0.0.1:%d" % gw,
                            "--init-binary", binary("ferry-init")] + list(extra))
    f.gw = gw
    return f


def deploying_ferryd(data, extra=()):
    """gateway_ferryd, started."""
    return gateway_ferryd(data, extra).start()


HELLO = os.path.join(ROOT, "examples", "hello")


def hello_files():
    """examples/hello as {path: text}."""
    files = {}
    for base, _, names in os.walk(HELLO):
        for n in names:
            full = os.path.join(base, n)
            with open(full) as f:
                files[os.path.relpath(full, HELLO)] = f.read()
    return files


def hello_repo(root, files, executable=("index.cgi",)):
    """A git repository "hello" under root holding files, with the CGI
    scripts named in executable made executable (a second commit)."""
    from gitserve import Repo
    repo = Repo(str(root), name="hello")
    repo.commit(files, message="hello")
    for n in executable:
        os.chmod(os.path.join(repo.work, "www/cgi-bin", n), 0o755)
    repo.commit({}, message="executable cgi")
    return repo


def serve_hello(f, repo):
    """demo/hello from repo with GREETING=hello, built and deployed to
    development (the project demo must exist)."""
    f.ok("component", "create", "demo/hello", "--repo", repo.file_url)
    f.ok("config", "set", "demo/hello", "GREETING=hello")
    assert f.cli("build", "demo/hello", "--wait", timeout=600).rc == 0
    assert f.cli("deploy", "demo/hello", "--wait", timeout=300).rc == 0


def unmount_tree(top):
    """Unmounts top and every mount below it, deepest first, each by its exact
    path from /proc/self/mountinfo (a build the test stopped can leave an
    overlay of the containers storage mounted inside a test's own mount)."""
    top = os.path.realpath(top)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    mine = [m for m in points if m == top or m.startswith(top + "/")]
    for m in sorted(set(mine), key=len, reverse=True):
        subprocess.run(["umount", m], capture_output=True)


def cleanup(data):
    """Removes, by id, what this ferryd's engine left running: replicas and
    networks by its runtime instance label, HAProxy by its pid file, the
    tmpfs under the data dir and the images its registry named."""
    from gitserve import containers_env, remove_local_images, remove_network
    env = containers_env(data)
    try:
        with open(os.path.join(data, "runtime-instance")) as f:
            inst = f.read().strip()
    except OSError:
        inst = None
    if inst:
        p = subprocess.run(["podman", "ps", "-aq", "--no-trunc", "--filter", "label=ferry.instance=" + inst],
                           env=env, capture_output=True, text=True)
        for cid in p.stdout.split():
            subprocess.run(["podman", "rm", "-f", "-t", "0", cid], env=env, capture_output=True)
        p = subprocess.run(["podman", "network", "ls", "-q", "--filter", "label=ferry.instance=" + inst],
                           env=env, capture_output=True, text=True)
        for nid in p.stdout.split():
            remove_network(nid, env)
    try:
        with open(os.path.join(data, "gateway", "haproxy.pid")) as f:
            pid = int(f.read().strip())
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass
    run = os.path.join(data, "run")
    if os.path.ismount(run):
        subprocess.run(["umount", run], capture_output=True)
    remove_local_images(data)
