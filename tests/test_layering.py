"""The apps' layering and the project's import graph, read from the source with ast.

Layering: collab < requests_app < tasks_app < meetings_app < risks_app < review_app <
portfolio_app.
A module may import its own app and the apps below it, never one above: where a lower
layer needs a later stage's rule or reaction, the later app registers it (collab.registry)
from its AppConfig.ready(). devtools_app is development-only: it may import any app, and no app
may import it, as production does not install it. Tests and benchmarks are exempt.

Cycles: no module of the project imports itself through others. Imports inside
functions count (they only postpone the cycle to run time, and make the import order
matter); imports under `if TYPE_CHECKING:` do not (they never run). Importing a.b.c
also runs the packages a and a.b first, so it counts as importing them too, unless the
importer is inside that package (then it is being imported already); a module that
imports a name from its own package (`from . import X`) does depend on it.

Nothing is imported here: every .py file of the apps is parsed, so a module that only
imports another inside a function is seen as well.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

# Lowest first: an app may import only itself and the apps before it.
LAYERS = (
    "collab",
    "requests_app",
    "tasks_app",
    "meetings_app",
    "risks_app",
    "review_app",
    "portfolio_app",
)
# Development-only apps: above every layer, imported by none (not installed in production).
DEV_APPS = ("devtools_app",)


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. "review_app.services.acceptance"
    target: str  # imported name resolved to the longest dotted module prefix it names
    path: Path
    line: int
    type_checking: bool


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def project_modules(root: Path, apps) -> dict[str, Path]:
    """Every module of the given apps, by dotted name."""
    modules = {}
    for app in apps:
        for path in sorted((root / app).rglob("*.py")):
            modules[_module_name(path, root)] = path
    return modules


def imports_of(module: str, path: Path, modules) -> list[Import]:
    """Every import statement of the file, at module level or nested anywhere.

    `from a.b import c` names the module a.b.c when there is one, otherwise a.b.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def add(name: str, line: int, type_checking: bool) -> None:
        found.append(Import(module, name, path, line, type_checking))

    def visit(node: ast.AST, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit_node(statement, True)
                for statement in child.orelse:
                    visit_node(statement, type_checking)
            else:
                visit_node(child, type_checking)

    def visit_node(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno, type_checking)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            for alias in node.names:
                name = f"{base}.{alias.name}"
                add(name if name in modules else base, node.lineno, type_checking)
        visit(node, type_checking)

    visit(tree, False)
    return found


def _app_of(dotted: str) -> str:
    return dotted.partition(".")[0]


def upward_imports(root: Path, layers=LAYERS, dev_apps=DEV_APPS) -> list[str]:
    """Each import of a higher app (or of a development-only app) by a layer's module."""
    rank = {app: i for i, app in enumerate(layers)}
    modules = project_modules(root, (*layers, *dev_apps))
    problems = []
    for module, path in modules.items():
        app = _app_of(module)
        if app not in rank:
            continue  # a development-only app may import anything
        for imp in imports_of(module, path, modules):
            target = _app_of(imp.target)
            where = f"{path.relative_to(root)}:{imp.line} imports {imp.target}"
            if target in dev_apps:
                problems.append(f"{where}: {target} is development-only (not in production)")
            elif target in rank and rank[target] > rank[app]:
                problems.append(f"{where}: {target} is above {app}")
    return problems


def import_graph(root: Path, apps) -> dict[str, dict[str, Import]]:
    """module -> {imported module: the import that makes the edge}, run-time imports only."""
    modules = project_modules(root, apps)
    graph: dict[str, dict[str, Import]] = {module: {} for module in modules}
    for module, path in modules.items():
        for imp in imports_of(module, path, modules):
            if imp.type_checking:
                continue
            target = imp.target
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target not in modules:
                continue  # not the project's (Django, the standard library, ...)
            if target != module:
                graph[module].setdefault(target, imp)
            # The packages Python initialises first, unless the importer is inside them.
            parts = target.split(".")
            for i in range(1, len(parts)):
                name = ".".join(parts[:i])
                if name in modules and not (name == module or module.startswith(f"{name}.")):
                    graph[module].setdefault(name, imp)
    return graph


def _strongly_connected(graph) -> list[list[str]]:
    """Tarjan's algorithm, without recursion; components of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _shortest_cycle(graph, component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a list of modules."""
    members = set(component)
    start = component[0]
    previous = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph[node]):
            if successor == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if successor in members and successor not in previous:
                previous[successor] = node
                queue.append(successor)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def import_cycles(root: Path, apps=(*LAYERS, *DEV_APPS)) -> list[str]:
    """One line per group of modules that import each other, with one cycle spelled out."""
    graph = import_graph(root, apps)
    reports = []
    for component in _strongly_connected(graph):
        cycle = _shortest_cycle(graph, component)
        steps = [
            f"{a} ({graph[a][b].path.relative_to(root)}:{graph[a][b].line})"
            for a, b in pairwise(cycle)
        ]
        reports.append(f"{len(component)} modules {component}: " + " -> ".join([*steps, cycle[-1]]))
    return reports


# --- the project ------------------------------------------------------------------------


def test_every_project_app_has_a_place_in_the_layering():
    """A new app must be put in LAYERS (or DEV_APPS) to be checked at all."""
    installed = {app.partition(".")[0] for app in settings.INSTALLED_APPS}
    ours = {app for app in installed if (ROOT / app / "apps.py").exists()}
    assert ours <= {*LAYERS, *DEV_APPS}, sorted(ours - {*LAYERS, *DEV_APPS})
    for app in (*LAYERS, *DEV_APPS):
        assert project_modules(ROOT, [app]), f"{app}/ has no Python files"


def test_no_app_imports_a_higher_one():
    problems = upward_imports(ROOT)
    assert not problems, "Upward imports:\n" + "\n".join(problems)


def test_no_import_cycles():
    cycles = import_cycles(ROOT)
    assert not cycles, "Import cycles:\n" + "\n".join(cycles)


# --- the checks themselves ----------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checks_find_upward_imports_even_inside_functions(tmp_path):
    _write(
        tmp_path,
        {
            "low/__init__.py": "",
            "low/a.py": "def f():\n    from high.b import x\n",
            "low/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import high\n",
            "low/d.py": "from . import a\nimport tools.seed\n",
            "high/__init__.py": "",
            "high/b.py": "from low import a\nx = 1\n",
            "tools/__init__.py": "",
            "tools/seed.py": "import high.b\n",
        },
    )
    problems = upward_imports(tmp_path, layers=("low", "high"), dev_apps=("tools",))
    assert problems == [
        "low/a.py:2 imports high.b: high is above low",
        "low/c.py:3 imports high: high is above low",
        "low/d.py:2 imports tools.seed: tools is development-only (not in production)",
    ]


def test_the_checks_find_cycles_through_functions_and_packages(tmp_path):
    _write(
        tmp_path,
        {
            "app/__init__.py": "",
            # models -> guards -> (inside a function) selectors -> models
            "app/models.py": "from . import guards\n",
            "app/guards.py": "def check():\n    from .selectors import read\n",
            "app/selectors.py": "from .models import Thing\n",
            # services -> views.panel runs views/__init__, which imports services
            "app/services.py": "def register():\n    from .views import panel\n",
            "app/views/__init__.py": "from . import panel, page\n",
            "app/views/panel.py": "",
            "app/views/page.py": "from ..services import register\n",
            # a module that takes a name from its own package, which imports the module
            "app/areas/__init__.py": "from . import one\nAREAS = [one]\n",
            "app/areas/one.py": "def render():\n    from . import AREAS\n",
            # Not cycles: type-checking only, and a package importing its own modules.
            "app/typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from .hinted import X\n",
            "app/hinted.py": "from .typed import Y\n",
        },
    )
    cycles = import_cycles(tmp_path, apps=("app",))
    assert cycles == [
        "2 modules ['app.areas', 'app.areas.one']: app.areas (app/areas/__init__.py:1) -> "
        "app.areas.one (app/areas/one.py:2) -> app.areas",
        "3 modules ['app.guards', 'app.models', 'app.selectors']: app.guards "
        "(app/guards.py:2) -> app.selectors (app/selectors.py:1) -> app.models "
        "(app/models.py:1) -> app.guards",
        "3 modules ['app.services', 'app.views', 'app.views.page']: app.services "
        "(app/services.py:2) -> app.views (app/views/__init__.py:1) -> app.views.page "
        "(app/views/page.py:1) -> app.services",
    ]
