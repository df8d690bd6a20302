"""The runnable examples (examples/), the README blocks made from them, and the CI recipes of docs/ci.md: each
one executed as a partner would, so none of them can rot."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox, free_port

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CI_TOKEN = "ci-token"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: this venv's commands first, nothing of the outer test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENKASH_SANDBOX_", "PYTEST_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def readme_block(marker: str) -> str:
    readme = (ROOT / "README.md").read_text()
    at = readme.index(f"<!-- {marker}")
    block = re.search(r"```python\n(.*?)```", readme[at:], flags=re.S)
    assert block, marker
    return block.group(1)


def test_the_readme_blocks_are_the_examples():
    assert readme_block("examples/quickstart.py") == (EXAMPLES / "quickstart.py").read_text()
    assert readme_block("examples/test_partner_app.py") == (EXAMPLES / "test_partner_app.py").read_text()
    assert readme_block("examples/payouts.py") == (EXAMPLES / "payouts.py").read_text()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with LiveSandbox(Settings(db=str(tmp_path_factory.mktemp("examples") / "s.db"))) as sandbox:
        yield sandbox


def test_the_quickstart_runs_as_printed(live):
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        env=clean_env(ENKASH_SANDBOX_URL=live.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "500"
    assert lines[1].startswith("Duplicate uniqueReferenceNumber: ORDER-42 was already used on card account CA")
    assert lines[2] == "[]"


def test_the_payouts_example_runs_as_printed(live):
    run = subprocess.run(
        [sys.executable, str(EXAMPLES / "payouts.py")],
        env=clean_env(ENKASH_SANDBOX_URL=live.url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    # what the comments in the example promise, line by line
    assert run.stdout.splitlines() == [
        "PROCESSING",
        "SUCCESS",
        "BENEFICIARY_BANK_DECLINED",
        "997500",
        "CREDIT 100 997500",
    ]


@pytest.fixture
def partner_repo(tmp_path) -> Path:
    """A partner's repository: their integration code and their tests, nothing of this project's."""
    for name in ("partner_app.py", "test_partner_app.py"):
        shutil.copy2(EXAMPLES / name, tmp_path / name)
    return tmp_path


def test_the_plugin_example_runs_with_xdist(partner_repo):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2"],
        cwd=partner_repo,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "3 passed" in run.stdout


# -- docs/ci.md ---------------------------------------------------------------------------------------------------
def recipes() -> list[tuple[str, dict | list]]:
    text = (ROOT / "docs" / "ci.md").read_text()
    found = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title = section.splitlines()[0].strip()
        for block in re.findall(r"```yaml\n(.*?)```", section, flags=re.S):
            found.append((title, yaml.safe_load(block)))
    return found


def commands_of(recipe: dict | list) -> tuple[list[str], dict[str, str], bool]:
    """(shell commands, the job's environment, whether the sandbox is a service container) of one recipe."""
    if isinstance(recipe, list):  # a fragment: steps only
        return [s["run"] for s in recipe if "run" in s], {}, False
    job = next(iter(recipe.values()))
    if "jobs" in recipe:  # GitHub Actions
        job = next(iter(recipe["jobs"].values()))
        commands = []
        for step in job["steps"]:
            if "run" in step:
                prefix = " ".join(f"{k}={v}" for k, v in (step.get("env") or {}).items())
                commands.append(f"{prefix} {step['run']}".strip())
        return commands, {k: str(v) for k, v in (job.get("env") or {}).items()}, "services" in job
    return list(job["script"]), {k: str(v) for k, v in (job.get("variables") or {}).items()}, "services" in job


RECIPES = recipes()


def test_docs_ci_has_both_platforms_in_both_variants():
    titles = [title for title, _ in RECIPES]
    for platform in ("GitHub Actions", "GitLab CI"):
        for variant in ("pip-installed", "service container"):
            assert f"{platform}, {variant}" in titles


@pytest.mark.parametrize("title,recipe", RECIPES, ids=[t for t, _ in RECIPES])
def test_a_ci_recipe_runs(title, recipe, partner_repo, tmp_path):
    commands, env, service = commands_of(recipe)
    # the package is installed here already, and nothing downloads at test time
    commands = [c for c in commands if "pip install" not in c]
    assert any("python -m pytest -n auto" in c for c in commands), title
    # one test of the partner's suite, in one process, with only the plugins it uses: the recipe's commands are
    # what is under test here (the suite under xdist, plugins found by their entry points, is
    # test_the_plugin_example_runs_with_xdist), and CI's time is shared
    quick = "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -m pytest -q -p enkash_sandbox -p xdist.plugin -n 0 -k loads_a_card"
    commands = [c.replace("python -m pytest -n auto", quick) for c in commands]
    stand_in = None
    if service:
        # the service container, stood in for by a sandbox with the recipe's admin token, as the image runs it
        assert env.get("ENKASH_SANDBOX_ADMIN_TOKEN") == CI_TOKEN, title
        stand_in = LiveSandbox(Settings(db=str(tmp_path / "service.db"), admin_token=CI_TOKEN)).__enter__()
        stand_in.admin_token = CI_TOKEN
        url = stand_in.url
    else:
        url = f"http://127.0.0.1:{free_port()}"
    script = "\n".join(
        ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
        + [
            re.sub(r"http://(127\.0\.0\.1|enkash-sandbox):8080", url, c).replace("--port 8080", f"--port {url.rsplit(':', 1)[1]}")
            for c in commands
        ]
    )
    env = {k: re.sub(r"http://(127\.0\.0\.1|enkash-sandbox):8080", url, v) for k, v in env.items()}
    try:
        run = subprocess.run(
            ["bash", "-c", script], cwd=partner_repo, env=clean_env(**env), capture_output=True, text=True, timeout=300
        )
    finally:
        if stand_in is not None:
            stand_in.__exit__(None, None, None)
    assert run.returncode == 0, f"{title}\n{script}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert "1 passed" in run.stdout
