"""The package's modules import one another without circles.

Every ``import`` inside ``src/mixtura`` (at module level or deferred inside a
function) is an edge of a graph between mixtura's modules; a circle in it means
two modules that can only be loaded in one order, usually papered over with an
import inside a function. A package's ``__init__`` imports its submodules, so a
submodule that imports its own package back closes a circle too.
"""

import ast
from pathlib import Path

import mixtura

ROOT = Path(mixtura.__file__).parent


def _module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in ROOT.rglob("*.py")}


def _target(name, imported=None):
    """The mixtura module an import names (a submodule if ``imported`` is one)."""
    if imported and f"{name}.{imported}" in MODULES:
        return f"{name}.{imported}"
    return name if name in MODULES else None


def _edges(module, path):
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(_target(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets.update(_target(node.module, alias.name) for alias in node.names)
    targets.discard(None)
    targets.discard(module)
    return targets


def _cycles(graph):
    """Every module that lies on a circle, with one circle through it."""
    found = {}
    for start in graph:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, route = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    found.setdefault(start, [*route, start])
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*route, nxt]))
    return found


def _graph():
    return {module: _edges(module, path) for module, path in MODULES.items()}


def test_the_module_graph_has_no_circles():
    cycles = _cycles(_graph())
    assert not cycles, "\n".join(" -> ".join(route) for route in cycles.values())


def test_the_graph_sees_deferred_imports():
    # the check reads imports inside functions too: the selection module's
    # deferred KMeans import is not mixtura's, but its top-level ones are
    graph = _graph()
    assert "mixtura.estimators" in graph["mixtura.selection"]
    assert "mixtura.families.registry" in graph["mixtura.families.noise"]
