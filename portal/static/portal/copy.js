// "Copy" buttons: data-copy names the element whose text goes to the clipboard. A file of its
// own, as the Content-Security-Policy allows no inline script. The feedback texts come from the
// button's data-copied and data-selected attributes (translated in the template), English otherwise.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    button.textContent = button.dataset.copied || "Copied";
  } catch (error) {
    // No clipboard (an insecure origin): select the text so Ctrl-C copies it.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    button.textContent = button.dataset.selected || "Selected: press Ctrl-C";
  }
  setTimeout(() => { button.textContent = label; }, 3000);
});
