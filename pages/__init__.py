"""Dashboard pages: each module registers itself with ``dash.register_page`` and only lays out.

The modules are imported by ``app.dashboard.create_app`` after the Dash app exists, because
``register_page`` needs an app to register with.
"""
