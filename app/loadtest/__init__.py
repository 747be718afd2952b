"""The dashboard load test behind ``pcoord bench-dashboard``.

Simulated browser sessions speak Dash's HTTP protocol to a real ``pcoord serve`` running in a
subprocess: ``dash_client`` is one browser tab (layout, callback graph, initial calls, chains),
``server`` starts and watches the server process, ``sessions`` drives the tabs over every page at
the refresh interval, and ``report`` turns what they measured into figures. Only the standard
library is used, so the tool adds no dependency and costs the machine as little CPU as it can:
the server it measures shares the cores.
"""
