// Prints the admin threat feed live, resuming with `since` after any reconnect.
//
//   node --experimental-websocket examples/js/threat_monitor.mjs --url ws://127.0.0.1:8080/ws \
//       --user adam --password adam-demo-2026 [--count N]
import { connectNode } from '../../clients/js/index.mjs';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const url = option('url', 'ws://127.0.0.1:8080/ws');
const count = Number(option('count', '0'));
const hub = await connectNode({
  url,
  onState: (state) => console.log(`connection ${state}`),
});
await hub.login(option('user'), option('password'));
let seen = 0;
await hub.subscribe('admin:threats', (event) => {
  const t = event.data;
  console.log(`THREAT seq=${event.seq} ${t.severity} ${t.kind} user=${t.username ?? '-'} ip=${t.ip ?? '-'} ${t.detail ?? ''}`);
  seen += 1;
  if (count && seen >= count) { hub.close(); process.exit(0); }
});
console.log('watching admin:threats');
