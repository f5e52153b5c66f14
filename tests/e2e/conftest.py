import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ferry import Ferryd  # noqa: E402


@pytest.fixture
def ferryd(tmp_path):
    """A fresh ferryd with its own data dir; stopped (by pid) after the test."""
    d = Ferryd(str(tmp_path / "data"))
    d.start()
    yield d
    d.stop()
    assert d.proc.returncode in (0, -9), "ferryd exit %s:\n%s" % (d.proc.returncode, d.log()[-4000:])
