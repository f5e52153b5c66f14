"""Git repositories for e2e tests: made with the real git, served on loopback
by `git daemon` (git://) or `git http-backend` (smart HTTP), or read through
file://. Every server started here is stopped by its pid."""

import base64
import http.server
import os
import signal
import socket
import subprocess
import threading
import time

from ferry import free_port

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


def git(cwd, *args, env=None):
    e = dict(os.environ)
    e.update(GIT_ENV)
    if env:
        e.update(env)
    p = subprocess.run(["git"] + list(args), cwd=cwd, env=e, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("git %s: %s" % (" ".join(args), p.stderr))
    return p.stdout.strip()


class Repo:
    """A work tree with a bare repository beside it that servers export.
    commit() writes files, commits them (at a fixed time unless told) and
    pushes to the bare repository; it returns the commit sha."""

    def __init__(self, root, name="app", branch="main"):
        self.root = root
        self.name = name
        self.branch = branch
        self.work = os.path.join(root, name + "-work")
        self.bare = os.path.join(root, name + ".git")
        self.clock = 1767225600  # 2026-01-01T00:00:00Z; each commit one minute later
        os.makedirs(self.work)
        git(root, "init", "-q", "--bare", "-b", branch, self.bare)
        # git daemon serves only repositories marked for export.
        open(os.path.join(self.bare, "git-daemon-export-ok"), "w").close()
        git(root, "init", "-q", "-b", branch, self.work)
        git(self.work, "remote", "add", "origin", self.bare)

    @property
    def file_url(self):
        return "file://" + self.bare

    def write(self, path, text, mode=None):
        full = os.path.join(self.work, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        if mode is not None:
            os.chmod(full, mode)

    def remove(self, path):
        os.unlink(os.path.join(self.work, path))

    def commit(self, files=None, message="change", branch=None):
        branch = branch or self.branch
        if branch != self.current_branch():
            try:
                git(self.work, "checkout", "-q", branch)
            except RuntimeError:
                git(self.work, "checkout", "-q", "-b", branch)
        for path, text in (files or {}).items():
            if text is None:
                self.remove(path)
            else:
                self.write(path, text)
        self.clock += 60
        stamp = "%d +0000" % self.clock
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message,
            env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        git(self.work, "push", "-q", "-f", "origin", branch)
        return git(self.work, "rev-parse", "HEAD")

    def current_branch(self):
        try:
            return git(self.work, "symbolic-ref", "--short", "HEAD")
        except RuntimeError:
            return None

    def head(self, branch=None):
        return git(self.bare, "rev-parse", "refs/heads/" + (branch or self.branch))


def _wait_port(port, proc, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (what, proc.returncode))
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d" % (what, port))


class GitDaemon:
    """`git daemon` exporting base_path on a free loopback port."""

    def __init__(self, base_path):
        self.base_path = base_path
        self.port = free_port()
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--listen=127.0.0.1", "--port=%d" % self.port,
             "--base-path=" + self.base_path, "--informative-errors", self.base_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            start_new_session=True)
        _wait_port(self.port, self.proc, "git daemon")
        return self

    def url(self, repo):
        return "git://127.0.0.1:%d/%s.git" % (self.port, repo.name)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # Its own session: the daemon and the upload-pack children it forked.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class _CGIHandler(http.server.BaseHTTPRequestHandler):
    """Runs git http-backend for each request (smart HTTP, read-only)."""

    def log_message(self, *a):
        pass

    def _run(self):
        auth = getattr(self.server, "auth", None)
        if auth:
            want = "Basic " + base64.b64encode(("%s:%s" % auth).encode()).decode()
            if self.headers.get("Authorization") != want:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        p = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = p.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = _run
    do_POST = _run


class GitHTTP:
    """git http-backend behind a small threaded HTTP server on loopback (a
    thread of the test process: stopped with stop())."""

    def __init__(self, root, auth=None):
        """auth: (user, password) that every request must carry (basic auth)."""
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CGIHandler)
        self.server.root = root
        self.server.auth = auth
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def url(self, repo):
        return "http://127.0.0.1:%d/%s.git" % (self.port, repo.name)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


# ---- a ferryd for build tests, and cleaning up after it -------------------

def containers_env(data):
    """The environment ferryd hands buildah/skopeo (lib/containers.h)."""
    d = os.path.join(data, "containers")
    e = dict(os.environ)
    e.update({
        "CONTAINERS_CONF": os.path.join(d, "containers.conf"),
        "CONTAINERS_REGISTRIES_CONF": os.path.join(d, "registries.conf"),
        "REGISTRY_AUTH_FILE": os.path.join(d, "auth.json"),
    })
    return e


def build_env(data):
    """containers_env for build tools: also the builds' own image store
    (lib/containers.h: containers_build_env), where built images live.
    podman (deployments) uses the machine's store: use containers_env."""
    e = containers_env(data)
    conf = os.path.join(data, "containers", "storage.conf")
    if os.path.exists(conf):
        e["CONTAINERS_STORAGE_CONF"] = conf
    return e


def registry_host(data):
    """The managed registry's 127.0.0.1:PORT (DATA/registry/port)."""
    with open(os.path.join(data, "registry", "port")) as f:
        return "127.0.0.1:%d" % int(f.read().strip())


def remove_local_images(data):
    """Removes from buildah's storage, by id, the images that only this
    ferryd's managed registry named (pulled base images, anything left
    behind); images also named elsewhere only lose this registry's names."""
    try:
        host = registry_host(data)
    except (OSError, ValueError):
        return
    remove_local_images_for(data, host)


def remove_local_images_for(data, host):
    """remove_local_images for the registry at host (e.g. an external one)."""
    import json
    env = build_env(data)
    p = subprocess.run(["buildah", "images", "--json"], env=env, capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.strip():
        return
    for img in json.loads(p.stdout):
        names = img.get("names") or []
        mine = [n for n in names if n.startswith(host + "/")]
        if not mine:
            continue
        if len(mine) == len(names):
            subprocess.run(["buildah", "rmi", img["id"]], env=env, capture_output=True)
        else:
            for n in mine:
                subprocess.run(["buildah", "untag", img["id"], n], env=env, capture_output=True)


DNSNAME = "/run/containers/cni/dnsname"


def remove_network(name, env, force=True):
    """podman network rm, then the network's own CNI dnsname helper: podman
    leaves that dnsmasq running, and it takes the address of the next network
    that gets the same bridge (src/runtime/cni_dns.h). Only a dnsmasq whose
    command line names this network's config is stopped."""
    p = subprocess.run(["podman", "network", "rm"] + (["-f"] if force else []) + [name],
                       env=env, capture_output=True, text=True)
    try:
        with open(os.path.join(DNSNAME, name, "pidfile")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().split(b"\0")
        if cmd[0] == b"/usr/sbin/dnsmasq" and any(
                a.endswith(("/%s/dnsmasq.conf" % name).encode()) for a in cmd):
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass
    return p
