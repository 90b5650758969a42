/* revcast: charts from server-rendered ECharts options, with drill-down to filtered lists.
 *
 * <div class="rc-chart" data-chart="ID" data-drill="/opportunities/?stage={name}"></div>
 * {{ option|json_script:"ID" }}
 *
 * A click on a data item goes to the item's own `url` when it has one, else to data-drill with
 * {name} (category) and {series} (series name) filled in. Charts are (re)initialised on page load
 * and after every htmx swap; window.revcastCharts maps element ids to ECharts instances.
 *
 * When the option's tooltip has `rcTip: true`, a data item's `tip` text is what the tooltip shows for it
 * (an empty tip hides the item; items without one show "series: value"): a P10–P90 box or band reads as
 * its percentiles rather than as the numbers ECharts draws it from.
 */
(function () {
  "use strict";
  window.revcastCharts = window.revcastCharts || {};

  function fill(template, params) {
    return template
      .replace(/\{name\}/g, encodeURIComponent(params.name == null ? "" : params.name))
      .replace(/\{series\}/g, encodeURIComponent(params.seriesName == null ? "" : params.seriesName));
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function tipFormatter(params) {
    var list = Array.isArray(params) ? params : [params];
    var lines = [];
    if (Array.isArray(params) && list.length) lines.push(escapeHtml(list[0].axisValueLabel || list[0].name || ""));
    list.forEach(function (p) {
      var tip = p.data && typeof p.data === "object" ? p.data.tip : undefined;
      if (tip === "") return;
      var text = tip != null ? tip : p.seriesName + ": " + (Array.isArray(p.value) ? p.value.join(", ") : p.value);
      lines.push(p.marker + escapeHtml(text));
    });
    return lines.join("<br>");
  }

  function initChart(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || typeof echarts === "undefined") return;
    var existing = echarts.getInstanceByDom(el);
    if (existing) existing.dispose();
    var option = JSON.parse(source.textContent);
    var base = option.baseOption || option;
    if (base.tooltip && base.tooltip.rcTip) base.tooltip.formatter = tipFormatter;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    chart.on("click", function (params) {
      var url = params.data && params.data.url;
      if (!url && el.dataset.drill) url = fill(el.dataset.drill, params);
      if (url) window.location.assign(url);
    });
    el.dataset.ready = "1";
    window.revcastCharts[el.id || el.dataset.chart] = chart;
  }

  function initAll(root) {
    (root || document).querySelectorAll(".rc-chart[data-chart]").forEach(initChart);
  }

  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { initAll(event.target); });
  window.addEventListener("resize", function () {
    Object.keys(window.revcastCharts).forEach(function (key) {
      var chart = window.revcastCharts[key];
      if (chart && !chart.isDisposed()) chart.resize();
    });
  });
})();
