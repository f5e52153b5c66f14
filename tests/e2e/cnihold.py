"""Keeps podman from handing out a bridge name that a DNS server left behind
by an earlier, interrupted run still listens on.

podman's CNI backend names a new bridge after the first free cni-podmanN.
The dnsname plugin's dnsmasq runs with bind-dynamic on its bridge's name; if
a run was interrupted before its network was torn down, that dnsmasq stays
and binds to the next bridge of the same name, so every container start on
the new network fails ("dnsmasq: failed to create listening socket ...
Address already in use"). This module never touches such a process (it is
not ours): while a test runs, it reserves those names with a placeholder
network configuration of its own, which podman counts as taken, and removes
exactly the files it wrote afterwards. On a clean machine it does nothing."""

import glob
import json
import os

CNI_DIR = "/etc/cni/net.d"
DNSNAME_DIR = "/run/containers/cni/dnsname"


def _alive(pidfile):
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"dnsmasq" in f.read()
    except (OSError, ValueError):
        return False


def _bridges_in_configs():
    names = set()
    for path in glob.glob(os.path.join(CNI_DIR, "*.conflist")):
        try:
            with open(path) as f:
                for p in json.load(f).get("plugins", []):
                    if p.get("bridge"):
                        names.add(p["bridge"])
        except (OSError, ValueError):
            pass
    return names


def stale_bridge_names():
    """Bridge names a live dnsmasq is bound to that no network claims."""
    taken = _bridges_in_configs()
    names = set()
    for conf in glob.glob(os.path.join(DNSNAME_DIR, "*", "dnsmasq.conf")):
        if not _alive(os.path.join(os.path.dirname(conf), "pidfile")):
            continue
        try:
            with open(conf) as f:
                for line in f:
                    if line.startswith("interface="):
                        name = line.split("=", 1)[1].strip()
                        if name not in taken:
                            names.add(name)
        except OSError:
            pass
    return names


class BridgeHold:
    """with BridgeHold(): ... reserves the stale bridge names for the block."""

    def __init__(self):
        self.files = []

    def __enter__(self):
        if not os.path.isdir(CNI_DIR) or not os.access(CNI_DIR, os.W_OK):
            return self
        for i, name in enumerate(sorted(stale_bridge_names())):
            net = "ferry-test-hold-%d-%d" % (os.getpid(), i)
            path = os.path.join(CNI_DIR, net + ".conflist")
            # a whole, valid configuration (podman skips ones it cannot
            # read); its subnet is only ever reserved, never brought up
            subnet = "10.254.%d.0/24" % ((os.getpid() + i) % 250)
            conf = {"cniVersion": "0.4.0", "name": net, "plugins": [
                {"type": "bridge", "bridge": name, "isGateway": True, "ipMasq": True,
                 "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}],
                          "ranges": [[{"subnet": subnet, "gateway": subnet.replace(".0/24", ".1")}]]}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
                {"type": "firewall", "backend": ""}, {"type": "tuning"}]}
            with open(path, "x") as f:
                json.dump(conf, f)
            self.files.append(path)
        return self

    def __exit__(self, *exc):
        for path in self.files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.files = []
