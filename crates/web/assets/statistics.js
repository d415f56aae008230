// Population charts: an age pyramid and ageing by community, drawn with ECharts as SVG
// (crisp on screens and printable).
(function () {
  "use strict";
  const population = JSON.parse(document.getElementById("population-data").textContent);
  const pyramidElement = document.getElementById("age-pyramid");
  const bands = population.age_pyramid.map((band) => band.band);
  const pyramid = echarts.init(pyramidElement, null, { renderer: "svg" });
  pyramid.setOption({
    animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (value) => Math.abs(value) },
    legend: { top: 0, data: [pyramidElement.dataset.male, pyramidElement.dataset.female] },
    grid: { left: 60, right: 30, top: 40, bottom: 30 },
    xAxis: { type: "value", axisLabel: { formatter: (value) => Math.abs(value) } },
    yAxis: { type: "category", data: bands },
    series: [
      { name: pyramidElement.dataset.male, type: "bar", stack: "people", data: population.age_pyramid.map((band) => -band.male), itemStyle: { color: "#4e79a7" } },
      { name: pyramidElement.dataset.female, type: "bar", stack: "people", data: population.age_pyramid.map((band) => band.female), itemStyle: { color: "#e15759" } },
    ],
  });
  const ageingElement = document.getElementById("ageing-chart");
  const communities = population.communities.slice().sort((a, b) => a.ageing_rate - b.ageing_rate);
  const ageing = echarts.init(ageingElement, null, { renderer: "svg" });
  ageing.setOption({
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: (value) => value + "%" },
    grid: { left: 140, right: 30, top: 20, bottom: 30 },
    xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
    yAxis: { type: "category", data: communities.map((community) => community.community_name) },
    series: [{ name: ageingElement.dataset.label, type: "bar", data: communities.map((community) => (community.ageing_rate * 100).toFixed(1)), itemStyle: { color: "#c62828" } }],
  });
  window.addEventListener("resize", () => { pyramid.resize(); ageing.resize(); });
  pyramidElement.dataset.drawn = "true";
})();
