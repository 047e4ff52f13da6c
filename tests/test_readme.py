"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README has no python example"
    for code in blocks:
        exec(compile(code, str(README), "exec"), {})


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)
    assert len(commands) >= 2 and text.index("```bash") < text.index("\n## ")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1].replace(" -q", "") in ci.replace(" -q", "")
