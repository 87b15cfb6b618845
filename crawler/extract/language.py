"""The language of an article's text, from the scripts its letters are written in.

Enough to tell an English or Russian article inside an Arabic edition from the edition's
own articles until a real language detector comes: the script with the largest share of
the letters decides, and the page's declared language stands whenever it is written in
that script (Persian or Kurdish pages stay what they declare).
"""

from __future__ import annotations

import unicodedata

# The language a script stands for when the page declares none written in it.
SCRIPT_LANGUAGE = {"arabic": "ar", "latin": "en", "cyrillic": "ru", "greek": "el", "hebrew": "he"}
# Languages written in each script (a declared one of these is believed).
SCRIPT_OF_LANGUAGE = {
    **dict.fromkeys(("ar", "fa", "ur", "ku", "ckb", "ps", "sd", "ug"), "arabic"),
    **dict.fromkeys(("ru", "uk", "bg", "sr", "mk", "be", "kk"), "cyrillic"),
    "el": "greek",
    "he": "hebrew",
}
# A script decides only with this share of the letters and this many letters read.
MIN_SHARE = 0.6
MIN_LETTERS = 40
# Letters read: the first ones are enough, and the work stays bounded on a huge body.
MAX_CHARS = 4000


def script_of(char: str) -> str | None:
    """The script of a letter (``arabic``, ``latin``, ...), None for anything else."""
    if not char.isalpha():
        return None
    code = ord(char)
    if 0x0600 <= code <= 0x06FF or 0x0750 <= code <= 0x08FF or 0xFB50 <= code <= 0xFEFF:
        return "arabic"
    if code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    if 0x0400 <= code <= 0x052F:
        return "cyrillic"
    if 0x0370 <= code <= 0x03FF:
        return "greek"
    if 0x0590 <= code <= 0x05FF:
        return "hebrew"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0].lower() or None


def script_language(text: str, declared: str) -> str:
    """``declared`` (a language code) unless ``text`` is clearly written in another script,
    then that script's usual language (``SCRIPT_LANGUAGE``)."""
    counts: dict[str, int] = {}
    for char in text[:MAX_CHARS]:
        script = script_of(char)
        if script:
            counts[script] = counts.get(script, 0) + 1
    total = sum(counts.values())
    if total < MIN_LETTERS:
        return declared
    script, count = max(counts.items(), key=lambda kv: kv[1])
    if count < MIN_SHARE * total:
        return declared
    declared_script = SCRIPT_OF_LANGUAGE.get(declared, "latin")
    if script == declared_script:
        return declared
    return SCRIPT_LANGUAGE.get(script, declared)
