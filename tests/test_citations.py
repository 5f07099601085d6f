"""Citations of the project's own notes resolve, and nothing cites the team's notes outside the repository.

* Every section sign followed by a number (``docs/methods.md`` citations, and the bare ones that follow them:
  in this repository a section sign always means docs/methods.md) names a heading of docs/methods.md. Forms:
  a section, a range of sections in one part, an item of a section (``-N``), letter items (``a``, ``c-g``, ``b, d``).
* Every architecture citation with a quoted title names a heading of docs/architecture.md.
* No file outside docs/ mentions the upper-case outside notes (METHODS / DESIGN, the team's shared docs).

Files: what ``git ls-files`` lists, tracked or new but not ignored.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = Path("docs/methods.md")
ARCHITECTURE = Path("docs/architecture.md")
OUTSIDE_NOTES = tuple(f"{name}.md" for name in ("METHODS", "DESIGN"))

SIGN = "\N{SECTION SIGN}"
SECTION = re.compile(
    SIGN + r"(?P<major>\d+)(?:\.(?P<minor>\d+))?"
    r"(?:[-–](?P<to_major>\d+)\.(?P<to_minor>\d+)"  # a range: 2.3-2.5
    r"|-(?P<item>\d+)(?!\d|\.\d)"  # an item: 0.2-3
    r"| (?P<letters>[a-z](?:\s*[-–,]\s*[a-z])*)(?!\w))?"  # letter items: 0.5 d, 0.5 c-g, 0.5 b, d
)
ARCHITECTURE_CITATION = re.compile(r"docs/architecture\.md,?\s*\"(?P<title>[^\"\n]+)\"")
HEADING = re.compile(r"^#+\s+(?P<title>.+?)\s*$")


def section_ids(match: re.Match) -> list[str]:
    """The heading ids a section reference names: ``2``, ``2.4``, ``0.2-3`` or ``0.5 d``."""
    major, minor = match["major"], match["minor"]
    base = major if minor is None else f"{major}.{minor}"
    if match["to_major"] is not None:
        if minor is None or match["to_major"] != major:
            return [base, f"{match['to_major']}.{match['to_minor']}"]
        return [f"{major}.{m}" for m in range(int(minor), int(match["to_minor"]) + 1)]
    if match["item"] is not None:
        return [f"{base}-{match['item']}"]
    if match["letters"] is not None:
        ids = []
        for part in match["letters"].split(","):
            ends = [letter.strip() for letter in re.split(r"[-–]", part)]
            ids += [f"{base} {chr(c)}" for c in range(ord(ends[0]), ord(ends[-1]) + 1)]
        return ids
    return [base]


@cache
def files() -> tuple[Path, ...]:
    """Tracked files and new files git does not ignore, relative to the repository root."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the files to check are those git lists")
    names = {name for name in listed.decode().split("\0") if name}
    return tuple(sorted(Path(name) for name in names | {str(METHODS)} if (ROOT / name).is_file()))


def text(path: Path) -> str:
    return (ROOT / path).read_text(encoding="utf-8", errors="replace")


def headings(path: Path) -> list[str]:
    return [match["title"] for line in text(path).splitlines() if (match := HEADING.match(line))]


@cache
def methods_ids() -> frozenset[str]:
    ids = []
    for title in headings(METHODS):
        match = SECTION.match(title)
        if match:
            ids += section_ids(match)
    return frozenset(ids)


def occurrences(pattern: re.Pattern) -> list[tuple[Path, int, re.Match]]:
    found = []
    for path in files():
        for number, line in enumerate(text(path).splitlines(), 1):
            found += [(path, number, match) for match in pattern.finditer(line)]
    return found


@pytest.mark.parametrize(
    ("reference", "ids"),
    [
        ("0.1", ["0.1"]),
        ("2 on", ["2"]),
        ("2.3–2.5", ["2.3", "2.4", "2.5"]),
        ("6.3-6.6)", ["6.3", "6.4", "6.5", "6.6"]),
        ("0.2-4), Libra-PB", ["0.2-4"]),
        ("0.5 d)", ["0.5 d"]),
        ("0.5 c-g, ", ["0.5 c", "0.5 d", "0.5 e", "0.5 f", "0.5 g"]),
        ("0.5 b, d)", ["0.5 b", "0.5 d"]),
        ("0.5 a's steps", ["0.5 a"]),
        ("5.4: hidden", ["5.4"]),
        ("0.5 and", ["0.5"]),
    ],
)
def test_a_section_reference_names_these_headings(reference, ids):
    assert section_ids(SECTION.match(SIGN + reference)) == ids


def test_methods_headings_carry_unique_section_numbers():
    titles = [title for title in headings(METHODS) if SIGN in title]
    numbers = [SECTION.match(title)[0] for title in titles]
    assert titles and len(numbers) == len(set(numbers)), sorted(n for n in numbers if numbers.count(n) > 1)


def test_every_section_citation_names_a_heading_of_the_methods_notes():
    missing = [
        f"{path}:{number}: {match[0]!r} ({', '.join(sorted(set(section_ids(match)) - methods_ids()))})"
        for path, number, match in occurrences(SECTION)
        if not set(section_ids(match)) <= methods_ids()
    ]
    assert not missing, f"no such heading in {METHODS}:\n" + "\n".join(missing)


def test_every_architecture_citation_names_a_heading():
    titles = set(headings(ARCHITECTURE))
    missing = [
        f"{path}:{number}: {match['title']!r}"
        for path, number, match in occurrences(ARCHITECTURE_CITATION)
        if match["title"] not in titles
    ]
    assert not missing, f"no such heading in {ARCHITECTURE}:\n" + "\n".join(missing)


def test_nothing_outside_docs_cites_the_outside_notes():
    cited = [
        f"{path}:{number}: {name}"
        for path in files()
        if path.parts[0] != "docs"
        for number, line in enumerate(text(path).splitlines(), 1)
        for name in OUTSIDE_NOTES
        if name in line
    ]
    assert not cited, "cite docs/methods.md or docs/architecture.md instead:\n" + "\n".join(cited)


MODULE_REFERENCE = re.compile(r"(?<![\w/.])bnn(?:\.[A-Za-z_]\w*)+")
FILE_NAMES = ("bnn.pt", "bnn.yaml")  # model.bnn.pt, envs/bnn.yaml: files, not modules


def resolves(reference: str) -> bool:
    """``bnn.a.b.name``: a module of bnn, or an attribute of one."""
    import importlib

    parts = reference.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for name in parts[split:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_every_module_the_docs_name_exists():
    """A module path in the docs (``bnn.plan.layout``, ``bnn.config.files.merge``) names what the code has."""
    docs = [p for p in files() if p.suffix == ".md"]
    missing = sorted(
        f"{path}: {reference}"
        for path in docs
        for reference in set(MODULE_REFERENCE.findall(text(path)))
        if reference not in FILE_NAMES and not reference.endswith(FILE_NAMES) and not resolves(reference)
    )
    assert missing == []
