"""Risk control: sensitive-word screening, the engine campaign risk control builds on.

Modules:

- :mod:`~siyu.plugins.risk.screen` — the pure engine: word lists (``parse_word_list``,
  ``load_word_lists``), text normalisation against evasions (``normalise``) and the
  Aho-Corasick screen (``WordScreen``, ``Match``). No database, no plugin hooks.
"""
