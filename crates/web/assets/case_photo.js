// The case page's photo: the picture taken or chosen is sent as it is (the server strips
// its location and other metadata before keeping it), then the page shows it.
(function () {
  "use strict";
  const input = document.getElementById("photo-input");
  const status = document.getElementById("photo-status");
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    status.textContent = "…";
    try {
      const response = await fetch(input.dataset.url, {
        method: "POST",
        headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": input.dataset.csrf },
        body: file,
        credentials: "same-origin",
      });
      if (response.ok) {
        window.location.reload();
        return;
      }
      const body = await response.json().catch(() => ({}));
      status.textContent = (body.error && body.error.message) || String(response.status);
      status.dataset.error = String(response.status);
    } catch (error) {
      status.textContent = String(error);
    }
  });
})();
