// Pacekeeper's dashboard: countdowns that tick, and an optional refresh of the overview.
// No library; nothing is fetched from anywhere but this server.
"use strict";

function countdown(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24;
  const m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  if (d > 0) return d + "d " + h + "h";
  if (h > 0) return h + "h " + m + "m";
  if (m > 0) return m + "m " + s + "s";
  return s + "s";
}

function tick() {
  for (const el of document.querySelectorAll("[data-countdown]")) {
    const left = Math.max(0, Number(el.dataset.countdown) - 1);
    el.dataset.countdown = String(left);
    el.textContent = countdown(left);
  }
}

function autoRefresh() {
  const box = document.getElementById("auto-refresh");
  if (!box) return;
  box.checked = sessionStorage.getItem("pk-refresh") === "on";
  box.addEventListener("change", () => sessionStorage.setItem("pk-refresh", box.checked ? "on" : "off"));
  setInterval(() => { if (box.checked) location.reload(); }, 10000);
}

document.addEventListener("DOMContentLoaded", () => {
  setInterval(tick, 1000);
  autoRefresh();
});
