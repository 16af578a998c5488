"""Every Chinese text the platform shows is marked for translation (zh-Hans first, ready for
other languages): no Chinese string literal in application code outside a gettext call.

What is exempt: docstrings, log messages (for operators, not users), tests and migrations, and
lines that carry the marker ``# i18n: data`` (content that is data, not interface: region names,
the columns an import sheet is matched by, demo records, fixed wording of a filed document).

Run ``python zhipei/core/tests/test_translatable.py [paths...]`` to list what is left.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]")
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "gettext_noop",
    "npgettext",
    "npgettext_lazy",
}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
MARKER = "# i18n: data"
SKIPPED_PARTS = {"tests", "migrations", "locale", "static", "templates"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _exempt_nodes(tree: ast.AST) -> set[int]:
    """ids of nodes whose strings need no marking: gettext arguments, docstrings, log calls."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            logging_call = (
                isinstance(node.func, ast.Attribute)
                and name in LOG_METHODS
                and "log" in ast.unparse(node.func.value).lower()
            )
            if name in GETTEXT or logging_call:
                for inner in ast.walk(node):
                    exempt.add(id(inner))
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                exempt.add(id(body[0].value))
    return exempt


def untranslated_in(path: Path) -> Iterator[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source, filename=str(path))
    exempt = _exempt_nodes(tree)
    # The marker may sit on any line of the innermost statement holding the text (a formatter
    # moves closing brackets and comments about).
    statements: dict[int, tuple[int, int]] = {}
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.stmt) and stmt.end_lineno is not None:
            for line in range(stmt.lineno, stmt.end_lineno + 1):
                known = statements.get(line)
                if known is None or known[1] - known[0] > stmt.end_lineno - stmt.lineno:
                    statements[line] = (stmt.lineno, stmt.end_lineno)
    for node in ast.walk(tree):
        if id(node) in exempt:
            continue
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value
                for part in node.values
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
            )
            for part in node.values:
                exempt.add(id(part))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            continue
        if not CJK.search(text):
            continue
        first, last = statements.get(node.lineno, (node.lineno, node.end_lineno or node.lineno))
        if any(MARKER in line for line in lines[first - 1 : last]):
            continue
        yield node.lineno, text


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for base in paths:
        files = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in files:
            if not SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts):
                yield path


def untranslated(paths: Iterable[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {text[:40]!r}"
        for path in python_files(paths)
        for line, text in untranslated_in(path)
    ]


JS_STRING = re.compile(r"""(['"])((?:\\.|(?!\1).)*)\1""")
JS_COMMENT = re.compile(r"^\s*(//|/\*|\*)")


def untranslated_scripts(folder: Path) -> list[str]:
    """The same rule for the platform's own scripts: a Chinese string literal must be the first
    argument of gettext() (the catalog served at /jsi18n/), as ``makemessages -d djangojs``
    finds it."""
    left = []
    for path in sorted(folder.rglob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if JS_COMMENT.match(line):
                continue
            for match in JS_STRING.finditer(line):
                if CJK.search(match.group(2)) and not line[: match.start()].endswith("gettext("):
                    left.append(f"{path.relative_to(ROOT)}:{number}: {match.group(2)[:40]!r}")
    return left


def test_script_texts_are_marked_for_translation() -> None:
    left = untranslated_scripts(ROOT / "zhipei" / "static" / "zhipei" / "js")
    assert not left, "Chinese text in scripts outside gettext():\n" + "\n".join(left)


def test_chinese_texts_are_marked_for_translation() -> None:
    left = untranslated([ROOT / "zhipei"])
    assert not left, "Chinese text outside gettext (wrap it, or mark data '# i18n: data'):\n" + (
        "\n".join(left)
    )


if __name__ == "__main__":
    targets = [Path(arg).resolve() for arg in sys.argv[1:]] or [ROOT / "zhipei"]
    found = untranslated(targets)
    print("\n".join(found))
    print(f"{len(found)} untranslated", file=sys.stderr)
