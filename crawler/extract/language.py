"""The language of an article's text, from the scripts its letters are written in.

Enough to tell an English or Russian article inside an Arabic edition from the edition's
own articles until a real language detector comes: the script with the largest share of
the letters decides, and the page's declared language stands whenever it is written in
that script (Persian or Kurdish pages stay what they declare).
"""

from __future__ import annotations

import re

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


# Letters of each script (digits, punctuation and marks left out).
SCRIPT_LETTERS = {
    "arabic": re.compile(
        "[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\u08a0-\u08ff"
        "\ufb50-\ufdff\ufe70-\ufefc]"
    ),
    "latin": re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]"),
    "cyrillic": re.compile("[\u0400-\u0481\u048a-\u052f]"),
    "greek": re.compile("[\u0370-\u03ff]"),
    "hebrew": re.compile("[\u05d0-\u05ea]"),
}


def script_language(text: str, declared: str) -> str:
    """``declared`` (a language code) unless ``text`` is clearly written in another script,
    then that script's usual language (``SCRIPT_LANGUAGE``)."""
    text = text[:MAX_CHARS]
    counts = {script: len(letters.findall(text)) for script, letters in SCRIPT_LETTERS.items()}
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
