// The grid map: unit grids drawn over a plain background (no tile server is needed; one
// can be configured later). Grids come from the API as GeoJSON.
(function () {
  "use strict";
  const element = document.getElementById("grid-map");
  const status = document.getElementById("map-status");
  const map = L.map(element, { zoomSnap: 0.25, attributionControl: false });
  const palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];
  function colourOf(code) {
    let hash = 0;
    for (const character of code) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
    return palette[hash % palette.length];
  }
  Promise.all([
    fetch(element.dataset.gridsUrl).then((response) => response.json()),
    fetch(element.dataset.communitiesUrl).then((response) => response.json()),
  ]).then(([grids, communities]) => {
    const gridLayer = L.geoJSON(grids, {
      style: (feature) => ({ color: "#ffffff", weight: 1, fillColor: colourOf(feature.properties.parent || ""), fillOpacity: 0.55 }),
      onEachFeature: (feature, layer) => layer.bindPopup(feature.properties.name + "<br><code>" + feature.properties.code + "</code>"),
    }).addTo(map);
    L.geoJSON(communities, { style: { color: "#1f2933", weight: 2, fill: false }, interactive: false }).addTo(map);
    if (grids.features.length > 0) {
      map.fitBounds(gridLayer.getBounds());
    } else {
      map.setView([32.39, 119.42], 12);
    }
    element.dataset.gridsDrawn = String(grids.features.length);
    status.textContent = "(" + grids.features.length + ")";
  }).catch((error) => {
    status.textContent = String(error);
    element.dataset.error = String(error);
  });
})();
