/* global window, document */
// The Electron PIN window's transport for pin-prompt.html: talks only to window.pinPrompt
// (electron/preload/pin-preload.ts). The browser host serves its own fetch-based script
// (electron/browser-host/static/pin-prompt.js) under the same name.
(function () {
  'use strict';
  var api = window.pinPrompt;
  var purpose = document.getElementById('purpose');
  var token = document.getElementById('token');
  var errorBox = document.getElementById('error');
  var form = document.getElementById('pin-form');
  var pinInput = document.getElementById('pin');
  api.context().then(function (ctx) {
    if (!ctx) { purpose.textContent = 'No PIN is being asked for.'; form.hidden = true; return; }
    purpose.textContent = 'Sign: ' + ctx.purpose;
    token.textContent = 'Token "' + ctx.tokenLabel + '", key "' + ctx.keyLabel + '"' + (ctx.attempt > 1 ? ' (try ' + ctx.attempt + ')' : '');
    // A wrong PIN is asked again here, in place: say why, and the tries left when the token tells.
    if (ctx.previousError) errorBox.textContent = ctx.previousError;
  });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var pin = pinInput.value;
    pinInput.value = '';
    if (!pin) { errorBox.textContent = 'Enter the PIN.'; return; }
    api.submit(pin);
  });
  document.getElementById('cancel').addEventListener('click', function () { api.cancel(); });
})();
