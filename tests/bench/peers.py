"""The benchmarks' set-up: the Debian packages of every peer they run.

Each benchmark calls ensure() first. It runs `bash tools/setup-debian.sh
--bench` (idempotent: quick when everything is installed; as root it
installs what is missing, as the README's commands do) and then checks the
tools that benchmark needs, so a fresh machine needs nothing done by hand.
"""

import os
import shutil
import subprocess
import sys

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SETUP = ["bash", os.path.join(SOURCE_ROOT, "tools", "setup-debian.sh"), "--bench"]


def ensure(*tools: str) -> None:
    """Installs the benchmark packages if needed; exits 2 naming what is still missing."""
    p = subprocess.run(SETUP)
    if p.returncode != 0:
        sys.exit("benchmark set-up failed (exit %d): %s" % (p.returncode, " ".join(SETUP)))
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        print("not found after %s: %s" % (" ".join(SETUP), " ".join(missing)), file=sys.stderr)
        sys.exit(2)
