/* The book's own scripts, on top of sphinx-book-theme (book/conf.py loads this on every page). */
(() => {
  "use strict";

  /* The menus on phones and tablets. Below 992 px (the chapters) and 1200 px (the page's contents) the
     theme opens its sidebars as dialogs, but it hooks only the first button of each kind, which this
     theme hides: the buttons a reader sees did nothing (pydata/pydata-sphinx-theme#2451,
     executablebooks/sphinx-book-theme#988). Every button opens its dialog here. */
  const MENUS = [
    {button: ".primary-toggle", sidebar: "pst-primary-sidebar", dialog: "pst-primary-sidebar-modal", wide: 992},
    {button: ".secondary-toggle", sidebar: "pst-secondary-sidebar", dialog: "pst-secondary-sidebar-modal", wide: 1200},
  ];

  function move(from, to) {
    Array.from(from.childNodes).forEach((node) => to.appendChild(node));
    Array.from(from.classList).forEach((name) => { from.classList.remove(name); to.classList.add(name); });
  }

  function openMenu(menu, sidebar, dialog, button) {
    if (dialog.open) return;
    move(sidebar, dialog);
    dialog.setAttribute("aria-label", button.getAttribute("aria-label") || button.title || "Menu");
    dialog.showModal();
    dialog.addEventListener("close", () => { move(dialog, sidebar); button.focus(); }, {once: true});
  }

  function menus() {
    for (const menu of MENUS) {
      const sidebar = document.getElementById(menu.sidebar), dialog = document.getElementById(menu.dialog);
      if (!sidebar || !dialog) continue;
      const buttons = [...document.querySelectorAll(menu.button)];
      buttons.forEach((button, i) => button.addEventListener("click", (event) => {
        if (window.matchMedia(`(min-width: ${menu.wide}px)`).matches) {
          if (i > 0 && menu.wide === 992) {  // wide: the chapters' sidebar folds away, as the theme's first button does
            event.preventDefault();
            event.stopImmediatePropagation();
            sidebar.classList.toggle("pst-sidebar-hidden");
          }
          return;
        }
        event.preventDefault();
        event.stopImmediatePropagation();
        openMenu(menu, sidebar, dialog, button);
      }, true));
      dialog.addEventListener("click", (event) => {  // a tap beside the menu (on the backdrop) closes it
        if (event.target !== dialog) return;
        const r = dialog.getBoundingClientRect();
        if (event.clientX < r.left || event.clientX > r.right || event.clientY < r.top || event.clientY > r.bottom) dialog.close();
      });
      dialog.addEventListener("keydown", (event) => {
        if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); dialog.close(); }
      });
      dialog.addEventListener("click", (event) => {  // following a link closes the menu
        if (event.target.closest("a[href]")) dialog.close();
      });
    }
  }

  /* A copy button on every block of code. */
  function copyButtons() {
    document.querySelectorAll("div.cell_input div.highlight, div.highlight-python div.highlight, div.highlight-bash div.highlight").forEach((block) => {
      const pre = block.querySelector("pre");
      if (!pre || block.querySelector(".nn-copy")) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "nn-copy";
      button.title = "Copy the code";
      button.setAttribute("aria-label", "Copy the code");
      button.innerHTML = '<i class="fa-solid fa-copy" aria-hidden="true"></i>';
      button.addEventListener("click", async () => {
        const code = pre.innerText.replace(/\n$/, "");
        let done = false;
        try { await navigator.clipboard.writeText(code); done = true; } catch (error) {
          const area = document.createElement("textarea");  // file:// and older browsers: no clipboard API
          area.value = code; document.body.appendChild(area); area.select();
          done = document.execCommand("copy"); area.remove();
        }
        button.innerHTML = done ? '<i class="fa-solid fa-check" aria-hidden="true"></i>' : "!";
        button.setAttribute("aria-label", done ? "Copied" : "Could not copy");
        setTimeout(() => { button.innerHTML = '<i class="fa-solid fa-copy" aria-hidden="true"></i>';
                           button.setAttribute("aria-label", "Copy the code"); }, 1500);
      });
      block.appendChild(button);
    });
  }

  /* What does not fit the column scrolls sideways, and shows it: a shadow on the side that hides more
     (book.css), and it takes the keyboard's focus so that the arrow keys scroll it. */
  function markScrolling() {
    document.querySelectorAll('mjx-container[display="true"], div.cell_output table, .nn-figure').forEach((box) => {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      box.classList.toggle("nn-scrolls", scrolls);
      if (scrolls && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
      if (!scrolls && box.getAttribute("tabindex") === "0") box.removeAttribute("tabindex");
    });
  }

  /* Figures on a phone (under 768 px): a wide figure shrunk to under 70% of its size has text too small to
     read (the figures' text is drawn for 100 dpi), so it is shown at 70% in a box that scrolls sideways; a tap
     shows it whole, another tap legible again. On a wider screen a figure wider than the column fits it,
     and a tap shows it at full size. */
  const LEGIBLE = 0.7;

  function figures() {
    document.querySelectorAll("div.cell_output img, .nn-panel-picture img").forEach((img) => {
      if (!img.closest(".nn-figure")) {
        const box = document.createElement("div");
        box.className = "nn-figure";
        img.replaceWith(box);
        box.appendChild(img);
        img.addEventListener("click", () => { img.classList.toggle("nn-toggled"); fit(img); markScrolling(); });
      }
      if (img.complete) fit(img); else img.addEventListener("load", () => { fit(img); markScrolling(); }, {once: true});
    });
  }

  function fit(img) {
    // the size the figure is drawn for: its width attribute (a 2x "retina" PNG holds twice as many pixels
    // and says its size in the notebook's output), else its pixels
    const column = img.parentElement.clientWidth, natural = Number(img.getAttribute("width")) || img.naturalWidth;
    if (!natural || !column) return;
    const phone = window.matchMedia("(max-width: 767.98px)").matches;
    const toggled = img.classList.contains("nn-toggled"), narrow = phone && natural * LEGIBLE > column;
    const width = natural <= column ? null : narrow ? (toggled ? null : natural * LEGIBLE) : (toggled ? natural : null);
    img.style.width = width ? `${Math.round(width)}px` : "";
    img.style.maxWidth = width ? "none" : "";
    img.classList.toggle("nn-zoomable", natural > column);
    img.closest(".nn-figure").classList.toggle("nn-legible", Boolean(width) && narrow);
  }

  function ready() {
    menus();
    copyButtons();
    figures();
    markScrolling();
    const typeset = () => window.MathJax && MathJax.startup && MathJax.startup.promise && MathJax.startup.promise.then(markScrolling);
    typeset();
    window.addEventListener("load", () => { typeset(); markScrolling(); });
    let timer = null;
    window.addEventListener("resize", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { document.querySelectorAll(".nn-figure img").forEach(fit); markScrolling(); }, 150);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready); else ready();
})();
