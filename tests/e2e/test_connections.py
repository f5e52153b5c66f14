"""Connections and configuration groups: frontend declares (in a Choreo
component.yaml) a connection to backend, a configuration group, a
database connection created with `ferry connection create` and a literal
value. Each environment's frontend gets that environment's values and
backend's URL there, and cannot reach the other environment's backend.
Real ferryd, buildah, registry, podman and HAProxy."""

import os
import subprocess
import time

import pytest
import requests

from ferry import deploying_ferryd
from gitserve import Repo, containers_env
from test_rollout import cleanup

DOCKERFILE = """\
FROM ferry/busybox
COPY www /www
USER 65534
ENTRYPOINT ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""

BACKEND_DESCRIPTOR = """\
schemaVersion: 1.2
endpoints:
  - name: api
    service: {port: 8080, basePath: /cgi-bin}
    type: REST
    networkVisibilities: [Project]
"""

FRONTEND_DESCRIPTOR = """\
schemaVersion: 1.2
endpoints:
  - name: web_ui            # mapped to web-ui
    service: {port: 8080, basePath: /}
    type: REST
    networkVisibilities: [Public]
dependencies:
  connectionReferences:
    - name: backend conn
      resourceRef: service:backend/v1
    - name: orders-db
      resourceRef: database:orders
configurations:
  env:
    - name: BACKEND_URL
      valueFrom: {connectionRef: {name: backend conn, key: ServiceURL}}
    - name: DB_PASSWORD
      valueFrom: {connectionRef: {name: orders-db, key: Password}}
    - name: REGION
      valueFrom: {configGroupRef: {name: shared, key: region}}
    - name: MODE
      value: fast
"""

BACKEND_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'backend in %s\\n' "$FERRY_ENVIRONMENT"
"""

FRONTEND_CGI = """#!/bin/sh
# busybox's static wget cannot resolve names (no NSS in a static binary);
# its nc can: GET $BACKEND_URL/index.cgi by hand.
printf 'Content-Type: text/plain\\r\\n\\r\\n'
printf 'BACKEND_URL=%s\\nREGION=%s\\nMODE=%s\\nDB_PASSWORD=%s\\n' "$BACKEND_URL" "$REGION" "$MODE" "$DB_PASSWORD"
hostport=${BACKEND_URL#http://}
host=${hostport%%:*}
rest=${hostport#*:}
port=${rest%%/*}
path=/${rest#*/}
body=$(printf 'GET %s/index.cgi HTTP/1.0\\r\\n\\r\\n' "$path" | nc -w 5 "$host" "$port" | tail -n 1)
printf 'answer=%s\\n' "$body"
"""


def get(d, env):
    return requests.get("http://127.0.0.1:%d/cgi-bin/index.cgi" % d.gw,
                        headers={"Host": "frontend.shop.%s.localhost" % env}, timeout=20)


def answer(d, env, want, timeout=60):
    deadline = time.time() + timeout
    while True:
        r = get(d, env)
        if r.status_code == 200 and all(w in r.text for w in want):
            return r.text
        if time.time() > deadline:
            raise AssertionError("frontend/%s: %s %r lacks %r" % (env, r.status_code, r.text, want))
        time.sleep(0.3)


def component(d, root, name, descriptor, cgi):
    repo = Repo(str(root), name=name)
    repo.commit({"Dockerfile": DOCKERFILE, "www/cgi-bin/index.cgi": cgi,
                 ".choreo/component.yaml": descriptor}, message=name)
    os.chmod(os.path.join(repo.work, "www/cgi-bin/index.cgi"), 0o755)
    repo.commit({}, message="executable cgi")
    d.ok("component", "create", "shop/" + name, "--repo", repo.file_url)
    r = d.cli("build", "shop/" + name, "--wait", "--json", timeout=600)
    assert r.rc == 0, r
    return r.json["id"]


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    root = tmp_path_factory.mktemp("connections")
    data = str(root / "data")
    f = deploying_ferryd(data)
    try:
        f.ok("project", "create", "shop")
        component(f, root, "backend", BACKEND_DESCRIPTOR, BACKEND_CGI)
        component(f, root, "frontend", FRONTEND_DESCRIPTOR, FRONTEND_CGI)
        yield f
    finally:
        f.stop()
        cleanup(data)


def containers_of(d, component, env):
    p = subprocess.run(["podman", "ps", "-q", "--no-trunc", "--filter", "label=ferry.project=shop",
                        "--filter", "label=ferry.component=" + component,
                        "--filter", "label=ferry.environment=" + env],
                       env=containers_env(d.data), capture_output=True, text=True)
    assert p.stdout.split(), p
    return p.stdout.split()


def test_frontend_gets_each_environments_backend_and_values(d):
    # nothing to connect to yet: refused, naming what is missing
    r = d.cli("deploy", "shop/frontend", "--wait", timeout=120)
    assert r.rc == 1
    assert "component backend is not deployed in development" in r.err, r.err
    assert d.cli("deploy", "shop/backend", "--wait", timeout=300).rc == 0
    r = d.cli("deploy", "shop/frontend", "--wait", timeout=120)
    assert r.rc == 1 and 'key Password of connection "orders-db" in development' in r.err, r.err
    # the outside database and the shared group, per environment
    for env, pw, region in (("development", "dev-pw-1", "eu-dev"), ("production", "prod-pw-2", "eu-prod")):
        out = d.ok("connection", "create", "shop", "orders-db", "--env", env,
                   "Host=db." + env, "Password=" + pw, "--secret", "Password")
        assert {o["key"]: o["secret"] for o in out} == {"Host": False, "Password": True}
        assert all("value" not in o for o in out if o["secret"])
        d.ok("config-group", "set", "shop", "shared", "--env", env, "region=" + region)
    listed = d.ok("connection", "list", "shop")
    assert [(o["env"], o["key"]) for o in listed] == [("development", "Host"), ("development", "Password"),
                                                      ("production", "Host"), ("production", "Password")]
    assert "prod-pw-2" not in d.cli("connection", "list", "shop").out
    assert d.cli("deploy", "shop/frontend", "--wait", timeout=300).rc == 0
    text = answer(d, "development", ["answer=backend in development"])
    assert "BACKEND_URL=http://backend:8080/cgi-bin\n" in text
    assert "REGION=eu-dev\n" in text and "MODE=fast\n" in text and "DB_PASSWORD=dev-pw-1\n" in text
    # production: the backend must be there first
    r = d.cli("promote", "shop/frontend", "--to", "production", "--wait", timeout=120)
    assert r.rc == 1 and "component backend is not deployed in production" in r.err, r.err
    assert d.cli("promote", "shop/backend", "--to", "production", "--wait", timeout=300).rc == 0
    assert d.cli("promote", "shop/frontend", "--to", "production", "--wait", timeout=300).rc == 0
    text = answer(d, "production", ["answer=backend in production"])
    assert "REGION=eu-prod\n" in text and "DB_PASSWORD=prod-pw-2\n" in text and "MODE=fast\n" in text


def test_development_cannot_reach_productions_backend(d):
    src = containers_of(d, "frontend", "development")[0]
    prod = containers_of(d, "backend", "production")[0]
    ip = subprocess.run(["podman", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                         prod], env=containers_env(d.data), capture_output=True, text=True).stdout.strip()
    assert ip
    ce = containers_env(d.data)
    # by its address: no route between the environments' networks
    get = "printf 'GET /cgi-bin/index.cgi HTTP/1.0\\r\\n\\r\\n' | nc -w 3 %s 8080"
    r = subprocess.run(["podman", "exec", src, "sh", "-c", get % ip], env=ce, capture_output=True,
                       text=True, timeout=60)
    assert "backend in" not in r.stdout, r
    # by name: "backend" is development's backend
    r = subprocess.run(["podman", "exec", src, "sh", "-c", get % "backend"], env=ce,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip().endswith("backend in development"), r


def test_snapshot_keeps_resolved_values_until_the_next_deployment(d):
    d.ok("config-group", "set", "shop", "shared", "--env", "development", "region=eu-dev-2")
    time.sleep(1)
    assert "REGION=eu-dev\n" in get(d, "development").text
    assert d.cli("deploy", "shop/frontend", "--wait", timeout=300).rc == 0
    answer(d, "development", ["REGION=eu-dev-2\n"])
    # a rollback runs with the snapshot it had
    assert d.cli("rollback", "shop/frontend", "--env", "development", "--wait", timeout=300).rc == 0
    answer(d, "development", ["REGION=eu-dev\n"])
    d.ok("config-group", "delete", "shop", "shared", "--env", "development")
    r = d.cli("deploy", "shop/frontend", "--wait", timeout=120)
    assert r.rc == 1 and 'REGION needs key region of configuration group "shared" in development' in r.err, r.err
