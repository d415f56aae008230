// The indicator page's chart, drawn with ECharts as SVG: each unit's closing, on-time
// closing and satisfaction rates, in percent.
(function () {
  "use strict";
  const table = JSON.parse(document.getElementById("indicator-data").textContent);
  const shown = ["closing", "on_time_closing", "satisfaction"];
  const element = document.getElementById("indicator-chart");
  const chart = echarts.init(element, null, { renderer: "svg" });
  const percent = (row, code) => {
    const value = row.indicators.find((indicator) => indicator.code === code).value;
    return value === null ? null : Math.round(value * 1000) / 10;
  };
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: shown.map((code) => table.total.indicators.find((i) => i.code === code).name_zh) },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    xAxis: { type: "category", data: table.rows.map((row) => row.unit), axisLabel: { rotate: 30 } },
    yAxis: { type: "value", min: 0, max: 100 },
    series: shown.map((code) => ({
      name: table.total.indicators.find((i) => i.code === code).name_zh,
      type: "bar",
      data: table.rows.map((row) => percent(row, code)),
    })),
  });
})();
