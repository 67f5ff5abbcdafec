/* global window, document, fetch */
// The browser host's transport for the shared PIN page (electron/pin-prompt/pin-prompt.html),
// served as /pin-prompt/pin-prompt.js. Deliberately tiny and separate from the React renderer: the
// PIN is read here and posted straight to the host (same origin), which hands it to the signer.
(function () {
  'use strict';
  var match = /^\/pin-prompt\/([0-9a-f]{32})$/.exec(window.location.pathname);
  var purpose = document.getElementById('purpose');
  var token = document.getElementById('token');
  var errorBox = document.getElementById('error');
  var form = document.getElementById('pin-form');
  var pinInput = document.getElementById('pin');
  if (!match) {
    purpose.textContent = 'This PIN prompt link is not valid.';
    form.hidden = true;
    return;
  }
  var promptUrl = '/pin-prompt/' + match[1];

  function finish(text) {
    form.hidden = true;
    purpose.textContent = text;
    window.setTimeout(function () { window.close(); }, 600);
  }

  fetch(promptUrl + '/context', { headers: { accept: 'application/json' } })
    .then(function (res) { return res.ok ? res.json() : Promise.reject(new Error('gone')); })
    .then(function (ctx) {
      purpose.textContent = 'Sign: ' + ctx.purpose;
      token.textContent = 'Token "' + ctx.tokenLabel + '", key "' + ctx.keyLabel + '"' + (ctx.attempt > 1 ? ' (try ' + ctx.attempt + ')' : '');
      // A wrong PIN is asked again here, in place: say why, and the tries left when the token tells.
      if (ctx.previousError) errorBox.textContent = ctx.previousError;
    })
    .catch(function () { finish('This PIN prompt has already been answered or has expired.'); });

  function post(body) {
    return fetch(promptUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var pin = pinInput.value;
    pinInput.value = '';
    if (!pin) { errorBox.textContent = 'Enter the PIN.'; return; }
    post({ pin: pin }).then(function (res) {
      if (res.ok) finish('PIN sent. Signing…');
      else errorBox.textContent = 'The console refused the PIN prompt answer (expired?).';
    });
  });
  document.getElementById('cancel').addEventListener('click', function () {
    post({ cancel: true }).then(function () { finish('Cancelled: nothing was signed.'); });
  });
})();
