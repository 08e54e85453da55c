/* "Use my location": the only script of the public pages. The browser's position goes once,
   in a POST, to /affected; nothing is kept here or there. Without geolocation (or without
   script) the button stays hidden and the account-number form does the job. */
(function () {
  "use strict";
  var form = document.getElementById("locate-form");
  if (!form || !navigator.geolocation) return;
  var button = form.querySelector("button"), status = document.getElementById("locate-status");
  form.hidden = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    status.textContent = form.getAttribute("data-wait");
    navigator.geolocation.getCurrentPosition(function (position) {
      form.elements.latitude.value = position.coords.latitude.toFixed(6);
      form.elements.longitude.value = position.coords.longitude.toFixed(6);
      form.submit(); // no submit event: this handler does not run again
    }, function () {
      button.disabled = false;
      status.textContent = form.getAttribute("data-denied");
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 });
  });
})();
