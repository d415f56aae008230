// The report form: the location from the device's GPS, and a queue kept in this browser
// while offline. A report made offline is saved here (with the form's CSRF token) and
// sent, in order, as soon as the browser is back online or the page is opened again.
(function () {
  "use strict";
  const KEY = "huimin.case-report-queue";
  const form = document.getElementById("report-form");
  const status = document.getElementById("report-queue");
  const queue = () => JSON.parse(localStorage.getItem(KEY) || "[]");
  const keep = (items) => localStorage.setItem(KEY, JSON.stringify(items));
  const say = (text) => {
    status.textContent = text;
    status.hidden = false;
  };

  document.getElementById("report-locate").addEventListener("click", () => {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((position) => {
      document.getElementById("report-longitude").value = position.coords.longitude.toFixed(6);
      document.getElementById("report-latitude").value = position.coords.latitude.toFixed(6);
    });
  });

  form.addEventListener("submit", (event) => {
    if (navigator.onLine) return;
    event.preventDefault();
    const items = queue();
    items.push(new URLSearchParams(new FormData(form)).toString());
    keep(items);
    say(status.dataset.queued + " " + items.length);
    form.reset();
  });

  // Sends the queued reports one by one; a report the server refuses (a 422 names why)
  // is dropped with its message, one that cannot reach the server stays queued.
  async function flush() {
    let items = queue();
    const sent = [];
    while (items.length > 0 && navigator.onLine) {
      let response;
      try {
        response = await fetch(form.action, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: items[0],
          credentials: "same-origin",
        });
      } catch (error) {
        break;
      }
      items = items.slice(1);
      keep(items);
      sent.push(response.ok ? response.url.replace(/\?.*$/, "").split("/").pop() : "✗ " + response.status);
    }
    if (sent.length > 0) {
      say(status.dataset.synced + " " + sent.join(", "));
      status.dataset.state = "synced";
    }
  }
  window.addEventListener("online", flush);
  flush();
})();
