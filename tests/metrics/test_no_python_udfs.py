"""No Python function runs inside Polars anywhere in the product.

Polars runs a Python UDF (map_elements, map_batches, apply, ...) on its own
thread pool, where it must take the GIL; a session holding the GIL while it
waits on that pool (st.dataframe converting a frame) then deadlocks the whole
server (ten sessions on the Funding page hung it for good). Native expressions
never need the GIL, so the rule is simply: none of these calls in the product."""

from __future__ import annotations

import ast

from fixture_paths import REPO

UDF_METHODS = {"map_elements", "map_batches", "map_rows", "map_groups", "apply", "map_dict", "pipe_udf"}
PRODUCT = ["csi_metrics", "pages", "dashboard.py"]
# The demo generator is not on any request path (the build runs it) and uses none either.


def product_files():
    for entry in PRODUCT:
        p = REPO / entry
        yield from ([p] if p.is_file() else sorted(p.rglob("*.py")))


def test_no_polars_python_udfs_in_the_product():
    found = []
    for path in product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in UDF_METHODS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: .{node.attr}")
    assert found == [], "Python UDFs in Polars deadlock under concurrent sessions:\n" + "\n".join(found)


def test_the_scan_sees_a_udf_when_there_is_one(tmp_path):
    code = "import polars as pl\ndf = pl.DataFrame({'a': [1]}).with_columns(pl.col('a').map_elements(str))\n"
    tree = ast.parse(code)
    assert [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in UDF_METHODS] \
        == ["map_elements"]
