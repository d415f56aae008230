// The command centre's map: open cases as points coloured by where they stand in the
// loop, ringed red when their stage is over its limit, over the communities' outlines.
// The cases are fetched again every few seconds, so the map follows new reports and
// steps without a reload; the legend counts them by status.
(function () {
  "use strict";
  const element = document.getElementById("case-map");
  const legend = document.getElementById("case-map-legend");
  const map = L.map(element, { zoomSnap: 0.25, attributionControl: false });
  const colours = {
    reported: "#4e79a7", accepted: "#4e79a7", registered: "#76b7b2",
    dispatched: "#f28e2b", assigned: "#f28e2b", handling: "#edc948", in_progress: "#edc948",
    fed_back: "#59a14f", replied: "#59a14f", answered: "#59a14f",
  };
  let layer = null;
  let fitted = false;
  fetch(element.dataset.communitiesUrl)
    .then((response) => response.json())
    .then((communities) => {
      const outlines = L.geoJSON(communities, { style: { color: "#1f2933", weight: 1, fill: false }, interactive: false }).addTo(map);
      if (communities.features.length > 0 && !fitted) map.fitBounds(outlines.getBounds());
      else if (!fitted) map.setView([32.39, 119.42], 12);
    });
  function draw(cases) {
    if (layer) layer.remove();
    layer = L.geoJSON(cases, {
      pointToLayer: (feature, point) => L.circleMarker(point, {
        radius: 6,
        color: feature.properties.warning === "red" ? "#c00000" : "#ffffff",
        weight: feature.properties.warning === "red" ? 3 : 1,
        fillColor: colours[feature.properties.status] || "#999999",
        fillOpacity: 0.9,
      }),
      onEachFeature: (feature, marker) => marker.bindPopup(
        "<a href=\"/console/cases/" + feature.properties.id + "\">" + feature.properties.id + "</a> " +
        feature.properties.category_name + "<br>" + feature.properties.status_zh),
    }).addTo(map);
    const counts = {};
    for (const feature of cases.features) {
      counts[feature.properties.status_zh] = (counts[feature.properties.status_zh] || 0) + 1;
    }
    legend.textContent = Object.entries(counts).map(([status, count]) => status + " " + count).join(" · ") +
      " · " + cases.generated_at;
    element.dataset.cases = String(cases.features.length);
  }
  function refresh() {
    fetch(element.dataset.casesUrl, { credentials: "same-origin" })
      .then((response) => response.json())
      .then(draw)
      .catch((error) => { element.dataset.error = String(error); });
  }
  refresh();
  setInterval(refresh, Number(element.dataset.refreshSeconds || 10) * 1000);
})();
