"""A real Kubernetes control plane on loopback for the tests: etcd,
kube-apiserver, kube-controller-manager and kube-scheduler built from the
official Go modules at a pinned release (tests/k8s/build-control-plane),
and kwok simulating the node and its kubelet (pod phases, readiness).

Everything listens on 127.0.0.1 at free ports, keeps its state under the
given directory, and is stopped by its own pid (each in its own process
group). Authentication: a static admin token (group system:masters) and
service-account tokens; authorization: RBAC."""

import json
import os
import signal
import subprocess
import time

import requests

from ferry import ROOT, free_port

BUILD = os.path.join(ROOT, "tests", "k8s", "build-control-plane")
KWOK_STAGES = os.path.join(ROOT, "tests", "k8s", "kwok-stages.yaml")
GATEWAY_API_VERSION = "v1.3.0"   # as tests/k8s/build-control-plane pins it
# what every simulated container writes (kwok's ClusterLogs), in the CRI
# log format a kubelet reads
POD_LINES = ["hello from a pod kwok simulates", "second line"]
POD_LOG = "".join("2026-01-01T00:00:0%dZ stdout F %s\n" % (i, line) for i, line in enumerate(POD_LINES))


def bin_dir():
    """Builds (once; cached outside the clone) and returns the bin dir."""
    p = subprocess.run([BUILD], capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError("building the control plane failed:\n" + p.stderr[-4000:])
    return p.stdout.strip().splitlines()[-1]


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


class ControlPlane:
    def __init__(self, root):
        self.root = root
        self.bin = bin_dir()
        self.procs = []
        self.token = "ferry-test-admin-" + os.urandom(12).hex()
        self.etcd_port, self.peer_port, self.api_port = free_port(), free_port(), free_port()
        self.server = "https://127.0.0.1:%d" % self.api_port
        self.pki = os.path.join(root, "pki")
        self.kubeconfig = os.path.join(root, "admin.kubeconfig")

    # -- set-up ------------------------------------------------------------
    def _pki(self):
        os.makedirs(self.pki, mode=0o700)
        d = self.pki
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=ferry-test-ca", cwd=d)
        with open(os.path.join(d, "ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
                    "extendedKeyUsage=serverAuth\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver", cwd=d)
        openssl("x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "apiserver.crt", "-days", "2", "-extfile", "ext", cwd=d)
        openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
        with open(os.path.join(d, "tokens.csv"), "w") as f:
            f.write('%s,admin,admin-uid,"system:masters"\n' % self.token)
        os.chmod(os.path.join(d, "tokens.csv"), 0o600)

    def write_kubeconfig(self, path, token, context="test", namespace=None):
        ctx = {"cluster": "test", "user": "u"}
        if namespace:
            ctx["namespace"] = namespace
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "test", "cluster": {"server": self.server,
                                                      "certificate-authority": os.path.join(self.pki, "ca.crt")}}],
            "users": [{"name": "u", "user": {"token": token}}],
            "contexts": [{"name": context, "context": ctx}],
        }
        with open(path, "w") as f:
            json.dump(cfg, f)
        os.chmod(path, 0o600)
        return path

    def _spawn(self, name, argv):
        log = open(os.path.join(self.root, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log.close()
        self.procs.append((name, p))
        return p

    def _wait(self, what, ok, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited (%s) while waiting for %s:\n%s" %
                                       (name, p.returncode, what, self.log(name)[-3000:]))
            try:
                if ok():
                    return
            except (requests.RequestException, OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.3)
        raise RuntimeError("timed out waiting for " + what)

    def log(self, name):
        try:
            with open(os.path.join(self.root, name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def install_gateway_api(self):
        """The Gateway API's standard CRDs (tests/k8s/build-control-plane
        fetched them from sigs.k8s.io/gateway-api), established."""
        path = os.path.join(os.path.dirname(self.bin), "gateway-api-" + GATEWAY_API_VERSION,
                            "standard-install.yaml")
        self.kubectl("apply", "--server-side", "-f", path)
        self.kubectl("wait", "--for", "condition=Established", "--timeout", "60s",
                     "crd/httproutes.gateway.networking.k8s.io", "crd/gateways.gateway.networking.k8s.io")

    def diagnose(self):
        """For a failing test's message: which part of the control plane
        exited, and the workloads as the API server has them now."""
        out = ["%s exited (%s)" % (n, p.returncode) for n, p in self.procs if p.poll() is not None]
        p = self.kubectl("get", "deployments,replicasets,pods", "--all-namespaces", "-o", "wide",
                         check=False, timeout=30)
        out.append(p.stdout + p.stderr)
        # what the controllers said (FailedCreate, FailedScheduling, ...) and the node's state
        p = self.kubectl("get", "events", "--all-namespaces", "--field-selector", "type=Warning",
                         check=False, timeout=30)
        out.append(p.stdout + p.stderr)
        p = self.kubectl("get", "node", "kwok-node-0", "-o", "jsonpath={.status.conditions}", check=False,
                         timeout=30)
        out.append("node conditions: " + p.stdout + p.stderr)
        return "\n".join(out)

    def get(self, path, token=None):
        return requests.get(self.server + path, headers={"Authorization": "Bearer " + (token or self.token)},
                            verify=os.path.join(self.pki, "ca.crt"), timeout=10)

    def start(self):
        b = self.bin
        self._pki()
        pki = self.pki
        self.audit_log = os.path.join(self.root, "audit.log")
        with open(os.path.join(self.root, "audit-policy.yaml"), "w") as f:
            f.write("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
        self._spawn("etcd", [
            os.path.join(b, "etcd"), "--name", "test", "--data-dir", os.path.join(self.root, "etcd"),
            "--listen-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
            "--advertise-client-urls", "http://127.0.0.1:%d" % self.etcd_port,
            "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer_port,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer_port,
            "--initial-cluster", "test=http://127.0.0.1:%d" % self.peer_port,
            "--listen-metrics-urls", "http://127.0.0.1:%d" % free_port(),
            "--log-level", "warn"])
        self._wait("etcd", lambda: requests.get("http://127.0.0.1:%d/health" % self.etcd_port,
                                                timeout=2).status_code == 200)
        self._spawn("kube-apiserver", [
            os.path.join(b, "kube-apiserver"),
            "--etcd-servers", "http://127.0.0.1:%d" % self.etcd_port,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.api_port),
            "--tls-cert-file", os.path.join(pki, "apiserver.crt"),
            "--tls-private-key-file", os.path.join(pki, "apiserver.key"),
            "--client-ca-file", os.path.join(pki, "ca.crt"),
            "--token-auth-file", os.path.join(pki, "tokens.csv"),
            "--authorization-mode", "RBAC",
            "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", os.path.join(pki, "sa.pub"),
            "--service-account-signing-key-file", os.path.join(pki, "sa.key"),
            "--service-cluster-ip-range", "10.96.0.0/16",
            "--cert-dir", os.path.join(self.root, "apiserver-certs"),
            "--audit-policy-file", os.path.join(self.root, "audit-policy.yaml"),
            "--audit-log-path", self.audit_log, "--audit-log-format", "json",
            # the kubernetes Service endpoint cannot be a loopback address
            "--endpoint-reconciler-type", "none",
            "--allow-privileged=false", "--v", "0"])
        self._wait("kube-apiserver", lambda: self.get("/readyz").status_code == 200, timeout=180)
        self.write_kubeconfig(self.kubeconfig, self.token)
        common = ["--kubeconfig", self.kubeconfig, "--leader-elect=false", "--secure-port", "0", "--v", "0"]
        self._spawn("kube-controller-manager", [
            os.path.join(b, "kube-controller-manager")] + common + [
            "--service-account-private-key-file", os.path.join(pki, "sa.key"),
            "--root-ca-file", os.path.join(pki, "ca.crt"),
            "--use-service-account-credentials=false",
            "--controllers", "*,-node-ipam-controller",
            # v1.37's ReplicaSet and Job controllers wait, after each write,
            # until their informer has seen a resourceVersion as new as it;
            # on this quiet, loaded test cluster that wait stalled a
            # rollout for over 90 s ("read version: N is not as new as
            # written version: M"), so the test cluster turns it off
            "--feature-gates", "StaleControllerConsistencyReplicaSet=false,StaleControllerConsistencyJob=false"])
        self._spawn("kube-scheduler", [os.path.join(b, "kube-scheduler")] + common)
        # kwok also plays the kubelet's API (logs) on loopback, with the
        # API server's certificate; the API server reaches it at the
        # node's address and port, as it would a kubelet. What a container
        # "writes" is self.pod_log, the same file for every pod.
        self.kubelet_port = free_port()
        self.pod_log = os.path.join(self.root, "pod.log")
        with open(self.pod_log, "w") as f:
            f.write(POD_LOG)
        logs_cfg = os.path.join(self.root, "kwok-logs.yaml")
        with open(logs_cfg, "w") as f:
            json.dump({"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs",
                       "metadata": {"name": "every-pod"},
                       "spec": {"selector": {}, "logs": [{"containers": [], "logsFile": self.pod_log,
                                                          "follow": False}]}}, f)
        self._spawn("kwok", [
            os.path.join(b, "kwok"), "--kubeconfig", self.kubeconfig,
            "--config", KWOK_STAGES, "--config", logs_cfg,
            # the node's heartbeat is a Lease kwok renews (its stages patch
            # the node's status only every 10-20 min): without it the node
            # lifecycle controller marks the node NotReady after its grace
            # period, and with it every pod on it
            "--node-lease-duration-seconds", "40",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
            "--cidr", "10.0.0.1/24", "--node-ip", "127.0.0.1", "--node-port", str(self.kubelet_port),
            "--tls-cert-file", os.path.join(pki, "apiserver.crt"),
            "--tls-private-key-file", os.path.join(pki, "apiserver.key"),
            "--server-address", "127.0.0.1:%d" % self.kubelet_port])
        self.kubectl("apply", "-f", "-", input=json.dumps(self.node()))
        self._wait("the node to be Ready", self.node_ready, timeout=120)
        # the default service account of the default namespace: the
        # controllers are running
        self._wait("the service-account controller",
                   lambda: self.kubectl("get", "serviceaccount", "default", check=False).returncode == 0)
        self._wait_first_workload()

    CANARY_NS = "ferry-test-canary"

    def _wait_first_workload(self, timeout=120):
        """A first Deployment, in a namespace of its own, to available:
        every rollout a test makes needs the service-account controller to
        have made the new namespace's default account, the deployment and
        ReplicaSet controllers' informers synced, the scheduler up and
        kwok's pod stages played. On a loaded machine each comes up at its
        own pace after its process starts; a test starting before them
        waited on the controllers' retry back-off instead. Then the
        namespace goes (in the background)."""
        ns = self.CANARY_NS
        dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "canary", "namespace": ns},
               "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "canary"}},
                        "template": {"metadata": {"labels": {"app": "canary"}},
                                     "spec": {"automountServiceAccountToken": False,
                                              "containers": [{"name": "canary", "image": "canary"}]}}}}
        t0 = time.time()
        self.kubectl("apply", "--server-side", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "List",
            "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, dep]}))

        def available():
            d = json.loads(self.kubectl("get", "deployment", "canary", "-n", ns, "-o", "json").stdout)
            st = d.get("status", {})
            return st.get("observedGeneration", 0) >= d["metadata"]["generation"] and st.get("availableReplicas") == 1
        try:
            self._wait("a first Deployment to be available", available, timeout=timeout)
        except RuntimeError as ex:
            raise RuntimeError("%s after %.0f s; the control plane:\n%s" % (ex, time.time() - t0,
                                                                            self.diagnose())) from None
        self.first_workload_s = time.time() - t0
        # the Deployment and its pods first: with the namespace going
        # under it, its ReplicaSet's re-creations are refused (Warning
        # events that diagnose() would show later)
        self.kubectl("delete", "deployment", "canary", "-n", ns, "--cascade=foreground", "--timeout=30s",
                     check=False)
        self.kubectl("delete", "namespace", ns, "--wait=false")

    @staticmethod
    def node():
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "kwok-node-0", "annotations": {"kwok.x-k8s.io/node": "fake"},
                             "labels": {"kubernetes.io/hostname": "kwok-node-0", "type": "kwok"}},
                "spec": {},
                "status": {"allocatable": {"cpu": "32", "memory": "64Gi", "pods": "110"},
                           "capacity": {"cpu": "32", "memory": "64Gi", "pods": "110"}}}

    def node_ready(self):
        n = json.loads(self.kubectl("get", "node", "kwok-node-0", "-o", "json").stdout)
        return any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))

    def kubectl(self, *args, input=None, check=True, kubeconfig=None, timeout=120):
        p = subprocess.run([os.path.join(self.bin, "kubectl"), "--kubeconfig", kubeconfig or self.kubeconfig]
                           + list(args), input=input, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args), p.stderr))
        return p

    def stop(self):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.procs = []
