"""The console's sign-in and the safety of what ferryd serves at "/": an API
token exchanged once for a server-side session (HttpOnly, SameSite=Strict
cookie, Secure under TLS), CSRF tokens on writes made with the cookie,
logout, revocation with the token, bearer tokens unchanged for the CLI, the
console's files (no path outside its directory) and the safe headers, against
a real ferryd."""

import os
import socket

import pytest
import requests

from ferry import Ferryd
from test_tls import TlsFerryd, pki  # noqa: F401  (the fixture)


@pytest.fixture
def console_dir(tmp_path):
    d = tmp_path / "console"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text("<!doctype html><title>ferry</title><script type=module src=/assets/app-1.js></script>")
    (d / "assets" / "app-1.js").write_text("console.log('ferry')\n")
    (d / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside the console")
    return str(d)


@pytest.fixture
def fd(tmp_path, console_dir):
    d = Ferryd(str(tmp_path / "data"), extra=["--console-dir", console_dir])
    d.start()
    yield d
    d.stop()
    assert d.proc.returncode == 0, d.log()[-4000:]


def sign_in(d, token=None):
    s = requests.Session()
    r = s.post(d.url + "/api/v1/session", json={"token": token or d.token}, timeout=10)
    assert r.status_code == 201, r.text
    s.csrf = r.json()["csrf"]
    return s, r


def raw_get(port, path):
    """A GET sent byte for byte (requests and curl would normalise '..')."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
    return data.decode(errors="replace")


def test_console_pages_files_and_their_headers(fd):
    for path in ("/", "/projects/demo/components/hello/build"):
        r = requests.get(fd.url + path, timeout=10)
        assert r.status_code == 200 and "<title>ferry</title>" in r.text
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-cache"
        assert r.headers["Content-Type"].startswith("text/html")
    r = requests.get(fd.url + "/assets/app-1.js", timeout=10)
    assert r.status_code == 200 and r.text == "console.log('ferry')\n"
    assert r.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in r.headers["Cache-Control"]
    assert requests.get(fd.url + "/assets/nope.js", timeout=10).status_code == 404
    assert requests.post(fd.url + "/", timeout=10).status_code == 405


def test_no_path_leaves_the_console_directory(fd):
    for path in ("/assets/../../outside.txt", "/../outside.txt", "/.secret", "/assets/%2e%2e/index.html",
                 "/assets//app-1.js"):
        answer = raw_get(fd.port, path)
        status = answer.split(" ", 2)[1]
        assert status in ("404", "400"), (path, answer[:200])
        assert "outside the console" not in answer and "hidden" not in answer.split("\r\n\r\n", 1)[-1]


def test_api_answers_are_never_cached_nor_framed(fd):
    for r in (fd.api("GET", "/api/v1/projects"), fd.api("GET", "/api/v1/projects", token=None),
              requests.get(fd.url + "/api/v1/nope", timeout=10)):
        assert r.headers["Cache-Control"] == "no-store", r.headers
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_no_console_flag_serves_only_the_api(tmp_path):
    d = Ferryd(str(tmp_path / "data"), extra=["--no-console"])
    d.start()
    try:
        r = requests.get(d.url + "/", timeout=10)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert d.api("GET", "/api/v1/projects").status_code == 200
    finally:
        d.stop()


def test_missing_console_files_say_how_to_get_them(tmp_path):
    d = Ferryd(str(tmp_path / "data"), extra=["--console-dir", str(tmp_path / "empty")])
    d.start()
    try:
        r = requests.get(d.url + "/", timeout=10)
        assert r.status_code == 503 and "make console" in r.text
    finally:
        d.stop()


def test_sign_in_sets_a_safe_cookie_and_reads_work_with_it(fd):
    s, r = sign_in(fd)
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("ferry_session=")
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"):
        assert attr in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback
    assert fd.token not in cookie and fd.token not in r.text
    body = r.json()
    assert body["who"]["role"] == "admin" and len(body["csrf"]) == 64 and body["expires_at"].endswith("Z")
    assert s.get(fd.url + "/api/v1/projects", timeout=10).status_code == 200
    again = s.get(fd.url + "/api/v1/session", timeout=10)
    assert again.status_code == 200 and again.json()["csrf"] == body["csrf"]


def test_bad_tokens_get_no_session(fd):
    for token, msg in (("fry_" + "0" * 64, "not known"), ("nope", "malformed")):
        r = requests.post(fd.url + "/api/v1/session", json={"token": token}, timeout=10)
        assert r.status_code == 401 and msg in r.json()["error"]
        assert "Set-Cookie" not in r.headers
    r = requests.post(fd.url + "/api/v1/session", json={"tok": "x"}, timeout=10)
    assert r.status_code == 400
    r = requests.get(fd.url + "/api/v1/projects", cookies={"ferry_session": "f" * 64}, timeout=10)
    assert r.status_code == 401 and "sign in again" in r.json()["error"]


def test_writes_with_the_cookie_need_the_csrf_token(fd):
    s, _ = sign_in(fd)
    r = s.post(fd.url + "/api/v1/projects", json={"name": "nocsrf"}, timeout=10)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error"]
    r = s.post(fd.url + "/api/v1/projects", json={"name": "wrongcsrf"}, headers={"X-CSRF-Token": "0" * 64},
               timeout=10)
    assert r.status_code == 403
    r = s.post(fd.url + "/api/v1/projects", json={"name": "elsewhere"},
               headers={"X-CSRF-Token": s.csrf, "Origin": "http://evil.example"}, timeout=10)
    assert r.status_code == 403 and "origin" in r.json()["error"]
    names = [p["name"] for p in fd.ok("project", "list")]
    assert not {"nocsrf", "wrongcsrf", "elsewhere"} & set(names)
    r = s.post(fd.url + "/api/v1/projects", json={"name": "withcsrf"},
               headers={"X-CSRF-Token": s.csrf, "Origin": fd.url}, timeout=10)
    assert r.status_code == 201, r.text
    audit = fd.ok("audit")
    assert any(a["action"] == "project.create" and a["actor"] == "admin" for a in audit)
    assert any(a["action"] == "session.create" for a in audit)


def test_bearer_tokens_keep_working_and_win_over_a_cookie(fd):
    viewer = fd.ok("token", "create", "--role", "viewer")["token"]
    s, _ = sign_in(fd)  # an admin session
    # A bearer request is the bearer token's, whatever cookie it carries,
    # and needs no CSRF token.
    r = s.post(fd.url + "/api/v1/projects", json={"name": "asviewer"},
               headers={"Authorization": "Bearer " + viewer}, timeout=10)
    assert r.status_code == 403 and "viewer" in r.json()["error"]
    r = fd.api("POST", "/api/v1/projects", json={"name": "bybearer"})
    assert r.status_code == 201
    assert fd.cli("project", "list").rc == 0


def test_sign_out_ends_the_session(fd):
    s, _ = sign_in(fd)
    assert s.delete(fd.url + "/api/v1/session", timeout=10).status_code == 403  # no CSRF token
    r = s.delete(fd.url + "/api/v1/session", headers={"X-CSRF-Token": s.csrf}, timeout=10)
    assert r.status_code == 200 and "Max-Age=0" in r.headers["Set-Cookie"]
    old = s.cookies.get("ferry_session") or r.request.headers["Cookie"].split("=", 1)[1]
    r = requests.get(fd.url + "/api/v1/projects", cookies={"ferry_session": old}, timeout=10)
    assert r.status_code == 401


def test_a_session_ends_when_its_token_is_revoked(fd):
    t = fd.ok("token", "create", "--role", "developer", "--name", "dev1")
    s, _ = sign_in(fd, t["token"])
    assert s.get(fd.url + "/api/v1/projects", timeout=10).status_code == 200
    fd.ok("token", "revoke", t["id"])
    r = s.get(fd.url + "/api/v1/projects", timeout=10)
    assert r.status_code == 401
    r = requests.post(fd.url + "/api/v1/session", json={"token": t["token"]}, timeout=10)
    assert r.status_code == 401 and "revoked" in r.json()["error"]


def test_a_session_has_its_tokens_role_and_scope(fd):
    fd.ok("project", "create", "one")
    fd.ok("project", "create", "two")
    t = fd.ok("token", "create", "--role", "viewer", "--project", "one")
    s, r = sign_in(fd, t["token"])
    assert r.json()["who"] == {"token_id": t["id"], "name": "viewer", "role": "viewer", "scoped": True}
    assert [p["name"] for p in s.get(fd.url + "/api/v1/projects", timeout=10).json()] == ["one"]
    assert s.get(fd.url + "/api/v1/projects/two", timeout=10).status_code == 404
    r = s.post(fd.url + "/api/v1/projects/one/components", json={"name": "x", "repo": "https://g.example/x.git"},
               headers={"X-CSRF-Token": s.csrf}, timeout=10)
    assert r.status_code == 403


def test_the_token_is_never_logged(fd):
    t = fd.ok("token", "create", "--role", "developer")["token"]
    s, r = sign_in(fd, t)
    s.get(fd.url + "/api/v1/projects", timeout=10)
    sid = s.cookies.get("ferry_session")
    fd.stop()
    log = fd.log()
    assert "event=request" in log and "/api/v1/session" in log
    assert t not in log and fd.token not in log
    assert sid and sid not in log and r.json()["csrf"] not in log


def test_the_cookie_is_secure_under_tls(tmp_path, pki):  # noqa: F811
    d = TlsFerryd(str(tmp_path / "data"), pki["cert"], pki["key"], pki["ca"], extra=["--no-console"])
    d.start()
    try:
        r = requests.post(d.url + "/api/v1/session", json={"token": d.token}, verify=pki["ca"], timeout=10)
        assert r.status_code == 201
        assert "; Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    finally:
        d.stop()
