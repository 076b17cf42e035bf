"""The offline language model: rules and TF-IDF retrieval, no network, no generative model.

Modules, bottom up (each imports only those above it):

``text``        tokens, language detection, stopwords, the stemmer, negators, pleasantries
``tfidf``       TF-IDF vectors and cosine similarity
``sentences``   sentence splitting, speaker labels and roles, ``_Doc`` (a parsed text)
``concepts``    cue-word concepts (booking, resolution, sentiment…) and cue matching with negation
``entities``    emails, phones, URLs, dates/times, ids, person names, organizations
``numbers``     digits and EN/RU number words
``knowledge``   knowledge snippets of a system prompt and their retrieval
``chat``        the chat rules (greetings, hand-off, answers from knowledge)
``fitting``     fitting values to schema constraints (bounds, lengths, patterns, unique items)
``props``       what a schema property asks for (``_Prop``)
``scalars``     booleans, polarity, enums, numbers
``strings``     strings: entities, summaries, keywords, related sentences
``extract``     the schema walk (``_Extractor``)
``model``       :class:`OfflineLanguageModel`

Names with a leading underscore are shared between these modules only; the public names are
:class:`OfflineLanguageModel` and :func:`detect_language`.
"""

from adapters.providers.llm.offline.model import OfflineLanguageModel
from adapters.providers.llm.offline.text import detect_language

__all__ = ["OfflineLanguageModel", "detect_language"]
