"""Memory of a server under load, for the server benchmarks (stac_api_bench.py, tile_server_bench.py)."""

import re
from pathlib import Path


def process_tree_pss(pid):
    """Proportional resident memory (PSS) in bytes of a process and all its descendants: a page
    several processes (uvicorn's workers) or mappings (SQLite's memory-mapped database, one map per
    connection) share counts once in the sum, where VmRSS would count it once per mapping."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.MULTILINE).group(1)) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, AttributeError):
            continue
    return total
