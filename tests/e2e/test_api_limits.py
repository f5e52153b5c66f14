"""The API under hostile clients (src/api/connguard.c): connections over the
per-client limit are answered 503 with Retry-After (not reset), a request
that never finishes its headers is closed after --request-timeout, and
another client is served meanwhile. Loopback only; every socket closed."""

import json
import select
import socket
import time

import pytest

from ferry import Ferryd


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    f = Ferryd(str(tmp_path_factory.mktemp("limits") / "data"),
               extra=["--max-client-connections", "4", "--request-timeout", "5"]).start()
    yield f
    f.stop()
    assert f.proc.returncode == 0


def recv_all(s, timeout=10):
    s.settimeout(timeout)
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not b:
            break
        out += b
    return out


def hold_the_limit(d):
    """Four connections from 127.0.0.1 whose requests never finish, all
    counted by the server: [] when one of them was refused instead, because
    the server still counted an earlier connection (Ferryd.start's, say)
    whose close it had not yet seen; the caller tries again."""
    held = []
    for i in range(4):
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(b"GET /api/v1/projects HTTP/1.1\r\nHost: x\r\n")  # never finished
        held.append(s)
    time.sleep(0.3)
    if select.select(held, [], [], 0)[0]:  # a 503 came on one of them
        for s in held:
            s.close()
        wait_released(d)
        return []
    return held


def test_over_the_client_limit_is_503_with_retry_after_and_others_are_served(d):
    held = []
    try:
        for attempt in range(5):
            held = hold_the_limit(d)
            if held:
                break
            time.sleep(1)
        assert held, "four held connections were never all counted"
        extra = socket.create_connection(("127.0.0.1", d.port))
        held.append(extra)
        answer = recv_all(extra)
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable"), answer
        assert b"\r\nRetry-After: 5\r\n" in answer
        assert b"too many connections from this address" in answer
        # another client address is not affected
        c = socket.create_connection(("127.0.0.1", d.port), source_address=("127.0.0.2", 0))
        c.sendall(("GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Connection: close\r\n\r\n" % d.token).encode())
        assert recv_all(c).startswith(b"HTTP/1.1 200")
        c.close()
    finally:
        for s in held:
            s.close()
        wait_released(d)


def wait_released(d, timeout=15):
    """Until the server has seen the closed connections go (it counts them
    down when their threads notice, later under load): a full request from
    127.0.0.1 is served again. The next test then starts from no held
    connection."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.create_connection(("127.0.0.1", d.port))
        s.sendall(("GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                   "Connection: close\r\n\r\n" % d.token).encode())
        answer = recv_all(s)
        s.close()
        if answer.startswith(b"HTTP/1.1 200"):
            return
        assert time.monotonic() < deadline, "held connections never released: %r" % answer[:200]
        time.sleep(0.2)


def test_a_request_that_never_finishes_is_closed_after_the_request_timeout(d):
    s = socket.create_connection(("127.0.0.1", d.port))
    try:
        t0 = time.monotonic()
        s.sendall(b"GET /api/v1/projects HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for _ in range(40):  # a byte every 0.3 s: never idle, never done
            try:
                s.sendall(b"a")
            except OSError:
                break
            time.sleep(0.3)
        recv_all(s, timeout=5)
        took = time.monotonic() - t0
        # the 5 s timeout, checked once a second (and late under load)
        assert 4.5 < took < 9, took
    finally:
        s.close()
    # the server still answers
    assert d.api("GET", "/api/v1/projects").status_code == 200


def test_webhook_deliveries_are_rate_limited_per_component(tmp_path):
    import requests
    f = Ferryd(str(tmp_path / "data"), extra=["--webhook-rate", "4"]).start()
    try:
        f.ok("project", "create", "p")
        a = f.ok("component", "create", "p/a", "--repo", "https://git.example/a")
        b = f.ok("component", "create", "p/b", "--repo", "https://git.example/b")
        codes = []
        for i in range(4):  # burst of 2 (half the rate), then 429
            r = requests.post(a["webhook_url"], data=b"{}", timeout=10,
                              headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"})
            codes.append(r.status_code)
        assert codes[:2] != [429, 429] and codes[2:] == [429, 429], codes
        assert "too many webhook deliveries for this component (at most 4 a minute)" in r.json()["error"]
        # another component's deliveries are not affected
        r = requests.post(b["webhook_url"], data=b"{}", timeout=10,
                          headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=00"})
        assert r.status_code != 429
    finally:
        f.stop()


def test_bytes_that_are_not_utf8_in_the_path_get_an_answer_not_a_crash(d):
    """Found by fuzz_http (make fuzz): the 404 message quoted the path, a
    path byte that is not UTF-8 made jansson refuse the answer, and the
    NULL it returned crashed ferryd. One unauthenticated request was
    enough."""
    for path in (b"/api/v1/x\xae", b"/api/v1/projects/sh\xaeop", b"/api/v1/\xff\xfe/\xc3"):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Authorization: Bearer " + d.token.encode() + b"\r\n\r\n")
        answer = recv_all(s)
        s.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 404"), answer
        err = json.loads(body)
        assert err["code"] == "not_found" and "\ufffd" in err["error"], err
    assert d.proc.poll() is None, "ferryd died"
    assert d.api("GET", "/api/v1/projects").status_code == 200
