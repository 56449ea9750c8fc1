"""Every string marked for translation has its Russian, and the .po files are current.

The check regenerates the catalogs as `make translations` would, but in a copy of the
project's source (tmp_path): the apps' Python files, templates/, the locale directories and
manage.py. Django's makemessages there merges the copied .po files with the strings marked
in the copied code, so the regenerated catalogs hold every string the code marks today, with
the Russian the repository has for it. Then:

- every entry must be translated and not fuzzy (each plural form filled): a failure lists
  each (file, msgid) to translate;
- the repository's own .po files must hold the same msgids: a string marked in the code but
  missing from the repository's .po means someone forgot `make translations`.

The repository's own files are never written. Needs GNU gettext (xgettext, msgmerge,
msgfmt): skips without it locally, fails without it in CI.
"""

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polib
import pytest

from tests.fixtures.browser import running_in_ci

ROOT = Path(__file__).resolve().parents[2]
# The Makefile's `translations` target, word for word (run in the copy).
MAKEMESSAGES = [
    "makemessages", "--locale", "ru", "--no-obsolete", "--add-location", "file",
    "--ignore", ".*", "--ignore", "tests/*", "--ignore", "scripts/*", "--ignore", "var/*",
    "--ignore", "docs/*", "--ignore", "staticfiles/*",
]  # fmt: skip
# Not copied: what makemessages is told to ignore, and what holds no source of ours.
NOT_SOURCE = {".venv", "var", "tests", "scripts", "docs", "staticfiles", "static", "node_modules"}
GETTEXT_TOOLS = ("xgettext", "msgmerge", "msgfmt")
DELIBERATE = "A deliberately untranslated sentence"


def require_gettext() -> None:
    missing = [tool for tool in GETTEXT_TOOLS if shutil.which(tool) is None]
    if missing:
        reason = (
            f"GNU gettext is missing ({', '.join(missing)}): install gettext "
            "(Debian: apt-get install gettext) to check the translations"
        )
        if running_in_ci():
            pytest.fail(reason)
        pytest.skip(reason)


def copy_source(target: Path) -> Path:
    """The apps (top-level packages), templates/, locale/ and manage.py, into target."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo")
    for entry in sorted(ROOT.iterdir()):
        if entry.name.startswith(".") or entry.name in NOT_SOURCE:
            continue
        if entry.is_dir() and (
            entry.name in ("templates", "locale") or (entry / "__init__.py").exists()
        ):
            shutil.copytree(entry, target / entry.name, ignore=skip)
    shutil.copy2(ROOT / "manage.py", target / "manage.py")
    return target


def regenerate(copy: Path) -> None:
    """`make translations`, in the copy."""
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"makemessages failed:\n{result.stdout}\n{result.stderr}"


def catalogs(root: Path) -> dict[str, polib.POFile]:
    """Every Russian .po under root (locale/ and each app's locale/), by relative path."""
    paths = [*root.glob("locale/ru/LC_MESSAGES/*.po"), *root.glob("*/locale/ru/LC_MESSAGES/*.po")]
    return {str(path.relative_to(root)): polib.pofile(str(path)) for path in sorted(paths)}


def key(entry: polib.POEntry) -> str:
    return f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid


def shown(entry: polib.POEntry) -> str:
    context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
    where = ", ".join(sorted({path for path, _line in entry.occurrences}))
    return f"{entry.msgid!r}{context}" + (f" [{where}]" if where else "")


@dataclass
class Finding:
    file: str
    msgid: str
    problem: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}: {self.text}"


def untranslated(pos: dict[str, polib.POFile]) -> list[Finding]:
    """Each entry without its Russian: empty, fuzzy, or a plural form left empty."""
    findings = []
    for file, po in pos.items():
        for entry in po:
            if entry.obsolete:
                continue
            if "fuzzy" in entry.flags:
                problem = "fuzzy (check the guess, then drop the fuzzy flag)"
            elif entry.msgid_plural:
                forms = entry.msgstr_plural
                # Russian has 4 plural forms in Django's catalogs (see the .po's header).
                if not forms or any(not text.strip() for text in forms.values()):
                    problem = "a plural form is untranslated"
                else:
                    continue
            elif not entry.msgstr.strip():
                problem = "untranslated"
            else:
                continue
            findings.append(Finding(file, entry.msgid, problem, shown(entry)))
    return findings


def report(findings: list[Finding], what: str) -> str:
    return f"{len(findings)} {what}:\n" + "\n".join(str(f) for f in findings)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> dict[str, polib.POFile]:
    """The catalogs `make translations` would write today, made in a copy."""
    require_gettext()
    copy = copy_source(tmp_path_factory.mktemp("source"))
    regenerate(copy)
    return catalogs(copy)


def test_every_marked_string_has_its_russian(regenerated):
    findings = untranslated(regenerated)
    assert not findings, (
        report(findings, "marked string(s) without Russian")
        + "\nTranslate them in the .po named (after `make translations`), then `make messages`."
    )


def test_the_repositorys_po_files_hold_every_marked_string(regenerated):
    """A string marked in the code but missing from the repository's .po (or an entry left
    for a string no longer marked): someone forgot `make translations`."""
    ours = catalogs(ROOT)
    problems = []
    for file, po in regenerated.items():
        wanted = {key(entry): entry for entry in po if not entry.obsolete}
        have = {key(entry) for entry in ours[file] if not entry.obsolete} if file in ours else set()
        problems += [
            f"{file}: marked in the code, missing from the .po: {shown(wanted[k])}"
            for k in sorted(wanted.keys() - have)
        ]
        problems += [
            f"{file}: in the .po, no longer marked in the code: {k!r}"
            for k in sorted(have - wanted.keys())
        ]
    problems += [
        f"{file}: `make translations` would not keep this file"
        for file in ours.keys() - regenerated.keys()
    ]
    assert not problems, (
        f"{len(problems)} difference(s) between the code and the .po files; "
        "run `make translations` and translate the new entries:\n" + "\n".join(problems)
    )


def test_the_check_catches_a_marked_but_untranslated_string(tmp_path, regenerated):
    """A sentence marked in a Python file and translated nowhere is reported, alone."""
    copy = copy_source(tmp_path)
    (copy / "dashboard" / "deliberately_untranslated.py").write_text(
        "from django.utils.translation import gettext as _\n\n\n"
        "def sentence():\n"
        f"    return _({DELIBERATE!r})\n"
    )
    regenerate(copy)
    before = {(f.file, f.msgid) for f in untranslated(regenerated)}
    found = [f for f in untranslated(catalogs(copy)) if (f.file, f.msgid) not in before]
    assert [(f.file, f.msgid, f.problem) for f in found] == [
        ("dashboard/locale/ru/LC_MESSAGES/django.po", DELIBERATE, "untranslated")
    ]
    assert "dashboard/deliberately_untranslated.py" in str(found[0])
    # The repository's own catalog was not touched.
    assert DELIBERATE not in (ROOT / "dashboard/locale/ru/LC_MESSAGES/django.po").read_text()


def test_a_translated_and_a_fuzzy_entry_read_as_they_should():
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Save", msgstr="Сохранить"))
    po.append(polib.POEntry(msgid="Cancel", msgstr="Отменить", flags=["fuzzy"]))
    po.append(
        polib.POEntry(
            msgid="%(count)s number",
            msgid_plural="%(count)s numbers",
            msgstr_plural={0: "%(count)s номер", 1: "%(count)s номера", 2: "", 3: "x"},
        )
    )
    found = {f.msgid: f.problem for f in untranslated({"x.po": po})}
    assert found == {
        "Cancel": "fuzzy (check the guess, then drop the fuzzy flag)",
        "%(count)s number": "a plural form is untranslated",
    }
