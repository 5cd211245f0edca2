// Minimal headless-Chromium driver over the DevTools protocol (no dependencies; Node >= 20 with
// --experimental-websocket). Enough to load a page, act on it by accessible names, read text and take
// screenshots.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Browser {
  static async launch({ width = 1280, height = 900, port = 9300 + Math.floor(Math.random() * 500), dark = false } = {}) {
    const bin = process.env.CHROMIUM ?? 'chromium';
    const proc = spawn(bin, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--remote-debugging-port=${port}`,
      `--window-size=${width},${height}`, '--user-data-dir=/tmp/bankhub-cdp-' + port, 'about:blank'], { stdio: 'ignore' });
    let target;
    for (let i = 0; i < 100 && !target; i++) {
      await sleep(100);
      try { target = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()).find((t) => t.type === 'page'); } catch { /* not up yet */ }
    }
    if (!target) { proc.kill(); throw new Error('chromium did not start'); }
    const b = new Browser(proc, new WebSocket(target.webSocketDebuggerUrl));
    await new Promise((res, rej) => { b.ws.onopen = res; b.ws.onerror = rej; });
    await b.send('Page.enable');
    await b.send('Runtime.enable');
    await b.send('Log.enable');
    await b.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: width < 600 });
    if (dark) await b.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-color-scheme', value: 'dark' }] });
    return b;
  }

  constructor(proc, ws) {
    this.proc = proc; this.ws = ws; this.id = 0; this.pending = new Map(); this.logs = [];
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.id && this.pending.has(msg.id)) {
        const { resolve, reject } = this.pending.get(msg.id); this.pending.delete(msg.id);
        if (msg.error) reject(new Error(msg.error.message)); else resolve(msg.result);
      } else if (msg.method === 'Log.entryAdded') this.logs.push(`${msg.params.entry.level}: ${msg.params.entry.text}`);
      else if (msg.method === 'Runtime.consoleAPICalled') this.logs.push(`console.${msg.params.type}: ${msg.params.args.map((a) => a.value ?? a.description).join(' ')}`);
      else if (msg.method === 'Runtime.exceptionThrown') this.logs.push(`exception: ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`);
    };
  }

  send(method, params = {}) {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  async goto(url) { await this.send('Page.navigate', { url }); await sleep(800); }

  /** Evaluate an expression (or a function body via `(() => {...})()`) in the page. */
  async eval(expression) {
    const r = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  }

  async waitFor(expression, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
      if (await this.eval(`!!(${expression})`)) return;
      if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
      await sleep(50);
    }
  }

  /** Fill the visible control labelled `label` (exact text), optionally inside the form/section named `scope`. */
  async fill(label, value, scope) {
    await this.eval(`(() => { const el = window.__bh_find(${JSON.stringify(label)}, ${JSON.stringify(scope ?? null)}); el.focus();
      if (el.tagName === 'SELECT') el.value = ${JSON.stringify(value)}; else el.value = ${JSON.stringify(value)};
      el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); })()`);
  }

  /** Click the visible button whose text is exactly `name`, optionally inside `scope`. */
  async click(name, scope) {
    await this.eval(`(() => { const root = ${JSON.stringify(scope ?? null)} ? window.__bh_scope(${JSON.stringify(scope)}) : document;
      const b = [...root.querySelectorAll('button')].find((b) => b.textContent.trim() === ${JSON.stringify(name)} && b.offsetParent !== null);
      if (!b) throw new Error('no button ' + ${JSON.stringify(name)}); b.click(); })()`);
  }

  async installHelpers() {
    await this.eval(`(() => {
      window.__bh_scope = (name) => [...document.querySelectorAll('form, section')].find((s) => {
        const id = s.getAttribute('aria-labelledby'); const n = s.getAttribute('aria-label') ?? (id && document.getElementById(id)?.textContent.trim());
        return n === name; }) ?? (() => { throw new Error('no scope ' + name); })();
      window.__bh_find = (label, scope) => {
        const root = scope ? window.__bh_scope(scope) : document;
        const l = [...root.querySelectorAll('label')].find((l) => l.textContent.trim() === label && l.control && l.control.offsetParent !== null);
        if (!l) throw new Error('no control labelled ' + label); return l.control; };
    })()`);
  }

  async screenshot(path, { fullPage = true } = {}) {
    const params = { format: 'png' };
    if (fullPage) {
      const { cssContentSize } = await this.send('Page.getLayoutMetrics');
      params.clip = { x: 0, y: 0, width: cssContentSize.width, height: cssContentSize.height, scale: 1 };
      params.captureBeyondViewport = true;
    }
    const { data } = await this.send('Page.captureScreenshot', params);
    await writeFile(path, Buffer.from(data, 'base64'));
  }

  close() { try { this.ws.close(); } catch { /* ignore */ } this.proc.kill(); }
}
