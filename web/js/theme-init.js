// Applies the theme before first paint (a classic script: the CSP forbids inline scripts): the saved choice,
// else the system's, following system changes while no choice is saved. app.css keys its palette on it.
(function () {
  var root = document.documentElement;
  var query = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function saved() {
    try { var t = localStorage.getItem('bankhub.theme'); return t === 'light' || t === 'dark' ? t : null; }
    catch (e) { return null; /* storage unavailable: follow the system theme */ }
  }
  function apply() { root.setAttribute('data-theme', saved() || (query && query.matches ? 'dark' : 'light')); }
  apply();
  if (query && query.addEventListener) query.addEventListener('change', function () { if (!saved()) apply(); });
})();
