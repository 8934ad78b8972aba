"""The house rules of ../shared/DESIGN.md, checked on the source: which room may import which (no room imports a
room above it, so there are no loops between rooms), and launch/ holds only thin entry points and registries."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# room -> the rooms it may import
ALLOWED = {"modeling": set(), "data_pipeline": set(), "pretrain": {"modeling", "data_pipeline"},
           "finetune": {"pretrain", "modeling", "data_pipeline"}, "baselines": {"pretrain", "modeling", "data_pipeline"},
           "launch": {"pretrain", "finetune", "baselines", "modeling", "data_pipeline"}}


def imported_rooms(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
        found |= {n.split(".")[0] for n in names} & set(ALLOWED)
    return found


def test_rooms_import_only_rooms_below_them():
    wrong = [f"{path.relative_to(ROOT)} imports {other}" for room, allowed in ALLOWED.items()
             for path in sorted((ROOT / room).rglob("*.py"))
             for other in sorted(imported_rooms(path) - allowed - {room})]
    assert not wrong, wrong


def test_launch_is_thin():
    """Entry points and registries only: no file over 40 lines, no job logic (no function over 12 lines)."""
    for path in sorted((ROOT / "launch").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 40, f"{path.name}: {len(lines)} lines"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 12, f"{path.name}: {node.name} has job logic"
