"""One chart theme and an offline renderer for every altair chart in the book.

:func:`use_book_theme` enables the theme and the ``selfhost`` renderer. The renderer
emits two representations of each chart:

- ``application/vnd.vegalite.v6+json``, the spec, which JupyterLab draws natively;
- ``text/html``, a container and a call to ``vegaEmbed`` from the vega bundle that the
  built book serves itself (``_build/assets/vega-bundle.js``, written by the pipeline
  with ``vl_convert.javascript_bundle()``). Nothing is loaded from a CDN and require.js
  is never involved.

The container's id is a hash of the spec, so a chart's output is the same on every run
(no random ids to sanitize before nbval compares outputs).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import altair as alt

VEGALITE_MIME = "application/vnd.vegalite.v6+json"

THEME = "selfhost"
RENDERER = "selfhost"
#: The colour of each role in the book's charts (ColorBrewer Set2, colour-blind safe).
PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
SELF_HOST_COLOR = PALETTE[0]
API_COLOR = PALETTE[1]
NEUTRAL_COLOR = PALETTE[7]
#: The book's text column at a 1280 px window [px]; every chart, legend and label must fit in it.
COLUMN_PX = 700
#: Default plot width [px]: leaves room in the column for axis labels and titles.
CONTINUOUS_WIDTH_PX = 460
#: Longest axis label drawn before vega cuts it with "…" [px] (vega's default is 180).
AXIS_LABEL_LIMIT_PX = 200
#: Longest legend label [px]: a legend below the plot has the column's width.
LEGEND_LABEL_LIMIT_PX = 600

_HTML = """<div class="selfhost-chart" id="{id}"></div>
<script type="text/javascript">
(function () {{
  var spec = {spec};
  function draw() {{
    if (window.vegaEmbed) {{ window.vegaEmbed("#{id}", spec, {{"actions": false, "renderer": "svg"}}); }}
    else {{ document.getElementById("{id}").textContent = "(chart: the vega bundle did not load)"; }}
  }}
  if (document.readyState === "complete") {{ draw(); }} else {{ window.addEventListener("load", draw); }}
}})();
</script>"""


def theme() -> alt.theme.ThemeConfig:
    """The book's chart theme: readable fonts, one palette, no chart border."""
    return {
        "config": {
            "view": {"stroke": None, "continuousWidth": CONTINUOUS_WIDTH_PX, "continuousHeight": 320},
            "font": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "titleFontWeight": "normal", "grid": True,
                     "gridColor": "#e6e6e6", "labelLimit": AXIS_LABEL_LIMIT_PX},
            # below the plot, one entry a line: long series names neither widen the chart nor get cut
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom", "direction": "vertical",
                       "labelLimit": LEGEND_LABEL_LIMIT_PX, "titleLimit": LEGEND_LABEL_LIMIT_PX},
            "title": {"fontSize": 15, "anchor": "start", "fontWeight": "normal"},
            "range": {"category": PALETTE},
            "line": {"strokeWidth": 2},
        }
    }


def chart_html(spec: dict[str, Any]) -> str:
    """The book's HTML for one chart spec (deterministic: the id is the spec's hash)."""
    text = json.dumps(spec, sort_keys=True)
    chart_id = "chart-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return _HTML.format(id=chart_id, spec=text)


def render(spec: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Altair renderer: the spec for Jupyter, the offline HTML for the book."""
    return {VEGALITE_MIME: spec, "text/html": chart_html(spec)}


def use_book_theme() -> None:
    """Enable the book's theme and offline renderer (call once in a notebook's set-up cell)."""
    alt.theme.register(THEME, enable=True)(theme)
    alt.renderers.register(RENDERER, render)
    alt.renderers.enable(RENDERER)
