"""TLS in transit: ferryd serves the API over HTTPS with --tls-cert/--tls-key,
and the CLI verifies the server's certificate against --ca-file or
FERRY_CA_FILE, refusing a certificate it cannot verify."""

import os
import subprocess
import time

import pytest
import requests

import urllib3

from ferry import Ferryd, binary


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/CN=%s test CA" % name, cwd=d)
    return os.path.join(d, name + ".pem")


def make_server_cert(d, ca, name, san):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=ferryd", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext", cwd=d)
    os.chmod(os.path.join(d, name + ".key"), 0o600)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("pki"))
    good_ca = make_ca(d, "ca")
    wrong_ca = make_ca(d, "otherca")
    cert, key = make_server_cert(d, "ca", "server", "IP:127.0.0.1,DNS:localhost")
    other_cert, other_key = make_server_cert(d, "ca", "elsewhere", "DNS:elsewhere.example")
    return {"ca": good_ca, "wrong_ca": wrong_ca, "cert": cert, "key": key,
            "other_cert": other_cert, "other_key": other_key}


class TlsFerryd(Ferryd):
    """A ferryd serving HTTPS; start() waits for /healthz over TLS, trusting
    only the test CA."""

    def __init__(self, data, cert, key, ca, extra=(), verify=True):
        super().__init__(data, extra=["--tls-cert", cert, "--tls-key", key] + list(extra))
        self.ca = ca
        self.verify = ca if verify else False
        self.url = "https://127.0.0.1:%d" % self.port

    def start(self, timeout=20):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary("ferryd"), "--data", self.data, "--listen", "127.0.0.1:%d" % self.port]
            + self.extra, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ferryd exited with %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                if requests.get(self.url + "/healthz", timeout=1, verify=self.verify).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError("ferryd did not answer /healthz over TLS in %ds:\n%s" % (timeout, self.log()))

    def api(self, method, path, token=..., **kw):
        kw.setdefault("verify", self.ca)
        return super().api(method, path, token=token, **kw)


@pytest.fixture
def tls_ferryd(tmp_path, pki, monkeypatch):
    monkeypatch.delenv("FERRY_CA_FILE", raising=False)
    d = TlsFerryd(str(tmp_path / "data"), pki["cert"], pki["key"], pki["ca"])
    d.start()
    yield d
    d.stop()
    assert d.proc.returncode == 0, d.log()[-4000:]


def test_cli_works_with_the_ca_file(tls_ferryd, pki):
    d = tls_ferryd
    p = d.ok("project", "create", "shop", "--ca-file", pki["ca"])
    assert p["name"] == "shop"
    # the same through FERRY_CA_FILE, and as a global option before the command
    assert [x["name"] for x in d.ok("project", "list", env={"FERRY_CA_FILE": pki["ca"]})] == ["shop"]
    assert d.ok("--ca-file", pki["ca"], "project", "show", "shop")["name"] == "shop"
    # secrets travel inside TLS; the webhook URL the server gives is https
    c = d.ok("component", "create", "shop/api", "--repo", "https://h/x", "--ca-file", pki["ca"])
    assert c["webhook_url"].startswith("https://127.0.0.1:%d/" % d.port)
    d.ok("config", "set", "shop/api", "DB_PASSWORD=tls-only-secret", "--secret", "--ca-file", pki["ca"])
    listed = d.ok("config", "list", "shop/api", "--ca-file", pki["ca"])
    assert listed[0]["secret"] is True and "value" not in listed[0]


def test_cli_refuses_an_unverifiable_certificate(tls_ferryd, pki):
    d = tls_ferryd
    # no CA file: the system trust store does not know the test CA
    r = d.cli("project", "list", "--json")
    assert r.rc == 1, r
    assert r.err_json["code"] == "unreachable"
    assert "cannot reach ferryd at https://127.0.0.1" in r.err_json["error"]
    assert "certificate" in r.err_json["error"].lower()
    # a CA that did not sign the server's certificate
    r = d.cli("project", "list", "--ca-file", pki["wrong_ca"])
    assert r.rc == 1 and "certificate" in r.err.lower(), r
    r = d.cli("project", "list", env={"FERRY_CA_FILE": pki["wrong_ca"]})
    assert r.rc == 1 and "certificate" in r.err.lower(), r
    # a CA file that is not there
    r = d.cli("project", "list", "--ca-file", "/nonexistent/ca.pem")
    assert r.rc == 1 and "cannot reach ferryd" in r.err, r
    # nothing was created by any of these
    assert d.ok("project", "list", "--ca-file", pki["ca"]) == []


def test_cli_refuses_a_certificate_for_another_host(tmp_path, pki, monkeypatch):
    monkeypatch.delenv("FERRY_CA_FILE", raising=False)
    # the health check cannot verify this certificate either: it polls
    # without verification
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    d = TlsFerryd(str(tmp_path / "data"), pki["other_cert"], pki["other_key"], pki["ca"],
                  verify=False)
    d.start()
    try:
        r = d.cli("project", "list", "--ca-file", pki["ca"], "--json")
        assert r.rc == 1, r
        err = r.err_json["error"]
        assert "127.0.0.1" in err and ("certificate" in err.lower() or "match" in err.lower()), err
    finally:
        d.stop()


def test_plain_http_is_not_served_on_a_tls_port(tls_ferryd):
    with pytest.raises(requests.RequestException):
        r = requests.get("http://127.0.0.1:%d/healthz" % tls_ferryd.port, timeout=3)
        # some servers answer plain HTTP with an error page; ferryd must not
        # answer the API
        assert r.status_code != 200
        raise requests.RequestException("answered %d" % r.status_code)


def test_tls_options_are_checked_at_start(tmp_path, pki):
    for extra, why in [
        (["--tls-cert", pki["cert"]], "go together"),
        (["--tls-key", pki["key"]], "go together"),
        (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", pki["key"]], "missing.pem"),
    ]:
        d = Ferryd(str(tmp_path / "data"), extra=extra)
        with pytest.raises(RuntimeError) as exc:
            d.start(timeout=10)
        assert why in str(exc.value), str(exc.value)


def test_login_saves_the_ca_file(tls_ferryd, pki, tmp_path):
    d = tls_ferryd
    home = tmp_path / "home"
    home.mkdir()
    tf = tmp_path / "tok"
    tf.write_text(d.token + "\n")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": ""}
    r = d.cli("login", "--server", d.url, "--token-file", str(tf), "--ca-file", pki["ca"],
              token=None, env=env)
    assert r.rc == 0, r
    full = dict(os.environ)
    for k in ("FERRY_TOKEN", "FERRY_SERVER", "FERRY_CA_FILE", "XDG_CONFIG_HOME"):
        full.pop(k, None)
    full["HOME"] = str(home)
    p = subprocess.run([binary("ferry"), "whoami", "--json"], env=full, capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
