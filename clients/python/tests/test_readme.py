"""The Python example of the README ("From your robot code"), run as it stands against daemon A, with B answering."""

from __future__ import annotations

import asyncio
import re
import sys

from conftest import ROOT, Pair, run

from edge_stack import EdgeClient


def readme_example(language: str) -> str:
    """The one ```language block of the README's "From your robot code" section."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## From your robot code\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"^```{language}\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"expected one {language} block in the README's robot code section"
    return blocks[0]


def test_the_readme_python_example_runs(pair: Pair, env_for) -> None:
    code = readme_example("python")

    async def main() -> str:
        async with EdgeClient(pair.b.socket) as on_b:
            async with on_b.channel(pair.a.peer_id, "chat") as chat:
                example = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", code, env=env_for(pair.a), cwd=str(ROOT),
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
                got = await chat.receive(timeout=30)
                await chat.send(f"hello back to {got}")
                out, _ = await asyncio.wait_for(example.communicate(), 45)
                assert example.returncode == 0, out.decode()
                assert got == "hello from python"
                return out.decode()

    out = run(main())
    assert "reply: hello back to hello from python\n" in out
    frames = int(re.search(r"^frames: (\d+)$", out, re.MULTILINE).group(1))
    assert frames > 0, out
