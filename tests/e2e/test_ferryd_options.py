"""ferryd's command line (src/ferryd/options.c, one table of options):
each bad value is refused before anything starts, with exit status 2 and a
message naming the option and what it takes."""

import subprocess

import pytest

from ferry import binary

BAD = [
    (["--build-concurrency", "17"], "--build-concurrency must be from 1 to 16"),
    (["--build-concurrency", "2x"], "--build-concurrency must be from 1 to 16"),
    (["--build-timeout", "9"], "--build-timeout must be from 10 to 86400 seconds"),
    (["--registry-wait", "0"], "--registry-wait must be from 1 to 3600 seconds"),
    (["--session-ttl", "59"], "--session-ttl must be from 60 to 2592000 seconds"),
    (["--max-connections", "15"], "--max-connections must be from 16 to 100000"),
    (["--max-client-connections", "0"], "--max-client-connections must be from 1 to 100000"),
    (["--request-timeout", "3601"], "--request-timeout must be from 1 to 3600"),
    (["--idle-timeout", "0"], "--idle-timeout must be from 1 to 86400"),
    (["--build-pids", "15"], "--build-pids must be from 16 to 1000000"),
    (["--execution-retention-days", "0"], "--execution-retention-days must be from 1 to 36500"),
    (["--missed-run-deadline", "2678401"], "--missed-run-deadline must be from 1 to 2678400 seconds"),
    (["--min-free-space", "-1"], "--min-free-space must be a number of MiB (0: no floor)"),
    (["--keep-deployments", "1001"], "--keep-deployments must be from 1 to 1000"),
    (["--keep-builds", "0"], "--keep-builds must be from 1 to 1000"),
    (["--log-retention-days", "36501"], "--log-retention-days must be from 1 to 36500"),
    (["--housekeeping-interval", "4"], "--housekeeping-interval must be from 5 to 86400 seconds"),
    (["--body-limit", "1023"], "--body-limit must be from 1024 to 67108864 bytes"),
    (["--workers", "33"], "--workers must be from 1 to 32"),
    (["--workers", "99999999999999999999"], "--workers must be from 1 to 32"),
    (["--max-queued-jobs", "0"], "--max-queued-jobs must be from 1 to 100000"),
    (["--webhook-rate", "0"], "--webhook-rate must be from 1 to 100000 deliveries a minute"),
    (["--build-cpus", "0"], "--build-cpus must be a number of CPUs from 0.01 to 1024"),
    (["--build-memory", "1M"], "--build-memory must be a size of at least 64M"),
    (["--build-disk", "lots"], "--build-disk must be a size of at least 1M"),
    (["--build-network", "some"], "--build-network must be egress or none"),
    (["--registry-gc", "61 * * * *"], "--registry-gc \"61 * * * *\":"),
    (["--log-retention-size", "0"], "--log-retention-size must be a size such as 256M, 4G or 64K"),
    (["--log-level", "loud"], "--log-level must be debug, info, warn or error"),
    (["--runtime", "docker"], "--runtime must be podman or kubernetes"),
    (["--scanner", "clam"], "--scanner must be trivy or grype"),
    (["--buildpack-cache", "relative"], "--buildpack-cache takes an absolute directory"),
    (["--buildpack-mirror", "ftp://x"], "--buildpack-mirror takes a Debian mirror URL"),
    (["--base-registry", "https://r"] * 9, "at most 8 --base-registry"),
    (["--registry-username", "u"], "--registry-username and --registry-password-file go with --registry URL"),
    (["--kubectl", "/bin/true"], "--kubeconfig, --kube-context and --kubectl go with --runtime kubernetes"),
    (["--runtime", "kubernetes"], "--runtime kubernetes needs --registry URL"),
    (["--console-dir", "/tmp", "--no-console"], "give --console-dir DIR or --no-console, not both"),
    (["--master-key-file", "/a", "--master-key-command", "b"],
     "give --master-key-file or --master-key-command, not both"),
    (["stray"], "unexpected argument \"stray\""),
    (["--no-such-option"], "usage: ferryd"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a)[:40] for a, _ in BAD])
def test_a_bad_option_is_refused_naming_it(tmp_path, args, message):
    p = subprocess.run([binary("ferryd"), "--data", str(tmp_path / "data")] + args,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert message in p.stderr, p.stderr
    assert not (tmp_path / "data").exists()  # nothing started


def test_version_and_help(tmp_path):
    p = subprocess.run([binary("ferryd"), "--version"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and p.stdout.startswith("ferryd 0.1.0")
    p = subprocess.run([binary("ferryd"), "--help"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "usage: ferryd" in p.stdout and "--keep-builds" in p.stdout
