"""Phoneme → viseme mapping for lip-sync (espeak-ng mnemonics to the 15 Oculus visemes).

The viseme set is the Oculus (Meta) Lipsync one — also used by Microsoft/Azure-style avatar
pipelines and by ReadyPlayerMe/Unity blend shapes — 15 mouth shapes, each named by an example
sound (Oculus Lipsync "Viseme Reference"):

======  ==================================  ======  ============================
``sil`` silence / neutral mouth             ``nn``  n, l  ("lot", "not")
``PP``  p, b, m  ("put", "bat", "mat")      ``RR``  r  ("red")
``FF``  f, v  ("fat", "vat")                ``aa``  open a  ("car")
``TH``  th  ("think", "that")               ``E``   e  ("bed")
``DD``  t, d  ("tip", "doll")               ``ih``  i  ("tip")
``kk``  k, g  ("call", "gas")               ``oh``  o  ("toe")
``CH``  tʃ, dʒ, ʃ, ʒ  ("chair", "join")     ``ou``  u  ("book")
``SS``  s, z  ("sir", "zeal")
======  ==================================  ======  ============================

:data:`PHONEME_TO_VISEME` maps every mnemonic that espeak-ng 1.51 emitted in its phoneme events
for the English voices (``en-us``, ``en-gb``, ``en-gb-x-rp``, ``en-gb-scotland``, ``en-029``,
``en-us-nyc`` …) and Russian (``ru``) over a phonetically rich corpus (pangrams, lexical-set word
lists, numbers, the licence texts under ``/usr/share/common-licenses``), plus the remaining
mnemonics of espeak's English and Russian phoneme tables. Choices worth knowing: ``h`` and ``x``
→ ``kk`` (open, back articulation; Amazon Polly does the same), ``j`` and Russian palatalisation
``;`` → ``ih``, ``w`` → ``ou``, ``ts`` → ``SS``, syllabic/dark ``@L`` → ``nn``, r-coloured schwa
``3`` and Scottish ``IR``/``VR`` → ``RR``, glottal stop ``?`` and pauses ``_ _: _!`` → ``sil``.
Anything else is mapped by :func:`viseme_for` through a logged fallback (stress marks stripped,
modifier suffixes such as ``; # - 2 [`` dropped, then the first character's class) — never an error.

Times are seconds from the start of the audio.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from adapters.providers.base import PhonemeEvent

log = logging.getLogger(__name__)

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")
"""The 15 Oculus visemes, in Oculus index order (0 = ``sil`` … 14 = ``ou``)."""

SILENCE_PHONEME = "_"
"""The ``phoneme`` of a silence inserted by :func:`visemes_from_phonemes` (espeak's short pause)."""

_TABLE: dict[str, tuple[str, ...]] = {
    # pauses, glottal stop, empty
    "sil": ("_", "_:", "_!", "_|", "_^_", "_;_", "||", "|", "?", ""),
    "PP": ("p", "b", "m", "m-", "p;", "b;", "m;"),
    "FF": ("f", "v", "f;", "v;"),
    "TH": ("T", "D"),
    "DD": ("t", "d", "t#", "t2", "t[", "d#", "d[", "t;", "d;"),
    "kk": ("k", "g", "N", "x", "h", "k;", "g;", "x;", "h;"),
    "CH": ("tS", "dZ", "S", "Z", "tS;", "dZ;", "S;", "Z;"),
    "SS": ("s", "z", "z#", "ts", "dz", "s;", "z;", "ts;"),
    "nn": ("n", "l", "n-", "l-", "@L", "L", "n;", "l;", "n_"),
    "RR": ("r", "r-", "R", "r;", "3", "IR", "VR", "3:r"),
    # open / central vowels, incl. schwas and a-diphthongs; Russian а/я
    "aa": (
        "a",
        "a#",
        "aa",
        "A",
        "A:",
        "A@",
        "V",
        "@",
        "@-",
        "@2",
        "@5",
        "3:",
        "aI",
        "aI@",
        "aI3",
        "aI2",
        "aU",
        "aU@",
        "ja",
    ),
    "E": ("e", "E", "E2", "E3", "E#", "eI", "e@"),
    "ih": ("i", "i:", "I", "I#", "I2", "i@", "i@3", "y", "j", ";"),
    "oh": ("0", "O", "O:", "O2", "O@", "o", "o@", "oU", "OI", "8"),
    "ou": ("u", "u:", "U", "U@", "u#", 'u"', "w", "w#", "W", "ju"),
}

PHONEME_TO_VISEME: dict[str, str] = {ph: vis for vis, phones in _TABLE.items() for ph in phones}
"""espeak-ng phoneme mnemonic → one of :data:`VISEMES`."""

_STRESS_MARKS = "',%=ˈˌ"
_SUFFIXES = ';#-_"2345[:/!'
_FIRST_CHAR = {
    **{c: "aa" for c in "aAV@3"},
    **{c: "E" for c in "eE"},
    **{c: "ih" for c in "iIyj"},
    **{c: "oh" for c in "oO08"},
    **{c: "ou" for c in "uUwW"},
    **{c: "PP" for c in "pbm"},
    **{c: "FF" for c in "fv"},
    **{c: "TH" for c in "TD"},
    **{c: "DD" for c in "td"},
    **{c: "kk" for c in "kgNxhqGX"},
    **{c: "CH" for c in "SZ"},
    **{c: "SS" for c in "sz"},
    **{c: "nn" for c in "nlL"},
    **{c: "RR" for c in "rR"},
    "_": "sil",
}
_warned: set[str] = set()


@dataclass(frozen=True)
class Viseme:
    """One mouth shape: ``viseme`` (one of :data:`VISEMES`) over [``start``, ``end``) seconds,
    produced by espeak mnemonic ``phoneme`` (``"_"`` for inserted silence)."""

    viseme: str
    start: float
    end: float
    phoneme: str


def viseme_for(phoneme: str) -> str:
    """The viseme (one of :data:`VISEMES`) for an espeak-ng mnemonic.

    Exact table entries first; otherwise stress marks are stripped and modifier suffixes
    dropped one by one, and finally the first character's class decides (``aa`` for anything
    unrecognisable). Fallbacks are logged once per mnemonic at WARNING. Never raises.
    """
    hit = PHONEME_TO_VISEME.get(phoneme)
    if hit is not None:
        return hit
    key = "".join(c for c in phoneme if c not in _STRESS_MARKS).strip()
    hit = PHONEME_TO_VISEME.get(key)
    if hit is not None:
        return hit
    stripped = key
    while stripped and stripped[-1] in _SUFFIXES:
        stripped = stripped[:-1]
        hit = PHONEME_TO_VISEME.get(stripped)
        if hit is not None:
            break
    if hit is None:
        hit = _FIRST_CHAR.get(key[:1], "sil" if not key else "aa")
    if phoneme not in _warned:
        _warned.add(phoneme)
        log.warning("espeak phoneme %r has no viseme entry; using fallback %r", phoneme, hit)
    return hit


_SNAP = 1e-6  # seconds: gaps/overlaps smaller than this are closed instead of filled with silence


def visemes_from_phonemes(phonemes: list[PhonemeEvent], duration: float) -> list[Viseme]:
    """Turn phoneme timing into a contiguous viseme track covering [0, ``duration``] seconds.

    Guarantees on the result (for any input list, sorted or not):

    * sorted, contiguous and non-overlapping: ``v[i].end == v[i + 1].start`` exactly;
    * the first starts at 0.0 (a ``sil`` with phoneme ``"_"`` is inserted before a late first
      phoneme) and the last ends exactly at ``duration`` (a final ``sil`` is extended, or a
      ``sil`` appended);
    * no zero-length entries (phonemes outside [0, duration] or empty after clipping are
      dropped); one entry per remaining phoneme — identical neighbours are not merged;
    * interior gaps become ``sil``; overlaps are resolved by starting the later phoneme at the
      end of the earlier one; gaps under 1 µs are closed instead (the next phoneme starts at the
      previous end, a last phoneme ending within 1 µs of ``duration`` is stretched to it).

    ``duration`` 0 gives ``[]``. Raises ValueError if ``duration`` is negative or not finite.
    """
    if not isinstance(duration, (int, float)) or not math.isfinite(duration) or duration < 0:
        raise ValueError(f"duration must be a finite number of seconds >= 0, got {duration!r}")
    duration = float(duration)
    out: list[Viseme] = []
    if duration == 0:
        return out
    cursor = 0.0
    for p in sorted(phonemes, key=lambda p: (p.start, p.end)):
        if not (math.isfinite(p.start) and math.isfinite(p.end)):
            continue
        start = max(p.start, cursor)  # overlaps start at the previous end; also clips below 0
        if start - cursor < _SNAP:
            start = cursor
        end = min(p.end, duration)
        if end <= start:
            continue
        if start > cursor:
            out.append(Viseme("sil", cursor, start, SILENCE_PHONEME))
        out.append(Viseme(viseme_for(p.phoneme), start, end, p.phoneme))
        cursor = end
    if cursor < duration:
        if out and (out[-1].viseme == "sil" or duration - cursor < _SNAP):
            last = out[-1]
            out[-1] = Viseme(last.viseme, last.start, duration, last.phoneme)
        else:
            out.append(Viseme("sil", cursor, duration, SILENCE_PHONEME))
    return out
