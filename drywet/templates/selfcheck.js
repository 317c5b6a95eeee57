// Counts audio elements whose metadata loaded and images that decoded, and writes the counts
// onto #selfcheck so a headless browser's DOM dump shows whether every embedded file plays.
// The timeout placeholder in setTimeout below is filled in by drywet.report when the page is rendered.
(function () {
  "use strict";
  var box = document.getElementById("selfcheck");
  var loaded = false, finished = false;
  function update(state) {
    if (finished) { return; }
    var audios = document.querySelectorAll("audio"), ready = 0, failed = 0;
    audios.forEach(function (a) {
      if (a.readyState >= 1 && a.duration > 0) { ready++; } else if (a.error) { failed++; }
    });
    var images = document.querySelectorAll("img"), ok = 0;
    images.forEach(function (i) { if (i.complete && i.naturalWidth > 0) { ok++; } });
    box.setAttribute("data-audio-total", audios.length);
    box.setAttribute("data-audio-ready", ready);
    box.setAttribute("data-audio-failed", failed);
    box.setAttribute("data-images-total", images.length);
    box.setAttribute("data-images-ok", ok);
    // Final only after window load, when every image has either decoded or failed.
    if (loaded && ready + failed === audios.length) { state = "done"; }
    box.setAttribute("data-state", state);
    finished = state !== "pending";
  }
  // Media events do not bubble; listening in the capture phase sees them all.
  document.addEventListener("loadedmetadata", function () { update("pending"); }, true);
  document.addEventListener("error", function () { update("pending"); }, true);
  window.addEventListener("load", function () {
    loaded = true;
    update("pending");
    setTimeout(function () { update("timeout"); }, TIMEOUT_MS);
  });
})();
