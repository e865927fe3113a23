"""Risk control: sensitive-word lists, the do-not-contact list, quiet hours and the staff
daily cap applied to campaigns, and the log of every decision they make.

Modules:

- :mod:`~siyu.plugins.risk.screen` — the pure engine: word lists (``parse_word_list``,
  ``load_word_lists``), text normalisation against evasions (``normalise``) and the
  Aho-Corasick screen (``WordScreen``, ``Match``). No database, no plugin hooks.
- :mod:`~siyu.plugins.risk.models` — the tables ``risk_word``, ``risk_word_version``,
  ``risk_dnc`` and ``risk_event`` (own Alembic history ``risk``);
- notebook doors: :mod:`~siyu.plugins.risk.words` (import, add, remove and list words,
  screen texts), :mod:`~siyu.plugins.risk.dnc` (the do-not-contact list),
  :mod:`~siyu.plugins.risk.limits` (quiet hours and the staff daily cap settings),
  :mod:`~siyu.plugins.risk.events` (risk events and the daily summary);
- the checks: :mod:`~siyu.plugins.risk.checks` (word verdicts per text),
  :mod:`~siyu.plugins.risk.launching` (launch rules), :mod:`~siyu.plugins.risk.sending`
  (the batch check at send time), :mod:`~siyu.plugins.risk.journal` (recording decisions);
  :mod:`~siyu.plugins.risk.rules` names the rules;
- :mod:`~siyu.plugins.risk.commands` — ``siyu risk``; :mod:`~siyu.plugins.risk.pages` —
  the Risk center; :mod:`~.plugin` — the hooks.
"""
