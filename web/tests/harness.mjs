// What the browser checks share: Chromium launched one way, a check that prints its line, and
// asking the Rust test that runs the script to act (tests/src/node.rs): the script prints
// `CONTROL <command>` and the test answers `OK [answer]` or `ERR <message>` on standard input.

import readline from 'node:readline';
import { chromium } from 'playwright-core';

/** Headless Chromium (CHROMIUM, else /usr/bin/chromium), quiet and without a sandbox. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Fails the script with `what` unless `condition`; prints `ok - what` when it holds. */
export function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

const replies = [];
let waiter = null;
// Created on first use: a script that never asks does not hold its standard input open.
let input = null;

function listen() {
  input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (waiter) {
      const wake = waiter;
      waiter = null;
      wake(line);
    } else replies.push(line);
  });
}

/** Asks the test to do `command`; resolves to its answer after "OK" (may be empty). */
export async function control(command, timeoutMs = 120000) {
  if (input === null) listen();
  console.log(`CONTROL ${command}`);
  const reply = replies.length > 0 ? replies.shift() : await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to CONTROL ${command}`)), timeoutMs);
    waiter = (line) => {
      clearTimeout(timer);
      resolve(line);
    };
  });
  if (reply !== 'OK' && !reply.startsWith('OK ')) throw new Error(`CONTROL ${command} failed: ${reply}`);
  return reply.slice(3);
}
