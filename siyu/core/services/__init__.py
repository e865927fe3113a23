"""Domain services the Workspace exposes (``ws.contacts``, ``ws.orders``…).

Every door (console, notebook, CLI, plugins) goes through these; none reaches into tables.
"""
