/* A filter box above each <select data-filter>: typing narrows the options to those whose text
   contains every typed word (name, code, VAT, any case). Loaded with <script src> (the strict CSP
   forbids inline scripts); without it the plain select works as before. The selected option and
   the empty "not mapped" one always stay, so filtering never changes what is submitted. */
(function () {
  "use strict";

  function words(text) {
    return text.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function enhance(select) {
    var all = Array.prototype.slice.call(select.options);
    var box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter";
    box.placeholder = select.getAttribute("data-filter-placeholder") || "";
    box.setAttribute("aria-label", select.getAttribute("data-filter-label") || box.placeholder);
    box.setAttribute("aria-controls", select.id);
    box.autocomplete = "off";

    box.addEventListener("input", function () {
      var wanted = words(box.value);
      var current = select.value;
      var keep = all.filter(function (option) {
        if (option.value === "" || option.value === current) return true;
        var text = option.text.toLowerCase();
        return wanted.every(function (w) { return text.indexOf(w) !== -1; });
      });
      while (select.options.length) select.remove(0);
      keep.forEach(function (option) { select.add(option); });
      select.value = current;
    });
    // Enter in the box must not submit the form half-chosen.
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault();
    });
    select.parentNode.insertBefore(box, select);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("select[data-filter]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
