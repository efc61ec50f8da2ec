"""The change-request report: a plan (or a drift report) as one self-contained HTML page.

``plan_page(plan)`` and ``drift_page(report, checks=, desired_path=)`` return the document text; the
commands ``plan --html``, ``show --html`` and ``drift --html`` write it. Modules: ``markup`` (escaping
by default), ``seam`` (the one place where fields not every plan carries are read), ``values`` (plain
text of values), ``layout`` (layered graph layout), ``graph_svg`` (the dependency graph as SVG),
``sections`` and ``page``. Imports the plan document and graph, never providers or the simulator.
"""

from reconciler.render.html.page import drift_page, plan_page

__all__ = ["drift_page", "plan_page"]
