// Drives the dashboard through a customer's day and saves screenshots (a look-at-it check, not a test).
//   node --experimental-websocket Tests/browser/screens.mjs [--url http://127.0.0.1:8091/] [--user demo --password ...] [--out /tmp]
// Without --url it starts the stub hub on a free port, serving ./web.
import { Browser } from './cdp.mjs';
import { StubHub } from './stub-hub.mjs';

const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : dflt; };
const out = arg('--out', '/tmp');
let url = arg('--url');
let hub;
if (!url) {
  hub = new StubHub();
  url = `http://127.0.0.1:${await hub.listen(0, 'web')}/`;
}
const baseUser = arg('--user', `shot${Date.now() % 100000}`);
const password = arg('--password', 'screenshot-pw');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run({ width, height, dark, tag }) {
  const b = await Browser.launch({ width, height, dark });
  try {
    await b.goto(url);
    await b.installHelpers();
    await b.waitFor(`document.getElementById('conn').dataset.state === 'open'`);
    await b.screenshot(`${out}/bh-${tag}-1-login.png`);
    await b.fill('Username', arg('--user') ? baseUser : `${baseUser}${tag.length}`);
    await b.fill('Password', password);
    await b.click(arg('--user') ? 'Log in' : 'Sign up');
    await b.waitFor(`!document.getElementById('dashboard-view').hidden`);
    await b.installHelpers();
    if (!(await b.eval(`document.querySelectorAll('#accounts-list li').length`))) {
      await b.fill('Nickname', 'Everyday');
      await b.click('Open account');
      await b.waitFor(`document.querySelectorAll('#accounts-list li').length === 1`);
      await b.fill('Nickname', 'Savings');
      await b.click('Open account');
      await b.waitFor(`document.querySelectorAll('#accounts-list li').length === 2`);
    }
    const [first, second] = await b.eval(`[...document.querySelectorAll('#accounts-list button')].map((x) => x.dataset.account)`);
    await b.fill('Account', first, 'Deposit or withdraw');
    await b.fill('Amount', '1,250.5', 'Deposit or withdraw');
    await b.fill('Note', 'Salary', 'Deposit or withdraw');
    await b.click('Deposit', 'Deposit or withdraw');
    await b.waitFor(`!document.getElementById('dw-success').hidden || !document.getElementById('dw-error').hidden`);
    await b.fill('Amount', '12.345', 'Deposit or withdraw');
    await b.click('Withdraw', 'Deposit or withdraw');
    await b.fill('From account', first, 'Transfer');
    await b.fill('To account', second, 'Transfer');
    await b.fill('Amount', '200', 'Transfer');
    await b.fill('Note', 'Rainy day', 'Transfer');
    await b.click('Send', 'Transfer');
    await b.waitFor(`!document.getElementById('tx-success').hidden || !document.getElementById('tx-error').hidden`);
    await b.fill('To account', second, 'Transfer');
    await b.fill('Amount', '99999', 'Transfer');
    await b.click('Send', 'Transfer');
    await b.waitFor(`!document.getElementById('tx-amount-error').hidden || !document.getElementById('tx-error').hidden`);
    await sleep(500);
    await b.click('Look up balance');
    await sleep(400);
    await b.screenshot(`${out}/bh-${tag}-2-dashboard.png`);
    console.log(tag, 'dw:', await b.eval(`document.getElementById('dw-success').textContent || document.getElementById('dw-error').textContent`));
    console.log(tag, 'tx amount error:', await b.eval(`document.getElementById('tx-amount-error').textContent || document.getElementById('tx-error').textContent`));
    console.log(tag, 'live region:', await b.eval(`document.getElementById('announcer').textContent`));
    console.log(tag, 'balance at:', await b.eval(`document.getElementById('balance-at-result').textContent`));
    await b.click('Log out');
    await b.waitFor(`!document.getElementById('auth-view').hidden`);
    if (b.logs.length) console.log(tag, 'browser log:\n  ' + b.logs.join('\n  '));
  } finally {
    b.close();
  }
}

try {
  await run({ width: 1280, height: 900, dark: false, tag: 'desktop' });
  await run({ width: 360, height: 780, dark: true, tag: 'mobile-dark' });
} finally {
  if (hub) await hub.stop();
}
process.exit(0);
