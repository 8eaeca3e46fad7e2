// What every page needs on top of htmx (loaded after it, deferred; nothing here is needed without
// JavaScript).

// htmx swaps only 2xx answers by default. Here a form to correct (422), a refusal (403, 409), a
// missing record (404) or the rate limit (429) is a page to show, in place like any other step.
document.addEventListener("htmx:beforeSwap", function (event) {
  if ([403, 404, 409, 422, 429].indexOf(event.detail.xhr.status) >= 0) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// A swapped step is a new page to a screen reader too: move the focus to it, as a page load does.
document.addEventListener("htmx:afterSettle", function () {
  var main = document.getElementById("main");
  if (main) { main.focus({preventScroll: true}); }
});
