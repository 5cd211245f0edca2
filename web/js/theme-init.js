// Applies the saved theme before first paint (a classic script: the CSP forbids inline scripts).
(function () {
  try {
    var t = localStorage.getItem('bankhub.theme');
    if (t === 'light' || t === 'dark') document.documentElement.setAttribute('data-theme', t);
  } catch (e) { /* storage unavailable: follow the system theme */ }
})();
