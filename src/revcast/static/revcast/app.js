/* revcast: charts from server-rendered ECharts options, with drill-down to filtered lists.
 *
 * <div class="rc-chart" data-chart="ID" data-drill="/opportunities/?stage={name}"></div>
 * {{ option|json_script:"ID" }}
 *
 * A click on a data item goes to the item's own `url` when it has one, else to data-drill with
 * {name} (category) and {series} (series name) filled in. Charts are (re)initialised on page load
 * and after every htmx swap; window.revcastCharts maps element ids to ECharts instances.
 */
(function () {
  "use strict";
  window.revcastCharts = window.revcastCharts || {};

  function fill(template, params) {
    return template
      .replace(/\{name\}/g, encodeURIComponent(params.name == null ? "" : params.name))
      .replace(/\{series\}/g, encodeURIComponent(params.seriesName == null ? "" : params.seriesName));
  }

  function initChart(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || typeof echarts === "undefined") return;
    var existing = echarts.getInstanceByDom(el);
    if (existing) existing.dispose();
    var option = JSON.parse(source.textContent);
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
