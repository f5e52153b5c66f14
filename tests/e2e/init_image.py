"""Helpers for the ferry-init end-to-end tests: a throwaway busybox image
built with buildah, a podman configuration for this machine, and containers
run the way ferry's podman driver runs them (see docs/ferry-init.md).

Everything created here is tracked by id so the fixtures can remove exactly
what they made, even when a test fails."""

import io
import itertools
import json
import os
import shutil
import subprocess
import tarfile

BUSYBOX = "/bin/busybox"

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
"""


def require_tools(*names):
    """Fails (never skips) when a tool the test needs is missing."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise RuntimeError("missing tools: %s (run scripts/install-deps)"
                           % ", ".join(missing))


def ferry_init_binary():
    """Path of the built ferry-init, from FERRY_BUILD_DIR (default
    /work/main/build)."""
    build = os.environ.get("FERRY_BUILD_DIR", "/work/main/build")
    path = os.path.join(build, "src", "init", "ferry-init")
    if not os.access(path, os.X_OK):
        raise RuntimeError("ferry-init not built at %s: set FERRY_BUILD_DIR or "
                           "run ninja -C %s src/init/ferry-init" % (path, build))
    return path


def write_env_file(config_dir, records, raw=None, mode=0o400):
    """Writes CONFIG_DIR/env in ferry's format: NUL-terminated KEY=VALUE
    records, from a list of (key, value) pairs, or the bytes raw as given."""
    data = raw if raw is not None else b"".join(
        k.encode() + b"=" + v.encode() + b"\0" for k, v in records)
    path = os.path.join(config_dir, "env")
    if os.path.exists(path):
        os.chmod(path, 0o600)
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


class Podman:
    """Runs podman and buildah with a private containers.conf and remembers
    what it created."""

    def __init__(self, workdir):
        self.workdir = workdir
        conf = os.path.join(workdir, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF)
        self.env = dict(os.environ, CONTAINERS_CONF=conf)
        self.containers = []
        self.images = []
        self.buildah_containers = []
        self._seq = itertools.count()

    def run_tool(self, argv, check=True, timeout=120, **kw):
        p = subprocess.run(argv, env=self.env, capture_output=True,
                           timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (
                " ".join(argv[:3]), p.returncode,
                p.stderr.decode(errors="replace").strip()))
        return p

    def build_busybox_image(self, entrypoint=None, cmd=None, env=None):
        """Builds an image FROM scratch holding Debian's static busybox with
        every applet linked into /bin. Returns the image id."""
        applets = subprocess.run([BUSYBOX, "--list"], check=True,
                                 capture_output=True, text=True).stdout.split()
        tar_path = os.path.join(self.workdir, "rootfs.tar")
        with tarfile.open(tar_path, "w") as tar:
            for d in ("bin", "tmp", "proc", "sys", "dev", "etc"):
                ti = tarfile.TarInfo(d)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o1777 if d == "tmp" else 0o755
                tar.addfile(ti)
            tar.add(BUSYBOX, arcname="bin/busybox")
            for a in applets:
                if a == "busybox":
                    continue
                ti = tarfile.TarInfo("bin/" + a)
                ti.type = tarfile.SYMTYPE
                ti.linkname = "busybox"
                tar.addfile(ti)
            passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
            ti = tarfile.TarInfo("etc/passwd")
            ti.size = len(passwd)
            ti.mode = 0o644
            tar.addfile(ti, io.BytesIO(passwd))

        ctr = self.run_tool(["buildah", "from", "scratch"]).stdout.decode().strip()
        self.buildah_containers.append(ctr)
        self.run_tool(["buildah", "add", ctr, tar_path, "/"])
        config = ["buildah", "config", "--env", "PATH=/bin"]
        for k, v in (env or {}).items():
            config += ["--env", "%s=%s" % (k, v)]
        if entrypoint is not None:
            config += ["--entrypoint", entrypoint]
        if cmd is not None:
            config += ["--cmd", cmd]
        self.run_tool(config + [ctr])
        iidfile = os.path.join(self.workdir, "iid")
        self.run_tool(["buildah", "commit", "--iidfile", iidfile, "--rm", ctr])
        self.buildah_containers.remove(ctr)
        with open(iidfile) as f:
            iid = f.read().strip()
        self.images.append(iid)
        return iid

    def image_config(self, image):
        """(entrypoint list, cmd list) of an image, as the driver reads them."""
        p = self.run_tool(["podman", "image", "inspect", image])
        cfg = json.loads(p.stdout)[0]["Config"]
        return cfg.get("Entrypoint") or [], cfg.get("Cmd") or []

    def ferry_run_argv(self, image, init_bin, config_dir, program, detach=False,
                       extra=()):
        """The podman run command line ferry's driver uses: ferry-init bound
        read-only at /.ferry/init as the entrypoint, the tmpfs config dir
        bound read-only at /.ferry/config, the command
        `-- <image entrypoint...> <cmd or run arguments...>` (program)."""
        cidfile = os.path.join(self.workdir, "cid-%d" % next(self._seq))
        argv = ["podman", "run", "--cidfile", cidfile, "--network", "none",
                "-v", "%s:/.ferry/init:ro" % init_bin,
                "-v", "%s:/.ferry/config:ro" % config_dir,
                "--entrypoint", "/.ferry/init"]
        if detach:
            argv.append("-d")
        argv += list(extra) + [image, "--"] + list(program)
        return argv, cidfile

    def run(self, image, init_bin, config_dir, program, detach=False,
            extra=(), timeout=120):
        """Runs a container; returns (CompletedProcess, container id)."""
        argv, cidfile = self.ferry_run_argv(image, init_bin, config_dir,
                                            program, detach, extra)
        try:
            p = subprocess.run(argv, env=self.env, capture_output=True,
                               timeout=timeout)
        finally:
            cid = None
            if os.path.exists(cidfile):
                with open(cidfile) as f:
                    cid = f.read().strip() or None
            if cid:
                self.containers.append(cid)
        if cid is None:
            raise RuntimeError("podman run created no container: %s"
                               % p.stderr.decode(errors="replace"))
        return p, cid

    def inspect(self, cid, fmt):
        return self.run_tool(["podman", "inspect", "--format", fmt, cid]
                             ).stdout.decode().strip()

    def logs(self, cid):
        p = self.run_tool(["podman", "logs", cid])
        return p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def cleanup(self):
        """Removes every container and image this object created, by id."""
        errors = []
        for cid in reversed(self.containers):
            p = self.run_tool(["podman", "rm", "-f", "-t", "0", cid], check=False)
            if p.returncode != 0:
                errors.append("podman rm %s: %s" % (cid, p.stderr.decode().strip()))
        self.containers = []
        for ctr in self.buildah_containers:
            self.run_tool(["buildah", "rm", ctr], check=False)
        self.buildah_containers = []
        for iid in reversed(self.images):
            p = self.run_tool(["podman", "rmi", "-f", iid], check=False)
            if p.returncode != 0:
                errors.append("podman rmi %s: %s" % (iid, p.stderr.decode().strip()))
        self.images = []
        return errors
