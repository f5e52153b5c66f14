"""ferry descriptor check: the descriptor of a build context checked
locally by the real CLI, no server (nothing is started)."""
import json
import os
import subprocess

from ferry import binary

SAMPLE = """\
# as in Choreo's sample repositories
schemaVersion: "1.2"
endpoints:
  - name: go_greeter
    displayName: Go Greeter
    service:
      basePath: /greeting-service
      port: 9090
    type: REST
    networkVisibilities: [Public, Organization]
    schemaFilePath: openapi.yaml
  - name: metrics
    service: {port: 9100}
    type: TCP
    networkVisibilities: [Project]
dependencies:
  connectionReferences:
    - name: backend conn
      resourceRef: service:/shop/backend/v1/api/PROJECT
configurations:
  env:
    - name: BACKEND_URL
      valueFrom: {connectionRef: {name: backend conn, key: ServiceURL}}
    - name: REGION
      valueFrom: {configGroupRef: {name: shared, key: region}}
    - name: MODE
      value: fast
    - name: LOGGING
      valueFrom: {configForm: {type: object, required: false}}
"""


def check(path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    return subprocess.run([binary("ferry"), "descriptor", "check", str(path), *args],
                          capture_output=True, text=True, timeout=30, env=env)


def context(tmp_path, descriptor, name=".choreo/component.yaml", files=()):
    (tmp_path / os.path.dirname(name)).mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(descriptor)
    for f in files:
        (tmp_path / f).write_text("openapi: 3.0.3\n")
    return tmp_path


def test_valid_choreo_descriptor_prints_what_ferry_uses(tmp_path):
    ctx = context(tmp_path, SAMPLE, files=["openapi.yaml"])
    r = check(ctx, "--project", "shop", "--component", "web", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["format"] == "choreo" and out["file"] == ".choreo/component.yaml"
    ep, metrics = out["endpoints"]
    assert ep["name"] == "go-greeter" and ep["declared_name"] == "go_greeter"
    assert ep["project_url"] == "http://web:9090/greeting-service"
    assert ep["public_url"] == "http://web.shop.{env}.localhost:8080/greeting-service"
    assert metrics["project_url"] == "tcp://web:9100" and metrics["public_url"] is None
    conf = {c["name"]: c for c in out["configurables"]}
    assert conf["BACKEND_URL"]["source"] == "connection backend conn: ServiceURL"
    assert conf["REGION"]["source"] == "config group shared: region"
    assert conf["MODE"]["default"] == "fast" and conf["MODE"]["required"] is False
    assert conf["LOGGING"]["type"] == "object"
    [c] = out["connections"]
    assert c["kind"] == "service" and c["target"] == "shop/backend v1 endpoint api"
    assert any('"go_greeter" is "go-greeter"' in w for w in out["descriptor"]["warnings"])
    human = check(ctx, "--project", "shop", "--component", "web")
    assert human.returncode == 0
    assert human.stdout.startswith(".choreo/component.yaml: valid (choreo format, version 1.2)")
    assert "http://web.shop.{env}.localhost:8080/greeting-service" in human.stdout
    assert "warning: .choreo/component.yaml:4:11: endpoints[0].name" in human.stdout


def test_invalid_descriptor_exits_1_with_line_and_column(tmp_path):
    ctx = context(tmp_path, SAMPLE)  # no openapi.yaml
    r = check(ctx)
    assert r.returncode == 1
    assert r.stderr.strip() == ("ferry: .choreo/component.yaml:11:21: endpoints[0].schemaFilePath: "
                                "openapi.yaml does not exist in the build context")
    ctx = context(tmp_path, "schemaVersion: 1.2\nendpoints:\n  - {name: db, service: {port: 5432},"
                            " type: TCP}\n")
    r = check(ctx, "--json")
    assert r.returncode == 1
    err = json.loads(r.stderr)
    assert err["error"] == (".choreo/component.yaml:3:5: endpoints[0]: a TCP endpoint can only have "
                            "networkVisibilities [Project] (none is given)")


def test_older_formats_and_no_descriptor(tmp_path):
    r = check(tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("no descriptor")
    ctx = context(tmp_path, "version: 0.1\nendpoints:\n  - name: Greeting Service\n    port: 9090\n"
                            "    type: REST\n    context: /greeting\n", name=".choreo/endpoints.yaml")
    r = check(ctx, "--json")
    assert r.returncode == 0, r.stderr
    [ep] = json.loads(r.stdout)["endpoints"]
    assert ep["name"] == "greeting-service" and ep["declared_name"] == "Greeting Service"
    assert ep["base_path"] == "/greeting"


def test_run_time_confinement_is_shown_and_undeclarable_capabilities_refused(tmp_path):
    ctx = context(tmp_path, "security:\n  capabilities: [net_bind_service]\n"
                            "  readOnlyRootFilesystem: true\n", name=".ferry/component.yaml")
    r = check(ctx)
    assert r.returncode == 0, r
    assert ("at run time: capabilities NET_BIND_SERVICE (every other one dropped), read-only "
            "root file system, no-new-privileges, default seccomp profile") in r.stdout
    j = json.loads(check(ctx, "--json").stdout)
    assert j["descriptor"]["security"] == {"capabilities": ["NET_BIND_SERVICE"],
                                           "read_only_root_filesystem": True}
    ctx = context(tmp_path, "replicas: 1\n", name=".ferry/component.yaml")
    assert "at run time: no Linux capability at all, writable root" in check(ctx).stdout
    ctx = context(tmp_path, "security:\n  capabilities: [NET_ADMIN]\n", name=".ferry/component.yaml")
    r = check(ctx)
    assert r.returncode == 1 and "security.capabilities[0]: must be one of CHOWN" in r.stderr, r
