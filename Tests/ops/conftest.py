"""The operability suite: the command line, configuration from the environment, logs and deploy files, against
the REAL hub binary."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "browser"))   # hubkit: the real hub as a subprocess
sys.path.insert(0, str(ROOT / "clients" / "python"))  # the SDK under test, as a user would import it
