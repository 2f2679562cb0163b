"""Checks on the project itself: packaging files agree, the package stays NumPy-only."""

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def requirement_name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def environment_yml():
    """The conda packages and the pip lines of environment.yml (a tiny parser: no PyYAML needed)."""
    conda, pip, section = [], [], None
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.split("#")[0].rstrip()
        if stripped.strip() == "- pip:":
            section = "pip"
        elif stripped.startswith("dependencies:"):
            section = "conda"
        elif stripped.lstrip().startswith("- ") and section:
            (pip if section == "pip" and line.startswith("    ") else conda).append(stripped.strip()[2:])
    return conda, pip


def test_environment_yml_matches_pyproject_and_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {requirement_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    lock = dict(line.split("==") for line in (ROOT / "requirements-lock.txt").read_text().split("\n")
                if "==" in line and not line.startswith("#"))
    lock = {requirement_name(k): v for k, v in lock.items()}
    conda, pip = environment_yml()
    conda_pins = {requirement_name(c): c.split("=")[-1] for c in conda if "=" in c and not c.startswith("python")}
    assert set(conda_pins) == wanted, "environment.yml and pyproject.toml list different packages"
    for name, version in conda_pins.items():
        assert lock[name] == version, f"{name}: environment.yml pins {version}, requirements-lock.txt {lock[name]}"
    assert "-e .[dev]" in pip or "-e ..[dev]" in pip, "environment.yml must install the project itself"


def test_package_imports_numpy_stack_only():
    allowed = {"numpy", "pandas", "matplotlib", "ipywidgets", "tqdm", "IPython", "ipycanvas", "nn_helpers"}
    stdlib = set(sys.stdlib_module_names)
    for path in (ROOT / "nn_helpers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                top = name.split(".")[0]
                assert top in allowed | stdlib, f"{path.name} imports {name}"


def test_bundled_data_is_present_with_checksums():
    sums = (ROOT / "data" / "mnist" / "SHA256SUMS").read_text().split()
    from nn_helpers.data import MNIST_SHA256

    assert dict(zip(sums[1::2], sums[0::2])) == MNIST_SHA256
