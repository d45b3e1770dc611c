"""`python -m harness cleanup`: removes the namespaces and processes of
harness runs that were killed before they could clean up."""

import sys

from .network import cleanup_stale

if __name__ == "__main__":
    if sys.argv[1:] != ["cleanup"]:
        sys.exit("usage: python -m harness cleanup")
    for name in cleanup_stale():
        print(f"removed network namespace {name}")
