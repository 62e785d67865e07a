// The few things the pages do in the browser; all of it but the copy button works without.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Copy the new token to the clipboard.
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const field = document.getElementById(button.dataset.copy);
      const copied = () => { button.textContent = "Copied"; };
      field.select();
      if (document.execCommand("copy")) copied();
      else navigator.clipboard?.writeText(field.value).then(copied, () => {});
    });
  }
  // A part of a form that applies only while a radio button is chosen (the environments, the
  // expiry date) is disabled otherwise.
  for (const part of document.querySelectorAll("[data-when]")) {
    const radio = document.getElementById(part.dataset.when);
    const follow = () => { part.disabled = !radio.checked; };
    for (const other of document.getElementsByName(radio.name)) other.addEventListener("change", follow);
    follow();
  }
});
