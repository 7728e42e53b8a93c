"""Reading grade of content text, with drug names and glossary words masked.

A drug name such as "trastuzumab deruxtecan" is not a hard sentence, so names are
replaced by a short word before grading. The grade is Flesch-Kincaid; syllables are
counted with Pyphen's hyphenation dictionary (already installed with WeasyPrint), so
grading needs no download.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

MASK = "drug"
_MD = re.compile(r"[*_`#>\[\]()]|^\s*[-+]\s+|^\s*\d+\.\s+", re.MULTILINE)


def prose(parts: Iterable[str]) -> str:
    """Join text fragments as sentences (list items count as sentences)."""
    out = []
    for part in parts:
        for line in _MD.sub(" ", part).splitlines():
            line = line.strip()
            if not line:
                continue
            out.append(line if line[-1] in ".?!:" else line + ".")
    return " ".join(out)


def mask(text: str, words: Iterable[str]) -> str:
    """Replace each of `words` (longest first, whole words, any case) by MASK."""
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", MASK, text, flags=re.IGNORECASE)
    return text


_WORD = re.compile(r"[A-Za-zÀ-ɏ]+(?:['’][A-Za-zÀ-ɏ]+)?|\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"[.!?]+(?:\s|$)|:\s*$", re.MULTILINE)
_DIC: list[object] = []


_FR: list[object] = []


def syllables_fr(word: str) -> int:
    """Syllables in one French word: vowel groups, where a mute final e or -es does not
    count (Pyphen's French dictionary splits abbreviations without vowels)."""
    if word[0].isdigit():
        return 1
    if not _FR:
        import pyphen

        _FR.append(pyphen.Pyphen(lang="fr_FR"))
    w = word.lower().replace("’", "'").split("'")[-1] or word.lower()
    groups = len(re.findall(r"[aeiouyàâäéèêëîïôöùûüœæ]+", w))
    if re.search(r"[^aeiouy](e|es)$", w) and groups > 1:
        groups -= 1  # mute final e or -es
    if not groups:  # an abbreviation: Pyphen's split
        return len(_FR[0].positions(w)) + 1  # type: ignore[attr-defined]
    return groups


def _rates(text: str, count) -> tuple[float, float] | None:  # type: ignore[no-untyped-def]
    """(words per sentence, syllables per word), with `count` the syllable counter."""
    words = _WORD.findall(text)
    if not words:
        return None
    sentences = max(1, len(_SENTENCE.findall(text.strip() + " ")))
    return len(words) / sentences, sum(count(w) for w in words) / len(words)


def kandel_moles(text: str) -> float:
    """Kandel and Moles' French adaptation of Flesch reading ease (higher is easier; 60-70 is
    plain, 70-80 fairly easy): 207 - 1.015 x words per sentence - 73.6 x syllables per word."""
    rates = _rates(text, syllables_fr)
    if rates is None:
        return 100.0
    return round(207 - 1.015 * rates[0] - 73.6 * rates[1], 1)


def syllables(word: str) -> int:
    """Syllables in one word: the larger of two estimates (vowel groups; hyphenation)."""
    if word[0].isdigit():
        return 1
    if not _DIC:
        import pyphen

        _DIC.append(pyphen.Pyphen(lang="en_US"))
    w = word.lower().replace("’", "'").split("'")[0]
    groups = len(re.findall(r"[aeiouy]+", w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and groups > 1:
        groups -= 1  # silent final e
    if w.endswith(("ed", "es")) and not w.endswith(("ted", "ded", "ses", "zes", "ces", "ges", "xes")) and groups > 1:
        groups -= 1
    hyph = len(_DIC[0].positions(w)) + 1  # type: ignore[attr-defined]
    return max(1, groups, hyph)


def grade(text: str) -> float:
    """Flesch-Kincaid grade of `text` (0 for empty text)."""
    rates = _rates(text, syllables)
    if rates is None:
        return 0.0
    score = 0.39 * rates[0] + 11.8 * rates[1] - 15.59
    return round(max(0.0, score), 1)


def _main(argv: list[str]) -> int:
    """Print the grade of each file given (a helper while writing content)."""
    from booklet.content import load_library, item_text

    lib = load_library()
    for path in argv:
        item = lib.item_for_path(path)
        print(f"{path}: grade {grade(mask(prose(item_text(item)), lib.mask_words)):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
