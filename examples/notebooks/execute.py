#!/usr/bin/env python3
"""Runs a notebook top to bottom with nbclient and writes the executed copy.

Usage: execute.py NOTEBOOK OUTPUT

Exits non-zero, with the failing cell's error, when any cell raises. The kernel is the
`python3` kernel of the interpreter running this script (ipykernel installed beside it).
"""
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(notebook: str, output: str) -> int:
    document = nbformat.read(notebook, as_version=4)
    client = NotebookClient(document, timeout=300, kernel_name="python3", resources={"metadata": {"path": "."}})
    try:
        client.execute()
    except CellExecutionError as error:
        print(f"{notebook}: a cell failed:\n{error}", file=sys.stderr)
        return 1
    finally:
        nbformat.write(document, output)
    images = sum(1 for cell in document.cells if cell.cell_type == "code" for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))
    print(f"executed {notebook}: {len(document.cells)} cells, {images} figures")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
