"""Text basics for the offline engine: tokens, language detection, stopwords, a light stemmer, negators.

Tokens are runs of letters/digits (apostrophes inside words kept), lower-cased with ``’`` → ``'``
and ``ё`` → ``е``. Stems are what the engine compares: suffix-stripped, then truncated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)


def detect_language(text: str, default: str = "en") -> str:
    """``ru`` when ``text`` has more Cyrillic than Latin letters, ``en`` when Latin wins,
    ``default`` when it has neither."""
    cyr, lat = len(_CYRILLIC_RE.findall(text)), len(_LATIN_RE.findall(text))
    if not cyr and not lat:
        return default
    return "ru" if cyr > lat else "en"


def _norm(token: str) -> str:
    """Lower case, ``’`` → ``'``, ``ё`` → ``е``."""
    return token.lower().replace("’", "'").replace("ё", "е")


def _tokens(text: str) -> list[str]:
    """The normalised word tokens of ``text``."""
    return [_norm(t) for t in _TOKEN_RE.findall(text)]


_STOP_EN = {
    "a", "an", "the", "and", "or", "but", "if", "then", "else", "of", "to", "in", "on", "at", "by", "for", "with",
    "about", "from", "into", "over", "after", "before", "between", "under", "again", "further", "once", "here",
    "there", "when", "where", "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some",
    "such", "only", "own", "same", "so", "than", "too", "very", "can", "will", "just", "should", "now", "i", "me",
    "my", "myself", "we", "our", "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "it",
    "its", "they", "them", "their", "what", "which", "who", "whom", "this", "that", "these", "those", "am", "is",
    "are", "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing",
    "would", "could", "shall", "may", "might", "must", "let", "let's", "i'm", "i've", "i'd", "i'll", "you're",
    "you've", "you'll", "you'd", "we're", "we've", "we'll", "it's", "that's", "there's", "here's", "what's", "um",
    "uh", "oh", "well", "yeah", "also", "please", "really", "sir", "madam", "ma'am", "not", "no", "yes", "ok",
    "okay", "hmm",
}  # fmt: skip
_STOP_RU = {
    _norm(w)
    for w in (
        "и", "в", "во", "не", "что", "он", "на", "я", "с", "со", "как", "а", "то", "все", "всё", "она", "так",
        "его", "но", "да", "ты", "к", "у", "же", "вы", "за", "бы", "по", "только", "ее", "её", "мне", "было",
        "вот", "от", "меня", "еще", "ещё", "нет", "о", "из", "ему", "теперь", "когда", "даже", "ну", "ли",
        "если", "уже", "или", "ни", "быть", "был", "него", "до", "вас", "нибудь", "опять", "уж", "вам", "ведь",
        "там", "потом", "себя", "ничего", "ей", "может", "они", "тут", "где", "есть", "надо", "ней", "для",
        "мы", "тебя", "их", "чем", "была", "сам", "чтоб", "без", "будто", "чего", "раз", "тоже", "себе", "под",
        "будет", "ж", "тогда", "кто", "этот", "того", "потому", "этого", "какой", "совсем", "ним", "здесь",
        "этом", "почти", "мой", "тем", "чтобы", "нее", "сейчас", "были", "куда", "зачем", "всех", "можно",
        "при", "наконец", "об", "другой", "хоть", "после", "над", "больше", "тот", "через", "эти", "нас", "про",
        "всего", "них", "какая", "много", "разве", "эту", "моя", "впрочем", "свою", "этой", "перед", "иногда",
        "чуть", "том", "нельзя", "такой", "им", "более", "всегда", "конечно", "всю", "между", "это",
        "пожалуйста", "алло", "ваш", "ваша", "ваше", "ваши", "наш", "наша", "наше", "наши", "вами", "нам",
    )
}  # fmt: skip
_STOPWORDS = _STOP_EN | _STOP_RU

_RU_ENDINGS = sorted(
    (
        "иями", "ями", "ами", "ого", "его", "ому", "ему", "ыми", "ими", "ой", "ей", "ий", "ый", "ая", "яя",
        "ое", "ее", "ые", "ие", "ам", "ям", "ах", "ях", "ом", "ем", "ов", "ев", "ую", "юю", "ться", "тся",
        "ешь", "ет", "ем", "ете", "ют", "ут", "ит", "им", "ите", "ат", "ят", "ла", "ли", "ло", "л", "а", "я",
        "о", "е", "ы", "и", "у", "ю", "ь", "й",
    ),
    key=len,
    reverse=True,
)  # fmt: skip

_EN_SUFFIXES = (
    ("ations", ""), ("ation", ""), ("ments", ""), ("ment", ""), ("ingly", ""), ("ings", ""), ("ing", ""),
    ("ied", "y"), ("ies", "y"), ("edly", ""), ("ed", ""), ("ions", ""), ("ion", ""), ("es", ""), ("s", ""),
)  # fmt: skip


def _stem(token: str) -> str:
    """A light stemmer: suffix stripping, then truncation (6 letters Latin, 5 Cyrillic)."""
    token = _norm(token)
    if any(c.isdigit() for c in token):
        return token
    if _CYRILLIC_RE.search(token):
        for ending in _RU_ENDINGS:
            if token.endswith(ending) and len(token) - len(ending) >= 3:
                token = token[: -len(ending)]
                break
        return token[:5]
    if token.endswith("'s"):
        token = token[:-2]
    if "'" in token:
        return token
    for suffix, repl in _EN_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                break
            token = token[: -len(suffix)] + repl
            break
    if len(token) >= 4 and token.endswith("e"):
        token = token[:-1]
    return token[:6]


def _content_stems(tokens: Iterable[str]) -> list[str]:
    """Stems of the tokens that are not stopwords (single characters only if digits)."""
    return [_stem(t) for t in tokens if t not in _STOPWORDS and (len(t) > 1 or t.isdigit())]


def _name_words(name: str) -> list[str]:
    """``appointmentBooked`` / ``appointment_booked`` / ``appointment-booked`` → words, singular."""
    spaced = re.sub(r"([a-zа-яё0-9])([A-ZА-ЯЁ])", r"\1 \2", name or "")
    words = _tokens(spaced.replace("_", " ").replace("-", " "))
    out = []
    for word in words:
        if len(word) > 3 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        out.append(word)
    return out


_NEGATORS = {
    "not", "no", "never", "cannot", "nothing", "nobody", "neither", "nor", "without", "hardly",
    "не", "нет", "ни", "никогда", "ничего", "без", "нельзя",
}  # fmt: skip


def _is_negator(token: str) -> bool:
    return token in _NEGATORS or token.endswith("n't")


def _token_index(sentence_text: str, char_pos: int) -> int:
    """How many tokens start before character ``char_pos``."""
    return len(_TOKEN_RE.findall(sentence_text[:char_pos]))


# ---- pleasantries (not content: greetings, thanks, goodbyes) ------------------------------

_GREETINGS = {"hello", "hi", "hey", "hiya", "greetings", "howdy", "hallo", "здравствуйте", "здравствуй", "привет",
              "приветствую", "алло", "здрасте"}  # fmt: skip
_GREETING_PHRASES = ("good morning", "good afternoon", "good evening", "good day", "добрый день", "доброе утро",
                     "добрый вечер", "доброй ночи")  # fmt: skip
_THANKS = {"thanks", "thank", "thx", "cheers", "спасибо", "благодарю"}
_BYES = {"bye", "goodbye", "farewell", "свидания", "пока"}
_SOCIAL = (
    _GREETINGS | _THANKS | _BYES
    | {"good", "morning", "afternoon", "evening", "day", "night", "there", "everyone", "much", "lot", "you",
       "добрый", "доброе", "день", "утро", "вечер", "ночи", "большое", "всего", "доброго", "до", "see", "later",
       "again", "so", "very"}
)  # fmt: skip
_SOCIAL_STEMS = frozenset(_stem(w) for w in _SOCIAL)
