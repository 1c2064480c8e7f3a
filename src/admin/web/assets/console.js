// filmd's console: when the server says something changed (server-sent events on
// /events), fetch this page again and put its <main id="live"> in place of ours. Nothing
// is replaced while the operator is typing in a field of it.
"use strict";
(function () {
  const live = () => document.getElementById("live");
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    const current = live();
    if (!current || current.contains(document.activeElement) &&
        document.activeElement.matches("input, select, textarea")) { return; }
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById("live");
        if (fresh && live()) { live().replaceWith(fresh); }
      }
    } catch (e) { /* the next event tries again */ }
    busy = false;
    if (again) { again = false; refresh(); }
  }
  let events = null;
  function listen() {
    if (!window.EventSource || events) { return; }
    events = new EventSource("/events");
    events.addEventListener("change", refresh);
  }
  // A page kept in the back/forward cache would keep its /events connection open, and a
  // browser opens at most six HTTP/1.1 connections to one host: the seventh page would
  // wait for ever. Close it when the page is hidden; when the page comes back from that
  // cache, listen again and refresh (the spool may have moved meanwhile).
  window.addEventListener("pagehide", () => { if (events) { events.close(); events = null; } });
  window.addEventListener("pageshow", (e) => { if (e.persisted) { listen(); refresh(); } });
  listen();
})();
