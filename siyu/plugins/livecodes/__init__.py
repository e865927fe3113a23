"""Staff live codes (活码): routing over WeCom 「联系我」 codes, welcome messages, channel tags.

The plugin owns the WeCom ``state`` prefix ``lc:``. Modules:

- :mod:`~siyu.plugins.livecodes.models` — tables (own Alembic history ``livecodes``);
- :mod:`~siyu.plugins.livecodes.routing` — the pure planner: who is listed on a code now, and why;
- :mod:`~siyu.plugins.livecodes.welcome` — welcome message variants and placeholders;
- :mod:`~siyu.plugins.livecodes.engine` — applying plans to WeCom, handling arrivals;
- :mod:`~siyu.plugins.livecodes.api` — the notebook door; :mod:`~.commands` — the CLI;
- :mod:`~siyu.plugins.livecodes.reports` — arrivals, adds, removals, net growth, retention and
  first-order conversion per code and per channel, and staff load (``code_report``,
  ``channel_report``, ``staff_load``, also in ``api``; ``siyu livecode report``);
  :mod:`~.report_pages` — the Live-code reports console page.
"""
