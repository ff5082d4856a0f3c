// Sign-in and sign-out: the login form shown when there is no session, and the header's
// sign-out button. Both reload the page, which then starts over from /api/me.

import { readError } from './api.js';
import { $ } from './dom.js';

/** Shows the login form instead of the application, with `message` when there is one. */
export function showLogin(message) {
  $('#app').hidden = true;
  $('#login').hidden = false;
  $('#logout').hidden = true;
  $('#whoami').textContent = '';
  $('#login-error').textContent = message ?? '';
  $('#login-form').elements.username.focus();
}

async function submitLogin(ev) {
  ev.preventDefault();
  const f = ev.target.elements;
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: f.username.value.trim(), password: f.password.value }),
  });
  if (res.ok) {
    location.reload();
    return;
  }
  const { message } = await readError(res);
  $('#login-error').textContent = message;
}

async function logout() {
  await fetch('/api/logout', { method: 'POST' });
  location.reload();
}

/** Wires the login form and the sign-out button. */
export function startSignIn() {
  $('#login-form').addEventListener('submit', submitLogin);
  $('#logout').addEventListener('click', logout);
}
