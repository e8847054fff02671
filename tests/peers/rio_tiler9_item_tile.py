"""rio-tiler 9's multi-asset item tile, run in the rio-tiler 9 venv (scripts/setup.sh).

    python rio_tiler9_item_tile.py REQUEST.json OUTPUT.npz

REQUEST: {"item": path of a STAC item JSON file, "x", "y", "z", "assets": [name or
{"name", "indexes"}], "expression": str or null}. OUTPUT: the tile's data, where it
is valid (no band masked in its masked array; rio-tiler 9's `mask` is scaled to the
data type), its band names and band descriptions, and the versions that ran.
"""

import json
import sys
from importlib.metadata import version

import numpy
from rio_tiler.io import STACReader


def main(request_path, output_path):
    request = json.loads(open(request_path).read())
    with STACReader(request["item"]) as reader:
        image = reader.tile(request["x"], request["y"], request["z"], assets=request["assets"],
                            expression=request.get("expression"), tilesize=256)
    valid = ~numpy.ma.getmaskarray(image.array).any(axis=0)
    numpy.savez(output_path, data=image.data, valid=valid, band_names=numpy.array(image.band_names),
                band_descriptions=numpy.array(image.band_descriptions),
                versions=numpy.array([f"rio-tiler {version('rio-tiler')}", f"rasterio {version('rasterio')}"]))


if __name__ == "__main__":
    main(*sys.argv[1:])
