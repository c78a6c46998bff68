// replyd console: keyboard shortcuts and bulk selection for the review
// queue. Every action also works without this script, through plain forms.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const items = Array.from(document.querySelectorAll("article.item"));
  const selectAll = document.getElementById("select-all");
  const boxes = () => Array.from(document.querySelectorAll("input.select"));
  const counter = document.getElementById("selected-count");
  const updateCount = () => {
    if (counter) counter.textContent = boxes().filter((b) => b.checked).length + " selected";
  };
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      boxes().forEach((b) => { b.checked = selectAll.checked; });
      updateCount();
    });
  }
  boxes().forEach((b) => b.addEventListener("change", updateCount));

  // A bulk rejection needs its reason before it is sent.
  const bulkReject = document.getElementById("bulk-reject");
  if (bulkReject) {
    bulkReject.addEventListener("click", (event) => {
      const reason = document.getElementById("bulk-reason");
      if (!reason.value.trim()) {
        event.preventDefault();
        reason.focus();
        reason.setCustomValidity("A rejection needs a reason.");
        reason.reportValidity();
        reason.addEventListener("input", () => reason.setCustomValidity(""), { once: true });
      }
    });
  }

  // The message page: a saved reply fills the reply's text area; `s`
  // (outside a field) moves to the saved replies.
  const saved = document.getElementById("saved-reply");
  if (saved) {
    const replyText = document.getElementById("reply-text");
    saved.addEventListener("change", () => {
      const option = saved.selectedOptions[0];
      if (!option || !option.value) return;
      replyText.value = option.dataset.text;
      replyText.focus();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "s" && !event.ctrlKey && !event.metaKey && !event.altKey
          && !event.target.matches("input, textarea, select")) {
        event.preventDefault();
        saved.focus();
      }
    });
  }

  if (!items.length) return;
  let current = -1;
  const focusItem = (i) => {
    if (i < 0 || i >= items.length) return;
    if (current >= 0) items[current].classList.remove("current");
    current = i;
    items[i].classList.add("current");
    items[i].focus();
    items[i].scrollIntoView({ block: "nearest" });
  };
  items.forEach((item, i) => item.addEventListener("focusin", () => {
    if (current >= 0 && current !== i) items[current].classList.remove("current");
    current = i;
    item.classList.add("current");
  }));
  const inCurrent = (selector) => current >= 0 ? items[current].querySelector(selector) : null;
  const help = document.getElementById("help");

  document.addEventListener("keydown", (event) => {
    const typing = event.target.matches("input, textarea, select");
    if (typing) {
      if (event.key === "Escape") {
        event.target.blur();
        if (current >= 0) items[current].focus();
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches("textarea.draft")) {
        event.preventDefault();
        event.target.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    switch (event.key) {
      case "j": focusItem(current + 1); break;
      case "k": focusItem(Math.max(current - 1, 0)); break;
      case "e": { const t = inCurrent("textarea.draft"); if (t) { event.preventDefault(); t.focus(); } break; }
      case "a": { const f = inCurrent("form.approve-form"); if (f) f.requestSubmit(); break; }
      case "r": { const r = inCurrent("input.reason"); if (r) { event.preventDefault(); r.focus(); } break; }
      case "x": { const b = inCurrent("input.select"); if (b) { b.checked = !b.checked; updateCount(); } break; }
      case "?": if (help) help.showModal(); break;
      default: return;
    }
  });
});
