/* Progressive enhancement only: every page works without this file.
   - When a form comes back with errors, the keyboard focus moves to the error summary, so
     screen-reader and keyboard users land on the list of problems.
   - A link of the summary moves the focus to its field (a plain anchor only scrolls), and opens
     the collapsed <details> section that holds it. */
document.addEventListener("DOMContentLoaded", function () {
  var summaries = document.querySelectorAll(".error-summary");
  if (summaries.length) {
    summaries[0].focus();
  }
  Array.prototype.forEach.call(summaries, function (summary) {
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) { return; }
      var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (!target) { return; }
      event.preventDefault();
      var details = target.closest("details");
      if (details) { details.open = true; }
      target.focus();
      target.scrollIntoView({block: "center"});
    });
  });
});
