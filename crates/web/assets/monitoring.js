// The monitoring page's charts, drawn with ECharts as SVG: exchange calls per day
// (answered and refused, stacked) and registered enterprises per district by kind.
(function () {
  "use strict";
  const dashboard = JSON.parse(document.getElementById("dashboard-data").textContent);
  const portrait = JSON.parse(document.getElementById("enterprise-data").textContent);
  const exchangeElement = document.getElementById("exchange-chart");
  const exchange = echarts.init(exchangeElement, null, { renderer: "svg" });
  exchange.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: [exchangeElement.dataset.allowed, exchangeElement.dataset.denied] },
    grid: { left: 50, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "category", data: dashboard.exchange_per_day.map((day) => day.day.slice(5)) },
    yAxis: { type: "value" },
    series: [
      { name: exchangeElement.dataset.allowed, type: "bar", stack: "calls", data: dashboard.exchange_per_day.map((day) => day.allowed), itemStyle: { color: "#4e79a7" } },
      { name: exchangeElement.dataset.denied, type: "bar", stack: "calls", data: dashboard.exchange_per_day.map((day) => day.denied), itemStyle: { color: "#e15759" } },
    ],
  });
  const districts = [...new Set(portrait.counts.map((count) => count.district_name))];
  const kinds = [...new Set(portrait.counts.map((count) => count.kind_zh))];
  const enterpriseElement = document.getElementById("enterprise-chart");
  const enterprises = echarts.init(enterpriseElement, null, { renderer: "svg" });
  enterprises.setOption({
    animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0, data: kinds },
    grid: { left: 100, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: districts },
    series: kinds.map((kind) => ({
      name: kind,
      type: "bar",
      stack: "entities",
      data: districts.map((district) => portrait.counts
        .filter((count) => count.district_name === district && count.kind_zh === kind)
        .reduce((sum, count) => sum + count.count, 0)),
    })),
  });
  const education = JSON.parse(document.getElementById("education-data").textContent);
  const educationChart = echarts.init(document.getElementById("education-chart"), null, { renderer: "svg" });
  educationChart.setOption({
    animation: false,
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "65%"], data: education.levels.map((level) => ({ name: level.level, value: level.people })) }],
  });
  window.addEventListener("resize", () => { exchange.resize(); enterprises.resize(); educationChart.resize(); });
  exchangeElement.dataset.drawn = "true";
})();
