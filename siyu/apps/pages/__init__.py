"""The built-in console pages, one module per page.

Each page is a :class:`panel.viewable.Viewer` built from a Workspace that already acts as
the signed-in user (``ws.principal``); the ``default_pages`` plugin registers them. A page
holds no module-level state: each call builds new widgets for one browser session.
"""
