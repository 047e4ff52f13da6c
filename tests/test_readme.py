"""The README's and the docs' Python examples run as written; the README starts with the two commands."""

import re
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


class PairInvariantNet(nn.Module):
    """A user's model for the README's `my_model`: Σ_ij MLP(p_i·p_j / 10⁴) over real particles."""

    def __init__(self):
        super().__init__()
        self.phi = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))

    def forward(self, p, mask):
        eta = torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=p.dtype)
        gram = torch.einsum("bni,bmi->bnm", p * eta, p) / 1e4
        pair = (mask[:, :, None] & mask[:, None, :]).to(p.dtype)
        return (self.phi(gram[..., None]).squeeze(-1) * pair).sum((1, 2))


def _blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_readme_python_block_runs_on_a_users_model():
    blocks = _blocks(README)
    assert blocks, "README has no python example"
    torch.manual_seed(0)
    for code in blocks:
        exec(compile(code, str(README), "exec"), {"my_model": PairInvariantNet().double()})


def _examples(path: Path) -> list[str]:
    """The self-contained examples of a doc: blocks that begin with their imports (others are sketches of a class)."""
    return [b for b in _blocks(path) if b.lstrip().startswith(("import ", "from "))]


@pytest.mark.parametrize("doc", [d for d in DOCS if _examples(d)], ids=lambda d: d.name)
def test_docs_python_examples_run(doc):
    for code in _examples(doc):
        exec(compile(code, str(doc), "exec"), {})


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)
    assert len(commands) == 2 and text.index("```bash") < text.index("\n## ")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].replace(" -q", "") in ci.replace(" -q", "")


#: the team's internal design notes (outside the repository): no user-facing document may send a reader there
TEAM_NOTES = re.compile(r"DESIGN\.md")


def test_docs_links_resolve_and_never_cite_the_team_notes():
    for path in [README, *DOCS]:
        text = path.read_text(encoding="utf-8")
        assert not TEAM_NOTES.search(text), path
        for link in re.findall(r"\]\(([^)#:]+\.md)\)", text):
            assert (path.parent / link).exists(), f"{path.name} links to missing {link}"


def test_the_suite_installs_as_clariant_validate_and_nothing_imports_a_top_level_validate(tmp_path):
    """configobj installs a top-level package `validate`: the suite (sources in validate/) must install as
    `clariant.validate`, never as a top-level `validate`, and nothing may import one."""
    import subprocess
    import sys

    sources = [*ROOT.glob("validate/**/*.py"), *ROOT.glob("clariant/**/*.py"), *ROOT.glob("clariant_core/**/*.py")]
    sources += [*ROOT.glob("tests/*.py"), *ROOT.glob("benchmarks/*.py"), README, *DOCS]
    bad = re.compile(r"^\s*(from validate[ .]|import validate\b)", re.M)
    offenders = [p.name for p in sources if bad.search(p.read_text(encoding="utf-8"))]
    assert not offenders, offenders
    probe = (
        "import importlib.util as u, clariant.validate as v; s = u.find_spec('validate'); "
        "print(v.__name__, v.__file__, s.origin if s else None)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    name, path, top = out.stdout.split()
    assert name == "clariant.validate" and Path(path).parent == ROOT / "validate"
    assert top == "None" or ROOT not in Path(top).parents  # outside the checkout, no top-level `validate` of ours
