// The round's check-ins take the phone's location as they are sent: the form waits for
// the position, fills it in, then submits. Without a position the server asks to locate.
(function () {
  "use strict";
  document.querySelectorAll("form.visit").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (form.dataset.located === "1" || !navigator.geolocation) return;
      event.preventDefault();
      const send = () => {
        form.dataset.located = "1";
        form.submit();
      };
      navigator.geolocation.getCurrentPosition(
        (position) => {
          form.querySelector(".visit-longitude").value = position.coords.longitude.toFixed(6);
          form.querySelector(".visit-latitude").value = position.coords.latitude.toFixed(6);
          send();
        },
        send,
        { timeout: 10000 }
      );
    });
  });
})();
