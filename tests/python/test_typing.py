"""The installed package is typed (py.typed and the _tessera.pyi stub generated at build time), and the
Python examples pass a type check (mypy) against it."""

import ast
import importlib.util
import pathlib
import subprocess
import sys

import tessera

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = pathlib.Path(tessera.__file__).parent
STUB = PACKAGE / "_tessera.pyi"

# Calls a type checker must reject, each with the start of the error it must report: proof that the
# checker reads tessera's types rather than treating the package as untyped (Any).
MISUSE = '''\
import tessera

tessera.read_tile(1, 0, 0, 0)
catalog: tessera.Catalog = tessera.Storage.open("root")
tessera.TileMatrixSet.from_name("WebMercatorQuad").tile(0.0, 0.0, z="1")
'''
MISUSE_ERRORS = [
    (3, 'Argument 1 to "read_tile" has incompatible type "int"; expected "str"'),
    (4, 'Incompatible types in assignment (expression has type "Storage", variable has type "Catalog")'),
    (5, 'Argument "z" to "tile" of "TileMatrixSet" has incompatible type "str"'),
]


def stub_definitions():
    """The stub's top-level definitions (functions, classes, variables) and class methods by name
    ("read_tile", "Mosaic", "Mosaic.tile", "__version__")."""
    definitions = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            definitions[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            definitions[node.target.id] = node
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef):
                    definitions[f"{node.name}.{member.name}"] = member
    return definitions


def parameters(function):
    return [arg.arg for arg in function.args.args if arg.arg != "self"]


def annotation(function, name):
    return next(ast.unparse(arg.annotation) for arg in function.args.args if arg.arg == name)


def test_package_ships_type_information():
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()
    # The stub is for the extension module the package re-exports from.
    assert importlib.util.find_spec("tessera._tessera").origin.startswith(str(PACKAGE))


def test_stub_declares_the_api():
    definitions = stub_definitions()
    # Tiles are addressed as (x, y, z), as morecantile and rio-tiler do.
    assert parameters(definitions["tile"])[:4] == ["href", "x", "y", "z"]
    # read_tile, tile's name before 0.2, takes the same arguments.
    assert parameters(definitions["read_tile"]) == parameters(definitions["tile"])
    assert parameters(definitions["Mosaic.tile"])[:3] == ["x", "y", "z"]
    assert parameters(definitions["TileMatrixSet.xy_bounds"])[:3] == ["x", "y", "z"]
    assert parameters(definitions["Tile.__init__"]) == ["x", "y", "z"]
    # Every name the package re-exports from the extension module is declared by the stub (the
    # pure-Python modules, _errors and dask_executor, are typed by their own source).
    def pure_python(name):
        module = getattr(getattr(tessera, name), "__module__", None) or ""
        return module.startswith("tessera.") and module != "tessera._tessera"

    python_names = {name for name in tessera.__all__ if pure_python(name)}
    assert "DaskExecutor" in python_names
    assert set(tessera.__all__) - python_names - set(definitions) == set()
    # Objects that may be left out are `X | None`, not an implicit Optional (`X = None`).
    assert annotation(definitions["ingest"], "matcher") == "Matcher | None"
    assert annotation(definitions["ingest_messages"], "matcher") == "Matcher | None"
    assert annotation(definitions["Packager.__init__"], "catalog") == "Catalog | None"
    assert annotation(definitions["preprocess_sketch"], "cache") == "Storage | None"
    # No annotation stubgen could not express (it writes `...` for a C++ type Python cannot see).
    def unexpressed(annotation):
        return isinstance(annotation, ast.Constant) and annotation.value is Ellipsis

    for node in ast.walk(ast.parse(STUB.read_text())):
        if isinstance(node, (ast.arg, ast.AnnAssign)):
            assert not unexpressed(node.annotation), ast.unparse(node)
        if isinstance(node, ast.FunctionDef):
            assert not unexpressed(node.returns), node.name


def test_examples_type_check(tmp_path):
    examples = sorted((ROOT / "examples" / "python").glob("*.py"))
    assert examples
    misuse = (tmp_path / "misuse.py").resolve()
    misuse.write_text(MISUSE)
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(tmp_path / "cache"), "--show-absolute-path", "--no-error-summary",
         *map(str, examples), str(misuse)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "No module named mypy" not in run.stderr, "mypy is missing: run scripts/setup.sh"
    errors = [line for line in run.stdout.splitlines() if ": error: " in line]
    assert not [line for line in errors if not line.startswith(str(misuse))], run.stdout + run.stderr
    for line, message in MISUSE_ERRORS:
        assert any(error.startswith(f"{misuse}:{line}: error: {message}") for error in errors), run.stdout
    assert len(errors) == len(MISUSE_ERRORS), run.stdout
