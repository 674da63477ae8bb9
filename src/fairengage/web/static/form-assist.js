/* The recording form's shortcuts: recent answers fill their field in one tap, and "Use my location"
   fills the hidden position fields and suggests the division. The form works without this script:
   a recent answer is then a plain radio option the server reads when the field is left empty. */
(function () {
  "use strict";
  var form = document.querySelector("form.engagement-form");
  if (!form) { return; }

  form.addEventListener("change", function (event) {
    var chip = event.target;
    if (!chip.matches || !chip.matches("input[data-fills]")) { return; }
    var field = document.getElementById(chip.getAttribute("data-fills"));
    if (field) { field.value = chip.value; }
  });

  var button = document.getElementById("use-location");
  var status = document.getElementById("location-status");
  if (!button || !status || !navigator.geolocation) { return; }
  button.hidden = false;

  function suggestDivision(lat, lon) {
    var snap = button.getAttribute("data-snap");
    var select = document.getElementById("division");
    if (!snap || !select || !window.fetch) { return; }
    var url = snap + "?lat=" + encodeURIComponent(lat) + "&lon=" + encodeURIComponent(lon);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || !body.division) { return; }
        for (var i = 0; i < select.options.length; i++) {
          if (select.options[i].value === body.division) {
            select.value = body.division;
            status.textContent = button.getAttribute("data-division").replace("{division}", body.division);
            return;
          }
        }
      })
      .catch(function () { /* the division stays as it was; the officer can choose it */ });
  }

  button.addEventListener("click", function () {
    status.textContent = button.getAttribute("data-asking");
    navigator.geolocation.getCurrentPosition(function (position) {
      var lat = position.coords.latitude.toFixed(6);
      var lon = position.coords.longitude.toFixed(6);
      form.elements.lat.value = lat;
      form.elements.lon.value = lon;
      form.elements.accuracy_m.value = String(Math.round(position.coords.accuracy || 0));
      status.textContent = button.getAttribute("data-found");
      suggestDivision(lat, lon);
    }, function () {
      status.textContent = button.getAttribute("data-refused");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
}());
