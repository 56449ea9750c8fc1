// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.classList.add("js");
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
});

// Text this file shows comes from the page, in its language (data-*-label on <body>, base.html).
const label = (name, fallback) => document.body?.dataset[name] || fallback;

// Copy buttons: <button data-copy="text">.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  try {
    await navigator.clipboard.writeText(button.dataset.copy);
    button.dataset.copied = "true";
    const before = button.textContent;
    button.textContent = label("copiedLabel", "Copied");
    setTimeout(() => { button.textContent = before; delete button.dataset.copied; }, 1500);
  } catch (err) {
    button.textContent = label("copyFallbackLabel", "Select and copy");
  }
});

// Live parts of a page (hx-trigger="every ...") keep what they last showed when a poll fails
// (htmx does not swap error answers) and keep polling; say so until a poll succeeds again.
const LIVE_STATUS = {
  503: ["unavailableLabel", "SMS Desk is temporarily unavailable. This page shows what it last knew and keeps trying."],
  other: ["notAnsweringLabel", "SMS Desk is not answering. This page shows what it last knew and keeps trying."],
};
document.addEventListener("htmx:afterRequest", (event) => {
  const note = document.getElementById("live-status");
  const trigger = event.detail.elt.getAttribute("hx-trigger") || "";
  if (!note || !trigger.startsWith("every ")) return;
  const status = event.detail.xhr.status;
  if (event.detail.successful) {
    note.hidden = true;
  } else if (status === 0 || status >= 500) {
    note.textContent = label(...(LIVE_STATUS[status] || LIVE_STATUS.other));
    note.hidden = false;
  }
});

// confirm: a destructive form (form[data-confirm]) asks in the page's one <dialog> first and,
// once confirmed, posts with confirmed=1. Without this code (or without <dialog>) the form
// posts as it is and the server asks on a page of its own (dashboard/confirm.py).
function askToConfirm(message, onConfirm) {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return false;
  dialog.querySelector("#confirm-dialog-message").textContent = message;
  dialog.returnValue = "";
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm") onConfirm();
  }, { once: true });
  dialog.showModal();
  return true;
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || !form.matches("form[data-confirm]")) return;
  if (form.elements.namedItem("confirmed")) return;  // confirmed: this is the submission
  const submitter = event.submitter;
  const asked = askToConfirm(form.dataset.confirm, () => {
    // A live part of the page may have been swapped meanwhile; a detached form cannot submit.
    if (!form.isConnected) document.body.append(Object.assign(form, { hidden: true }));
    const confirmed = document.createElement("input");
    Object.assign(confirmed, { type: "hidden", name: "confirmed", value: "1" });
    form.append(confirmed);
    form.requestSubmit(submitter);
    confirmed.remove();  // the entry list is built already; back to this page, it asks again
  });
  if (asked) event.preventDefault();
});

// shell: a table that scrolls in its own box (on narrow screens every wide table does, see
// app.css; the reports' long tables at any width) takes keyboard focus (tabindex), so that it
// can be scrolled without a pointer too.
const markScrollingTables = () => {
  document.querySelectorAll("table, .table-scroll").forEach((box) => {
    const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
    if (scrolls) {
      box.tabIndex = 0;
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  });
};
document.addEventListener("DOMContentLoaded", markScrollingTables);
document.addEventListener("htmx:afterSettle", markScrollingTables);
window.addEventListener("resize", markScrollingTables);
