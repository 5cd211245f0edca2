"""The SDK suite: the Python package in clients/python, the Node client in clients/js and the examples, each
against the REAL hub (`bankhub serve` from the build) on a free port with a fresh database."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "browser"))   # hubkit: the real hub as a subprocess
sys.path.insert(0, str(ROOT / "clients" / "python"))  # the SDK under test, as a user would import it
