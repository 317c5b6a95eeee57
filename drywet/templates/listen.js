// The blind ABX page: counts the answered trials, and on "Save answers" downloads them as JSON
// ({answers: [{effect, trial, x_is}], page, version}, keys sorted) for `python -m drywet listen-score`.
// The page holds no key, so it shows nothing about which answers are right.
(function () {
  "use strict";
  var root = document.getElementById("listen");
  var trials = root.querySelectorAll("fieldset.trial");
  var count = document.getElementById("answered");
  var saved = document.getElementById("saved");
  var text = document.getElementById("saved-json");

  function answers() {
    var out = [];
    trials.forEach(function (t) {
      var checked = t.querySelector("input[type=radio]:checked");
      if (checked) {
        out.push({ effect: t.getAttribute("data-effect"), trial: parseInt(t.getAttribute("data-trial"), 10),
                   x_is: checked.value });
      }
    });
    return out;
  }

  root.addEventListener("change", function () { count.textContent = String(answers().length); });

  // One clip at a time: starting one pauses the others (media events do not bubble; capture them).
  document.addEventListener("play", function (e) {
    document.querySelectorAll("audio").forEach(function (a) { if (a !== e.target) { a.pause(); } });
  }, true);

  document.getElementById("save").addEventListener("click", function () {
    var page = root.getAttribute("data-page");
    var given = answers();
    var json = JSON.stringify({ answers: given, page: page,
                                version: parseInt(root.getAttribute("data-version"), 10) }, null, 2) + "\n";
    var name = "listen-answers-" + page + ".json";
    var url = URL.createObjectURL(new Blob([json], { type: "application/json" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    // The same text on the page, to copy where a browser blocks downloads from local files.
    text.value = json;
    text.hidden = false;
    saved.textContent = "Saved " + given.length + " of " + trials.length + " answers as " + name +
      ". Score them with: python -m drywet listen-score " + name;
  });
})();
