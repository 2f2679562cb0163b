"""tools/lite.py (python3 dev.py lite) without building a site: the checks that stop a build, the notebook
copies, and the markers that keep JupyterLab and Voila out of the browser install."""

import hashlib
import importlib.util
import json
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("lite", ROOT / "tools" / "lite.py")
lite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lite)


def fake_release(folder: Path, packages: dict, monkeypatch) -> dict:
    """A Pyodide release folder with runtime files whose hashes are pinned (monkeypatched) and a lock of
    ``packages`` (name -> (file content, sha256 the lock claims, depends))."""
    lock = {"info": {"version": lite.PYODIDE_VERSION}, "packages": {}}
    for name, (content, claimed, depends) in packages.items():
        file_name = f"{name}-1.0-py3-none-any.whl"
        (folder / file_name).write_bytes(content)
        lock["packages"][name] = {"name": name, "file_name": file_name, "sha256": claimed, "depends": depends}
    pins = {}
    for name in lite.RUNTIME:
        data = json.dumps(lock).encode() if name == "pyodide-lock.json" else f"runtime {name}".encode()
        (folder / name).write_bytes(data)
        pins[name] = hashlib.sha256(data).hexdigest()
    monkeypatch.setattr(lite, "RUNTIME", pins)
    return lock


def test_a_package_file_that_is_not_pyodides_own_stops_the_build(tmp_path, monkeypatch):
    release, site = tmp_path / "release", tmp_path / "site"
    release.mkdir()
    good = b"the real numpy"
    fake_release(release, {"numpy": (good, hashlib.sha256(good).hexdigest(), []),
                           "pandas": (b"something else", hashlib.sha256(b"pandas").hexdigest(), ["numpy"])},
                 monkeypatch)
    monkeypatch.setattr(lite, "WASM_PACKAGES", ["pandas"])
    with pytest.raises(lite.BuildError) as error:
        lite.add_pyodide(site, tmp_path, release)
    message = str(error.value)
    assert "pandas-1.0-py3-none-any.whl" in message and "SHA-256" in message
    assert hashlib.sha256(b"pandas").hexdigest() in message  # what the lock says
    assert "--pyodide DIR" in message  # and what to do
    assert not (site / "static" / "pyodide" / "pandas-1.0-py3-none-any.whl").exists()


def test_the_lock_is_cut_to_the_files_the_site_holds(tmp_path, monkeypatch):
    release, site = tmp_path / "release", tmp_path / "site"
    release.mkdir()
    files = {name: f"{name} wheel".encode() for name in ("numpy", "pandas", "scipy", "prompt-toolkit")}
    fake_release(release, {"numpy": (files["numpy"], hashlib.sha256(files["numpy"]).hexdigest(), []),
                           "pandas": (files["pandas"], hashlib.sha256(files["pandas"]).hexdigest(),
                                      ["numpy", "prompt_toolkit"]),
                           "prompt-toolkit": (files["prompt-toolkit"],
                                              hashlib.sha256(files["prompt-toolkit"]).hexdigest(), []),
                           "scipy": (files["scipy"], "0" * 64, ["numpy"])}, monkeypatch)
    monkeypatch.setattr(lite, "WASM_PACKAGES", ["pandas"])
    assert lite.add_pyodide(site, tmp_path, release) == ["numpy", "pandas", "prompt-toolkit"]
    lock = json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text(encoding="utf-8"))
    assert sorted(lock["packages"]) == ["numpy", "pandas", "prompt-toolkit"]  # no scipy: never asked for
    assert (site / "static" / "pyodide" / "pyodide.asm.wasm").exists()


def test_a_runtime_file_of_another_version_stops_the_build(tmp_path, monkeypatch):
    release = tmp_path / "release"
    release.mkdir()
    fake_release(release, {}, monkeypatch)
    (release / "pyodide.asm.wasm").write_bytes(b"another build")
    with pytest.raises(lite.BuildError, match=r"pyodide\.asm\.wasm: SHA-256 [0-9a-f]{64}, but Pyodide 0\.27\.7"):
        lite.check_runtime(release)


def test_the_pins_are_the_official_release():
    assert lite.PYODIDE_VERSION == "0.27.7"
    assert lite.RUNTIME["pyodide-lock.json"] == "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c"
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(extra["lite"]) == {"jupyterlite-core==0.6.4", "jupyterlite-pyodide-kernel==0.6.1"}


def test_a_notebook_in_the_site_starts_with_the_install_cell_and_has_no_outputs():
    source = ROOT / "notebooks" / "03_softmax_cross_entropy.ipynb"
    copy = lite.site_notebook(source)
    original = json.loads(source.read_text(encoding="utf-8"))
    assert "".join(copy["cells"][0]["source"]) == lite.INSTALL_CELL
    assert [c["source"] for c in copy["cells"][1:]] == [c["source"] for c in original["cells"]]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in copy["cells"] if c["cell_type"] == "code")
    assert "widgets" not in copy["metadata"]
    assert copy["metadata"]["kernelspec"]["name"] == "python"  # JupyterLite's Pyodide kernel: no kernel dialog


BROWSER = {"sys_platform": "emscripten", "platform_system": "Emscripten", "python_version": "3.12",
           "python_full_version": "3.12.7", "implementation_name": "cpython", "platform_machine": "wasm32"}


def test_the_markers_keep_the_desktop_apps_out_of_the_browser_install():
    """What piplite installs in Pyodide with nn_helpers: no JupyterLab or Voila, and a matplotlib that
    Pyodide 0.27.7's own 3.8.4 satisfies; on a desktop, everything as before."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(r) for r in project["dependencies"]]
    in_browser = {r.name: r.specifier for r in requirements if r.marker is None or r.marker.evaluate(BROWSER)}
    desktop = {r.name: r.specifier for r in requirements
               if r.marker is None or r.marker.evaluate({**BROWSER, "sys_platform": "linux", "platform_system": "Linux"})}
    assert "jupyterlab" not in in_browser and "voila" not in in_browser
    assert in_browser["matplotlib"].contains("3.8.4")
    assert {"numpy", "pandas", "ipywidgets", "tqdm", "ipycanvas", "threadpoolctl"} <= set(in_browser)
    assert {"jupyterlab", "voila"} <= set(desktop) and not desktop["matplotlib"].contains("3.8.4")
    wheels = {Requirement(w).name.replace("_", "-") for w in lite.WHEELS}
    assert set(in_browser) - {"numpy", "pandas", "matplotlib", "threadpoolctl"} <= wheels, \
        "a dependency installed in the browser has neither a wasm package nor a wheel in the site"
