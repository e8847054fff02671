"""Storage from Python: write, list, read back, and handle an error.

Usage: python3 examples/python/storage.py ROOT_DIR
"""

import sys

import tessera

root = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tessera-example-python"
storage = tessera.Storage.open(root)
storage.put("notes/hello-python.txt", b"hello from Python")
for key in storage.list("notes/"):
    print(key, "->", storage.get(key).decode())
try:
    storage.get("notes/missing.txt")
except tessera.NotFound as error:
    print("expected NotFound:", error)
