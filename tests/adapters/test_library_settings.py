"""The libraries' own settings hold before they load, whichever adapter is imported first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SETTINGS = ("OPENBLAS_NUM_THREADS", "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS")

# records the environment at the moment numpy and tldextract are first imported
SPY = """
import os, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name in ("numpy", "tldextract") and name not in seen:
            seen[name] = (os.environ.get("OPENBLAS_NUM_THREADS"),
                          os.environ.get("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"))
        return None
sys.meta_path.insert(0, Spy())
import {module}
print(sorted(seen.items()))
"""


@pytest.mark.parametrize("module", ["streams.adapters.recognizers.base",
                                    "streams.adapters.presidio_detector"])
def test_set_before_numpy_and_tldextract_load(module: str) -> None:
    # numpy loaded before OPENBLAS_NUM_THREADS=1 runs several BLAS threads per process: spaCy's
    # NER took about three times the CPU (a benchmark importing one recognizer first did)
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    result = subprocess.run([sys.executable, "-c", SPY.replace("{module}", module)], env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str([("numpy", ("1", "")), ("tldextract", ("1", ""))])
