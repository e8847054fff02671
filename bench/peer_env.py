"""Virtualenvs of the benchmarks' peers (rio-tiler, TiTiler, titiler-pgstac, stac-fastapi-pgstac).

Each peer gets a venv of its own under the benchmark's work dir, without the system
site-packages, with pinned packages: the versions measured are the pins, not whatever
the machine happens to have. A venv is reused while its pins are unchanged and made
again when they change. `installed_versions` asks the venv what it holds, so reports
name the versions that ran.

An in-process comparison (tessera and the peer in one process, sharing the same GDAL
settings and cache handling) runs the whole benchmark in the peer's venv: the venv is
made with `with_tessera=True`, which makes the `tessera` package of the interpreter that
created it importable there (a .pth file naming a folder that holds only a link to that
package, so no other system package leaks in), and `reexec_in` restarts the script under
the venv's Python.

    python = ensure_peer(work_dir, "rio-tiler", with_tessera=True)
    reexec_in(python)                      # returns at once when already running there
    installed_versions(python, ["rio-tiler", "rasterio"])
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PINS_FILE = "bench-pins.json"  # in the venv: what it was made with

# The peers' pins, the latest releases of each line when set (PyPI). titiler-pgstac 3.2.0
# requires titiler-core < 2.4, so it runs with titiler-core 2.3.0 (the latest it accepts), in
# a venv apart from the titiler-core 2.4 one. psycopg's binary wheel brings its own libpq;
# uvicorn[standard] (uvloop, httptools) is how both are deployed.
PEERS = {
    "rio-tiler": ["rio-tiler==9.4.12", "rasterio==1.4.4"],
    "titiler-core": ["titiler.core==2.4.0", "rio-tiler==9.4.12", "rasterio==1.4.4", "uvicorn[standard]==0.55.0"],
    "titiler-pgstac": ["titiler.pgstac[psycopg-binary]==3.2.0", "titiler.core==2.3.0", "rio-tiler==9.4.12",
                       "rasterio==1.4.4", "uvicorn[standard]==0.55.0"],
    "stac-fastapi-pgstac": ["stac-fastapi-pgstac[server]==7.2.0"],
    # Exact zonal statistics (geoprocessing_bench.py); rasterio brings the GDAL it reads with.
    "exactextract": ["exactextract==0.3.0", "rasterio==1.4.4"],
}


def venv_dir(work_dir, name):
    return Path(work_dir) / "venvs" / name


def _tessera_package():
    """The folder of the `tessera` package this interpreter imports."""
    spec = importlib.util.find_spec("tessera")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("tessera is not importable here: install it first (pip install --no-build-isolation .)")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def ensure_venv(work_dir, name, requirements, with_tessera=False):
    """The Python of the venv `name` under `work_dir`, holding `requirements` (pip specifiers);
    made (or made again, when the pins or the tessera link changed) as needed."""
    venv = venv_dir(work_dir, name)
    python = venv / "bin" / "python"
    tessera = str(_tessera_package()) if with_tessera else None
    pins = {"requirements": list(requirements), "tessera": tessera, "base_python": sys.version.split()[0]}
    marker = venv / PINS_FILE
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == pins:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    print(f"making the {name} venv in {venv}: {' '.join(requirements)}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
                   check=True)
    if tessera:
        link_dir = venv / "tessera-only"
        link_dir.mkdir()
        (link_dir / "tessera").symlink_to(tessera, target_is_directory=True)
        site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        Path(site, "tessera-only.pth").write_text(str(link_dir) + "\n")
    marker.write_text(json.dumps(pins))
    return python


def ensure_peer(work_dir, name, with_tessera=False):
    """`ensure_venv` with the pins of PEERS[name]."""
    return ensure_venv(work_dir, name, PEERS[name], with_tessera=with_tessera)


def installed_versions(python, distributions):
    """{distribution: version} as the venv's Python sees them."""
    code = ("import json\nfrom importlib.metadata import version\n"
            f"print(json.dumps({{name: version(name) for name in {list(distributions)!r}}}))")
    return json.loads(subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


def reexec_in(python):
    """Runs this script again, with the same arguments, under `python` (a venv's), unless it
    already runs there."""
    if Path(sys.prefix).resolve() == Path(python).parent.parent.resolve():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(str(python), [str(python), sys.argv[0], *sys.argv[1:]])
