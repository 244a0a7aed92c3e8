import altair as alt
import pandas as pd

from selfhost import decision
from selfhost.charts import decision as decision_charts
from selfhost.charts import theme as charts


def test_renderer_is_deterministic_and_offline():
    charts.use_book_theme()
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    first, second = charts.render(chart.to_dict()), charts.render(chart.to_dict())
    assert first == second
    html = first["text/html"]
    assert 'class="selfhost-chart"' in html and "vegaEmbed" in html
    assert "http" not in html.replace("http://www.w3.org", "").replace("https://vega.github.io/schema", "")
    assert "require" not in html
    assert charts.VEGALITE_MIME in first


def test_theme_is_applied():
    charts.use_book_theme()
    assert alt.theme.active == charts.THEME


def test_tree_layout_marks_exactly_the_walked_path():
    walked = decision.decide(decision.TeamProfile(False, 20_000, 150, False, False))
    nodes, edges = decision_charts.tree_layout(walked)
    assert edges["on_path"].sum() == len(walked.path)
    highlighted = nodes[nodes["on_path"]]
    assert set(highlighted["label"]) >= {decision.Outcome.SELF_HOST_LATENCY.value}
    assert len(nodes) == len(decision.GATES) + len(decision.Outcome)


def test_tree_chart_builds():
    walked = decision.decide(decision.TeamProfile(True, 0, 1000, False, False))
    spec = decision_charts.tree_chart(walked).to_dict()
    assert "layer" in spec


def test_theme_keeps_charts_and_labels_inside_the_column():
    config = charts.theme()["config"]
    assert config["view"]["continuousWidth"] + config["axis"]["labelLimit"] + 40 <= charts.COLUMN_PX
    assert config["legend"]["orient"] == "bottom" and config["legend"]["direction"] == "vertical"
    assert 180 < config["legend"]["labelLimit"] <= charts.COLUMN_PX
