"""The package ships what it needs: every subpackage is listed, and the data is found."""

import tomllib
from pathlib import Path

from coach.adapters import resources

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_under_coach_is_listed_in_pyproject():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "coach").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "add these packages to [tool.setuptools] packages"


def test_package_data_resolves_to_the_repo_folders():
    assert resources.prompts_dir().samefile(ROOT / "prompts")
    assert resources.scenarios_dir().samefile(ROOT / "scenarios")
    assert resources.evals_dir().samefile(ROOT / "evals")
    assert resources.adversarial_dir().samefile(ROOT / "evals" / "adversarial")


def test_every_data_file_kind_in_the_folders_is_declared_as_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = data["package-dir"]
    for package, patterns in data["package-data"].items():
        if package not in dirs:
            continue
        folder = ROOT / dirs[package]
        shipped = {p.name for pat in patterns for p in folder.glob(pat)}
        on_disk = {p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".py"}
        assert on_disk <= shipped, f"{folder}: not shipped in the wheel: {on_disk - shipped}"
