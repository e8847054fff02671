"""Runs stac-api-validator offline: `python run_validator.py <stac-api-validator arguments>`.

Run it with the Python of the validator's own venv (scripts/setup.sh makes it). Before handing
the arguments to stac_api_validator's main, it

1. answers every JSON Schema the validator, stac-check and pystac ask for from local files: the
   STAC core (1.1.0) and GeoJSON schemas that the venv's pystac bundles, and the JSON Schema
   meta-schemas (draft-07 ...) from jsonschema-specifications. Nothing else is needed while the
   served objects are STAC 1.1.0 and list no stac_extensions (the landing page is not validated
   against a schema: pystac migrates it to 1.1.0 first). A schema URL with no local copy raises
   (its URL in the message), so a missing schema shows up as a validator error instead of a
   silent pass or a hang. To add one, vendor it from a PyPI wheel under schemas/ (created then)
   with a README line saying where it came from and its license:
   schemas/stac-spec/v{version}/{file}.json for https://schemas.stacspec.org/v{version}/...,
   schemas/extensions/{name}/v{version}/schema.json for
   https://stac-extensions.github.io/{name}/v{version}/schema.json;
2. refuses name look-ups of any host but loopback (socket.getaddrinfo), so nothing leaves the
   machine: link and asset hrefs on other hosts fail at once, which the validator counts as
   warnings, never as errors.
"""

import ipaddress
import json
import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
VENDORED = HERE / "schemas"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def is_loopback(host):
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def pystac_schemas():
    import pystac.validation

    return Path(pystac.validation.__file__).resolve().parent / "jsonschemas"


def local_schema_path(url):
    """The local copy of schema `url`, or None."""
    url = url.split("#", 1)[0]
    match = re.fullmatch(r"https://schemas\.stacspec\.org/v([^/]+)/[a-z]+-spec/json-schema/([\w.-]+\.json)", url)
    if match:
        version, name = match.groups()
        for root in (pystac_schemas(), VENDORED):
            path = root / "stac-spec" / f"v{version}" / name
            if path.is_file():
                return path
        return None
    match = re.fullmatch(r"https://geojson\.org/schema/(\w+\.json)", url)
    if match:
        path = pystac_schemas() / "geojson" / match.group(1)
        return path if path.is_file() else None
    match = re.fullmatch(r"https://stac-extensions\.github\.io/([\w-]+)/v([^/]+)/schema\.json", url)
    if match:
        path = VENDORED / "extensions" / match.group(1) / f"v{match.group(2)}" / "schema.json"
        return path if path.is_file() else None
    return None


def json_schema_metaschema(url):
    """A JSON Schema meta-schema (draft-07, 2019-09, 2020-12) from jsonschema-specifications, or None."""
    from jsonschema_specifications import REGISTRY

    for candidate in (url, url.rstrip("#"), url.rstrip("#") + "#"):
        if candidate in REGISTRY:
            return REGISTRY[candidate].contents
    return None


class SchemaNotVendored(RuntimeError):
    pass


def load_schema(url):
    """The schema at `url` from a local copy; raises SchemaNotVendored when there is none."""
    path = local_schema_path(url)
    if path is not None:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    metaschema = json_schema_metaschema(url)
    if metaschema is not None:
        return metaschema
    raise SchemaNotVendored(f"offline validator run: no local copy of schema {url} "
                            f"(vendor it under {VENDORED}: see {Path(__file__).name})")


def guard_name_lookups():
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not is_loopback(name):
            raise socket.gaierror(socket.EAI_NONAME, f"offline validator run: {name} is not loopback")
        return original(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def patch_stac_validator():
    from stac_validator import utilities

    original = utilities.fetch_and_parse_file

    def fetch_and_parse_file(input_path, headers=None):
        if utilities.is_url(input_path) and not is_loopback(urlsplit(input_path).hostname):
            return load_schema(input_path)  # only schemas are fetched from other hosts
        return original(input_path, headers)

    # The schema cache (utilities._schema_cache) calls the module global by name.
    utilities.fetch_and_parse_file = fetch_and_parse_file


def patch_pystac():
    from pystac.validation import RegisteredValidator

    validator = RegisteredValidator.get_validator()
    # catalog.json and collection.json live under their own spec; the others under item-spec.
    urls = [f"https://schemas.stacspec.org/{path.parent.name}/"
            f"{path.stem if path.stem in ('catalog', 'collection') else 'item'}-spec/json-schema/{path.name}"
            for root in (pystac_schemas(), VENDORED)
            for path in sorted((root / "stac-spec").glob("v*/*.json"))]
    urls += [f"https://geojson.org/schema/{path.name}" for path in sorted((pystac_schemas() / "geojson").glob("*.json"))]
    urls += [f"https://stac-extensions.github.io/{path.parent.parent.name}/{path.parent.name}/schema.json"
             for path in sorted(VENDORED.glob("extensions/*/v*/schema.json"))]
    urls.append("http://json-schema.org/draft-07/schema")
    for url in urls:
        if url not in validator.schema_cache:
            validator.schema_cache[url] = load_schema(url)
    # Anything else pystac asks for goes to the network, which guard_name_lookups refuses:
    # pystac reports it as a GetSchemaError naming the URL.


def main(argv):
    guard_name_lookups()
    patch_stac_validator()
    patch_pystac()
    from stac_api_validator.__main__ import main as validator_main

    validator_main(args=argv, prog_name="stac-api-validator")


if __name__ == "__main__":
    main(sys.argv[1:])
