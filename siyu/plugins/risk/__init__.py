"""Risk control: sensitive-word lists stored in the workspace, screening texts with them; the
engine campaign risk control builds on.

Modules:

- :mod:`~siyu.plugins.risk.screen` — the pure engine: word lists (``parse_word_list``,
  ``load_word_lists``), text normalisation against evasions (``normalise``) and the
  Aho-Corasick screen (``WordScreen``, ``Match``). No database, no plugin hooks.
- :mod:`~siyu.plugins.risk.models` — the ``risk_word`` table (own Alembic history ``risk``);
- :mod:`~siyu.plugins.risk.words` — the notebook door: import, add, remove and list words,
  screen texts with the stored words (``screen``, ``test_text``);
- :mod:`~siyu.plugins.risk.commands` — ``siyu risk``; :mod:`~.plugin` — the hooks.
"""
