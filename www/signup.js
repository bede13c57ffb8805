// The demo signup form's language switch: the widget follows the page's lang attribute.
document.getElementById("lang").addEventListener("change", (event) => {
  document.documentElement.lang = event.target.value;
});
