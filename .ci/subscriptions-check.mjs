// Independent check of live order events, run by .ci/run: the graphql-ws
// and graphql-sse npm clients subscribe, and this script, acting as WeChat,
// pushes signed, encrypted events to the server (started in Store sandbox
// mode with the push Token and key given here) until both have one.
// Usage: node subscriptions-check.mjs <base URL> <push token> <EncodingAESKey>
import { createClient as wsClient } from 'graphql-ws';
import { createClient as sseClient } from 'graphql-sse';
import WebSocket from 'ws';
import crypto from 'node:crypto';

const base = process.argv[2], token = process.argv[3], key43 = process.argv[4], appid = 'wxsandbox00000000';
const query = 'subscription { orderEvents(filter: {orderId: "9223372036854775807"}) { kind orderId at order { id } } }';

function sign(...parts) { return crypto.createHash('sha1').update(parts.sort().join('')).digest('hex'); }
function encrypt(msg) {
  const key = Buffer.from(key43 + '=', 'base64');
  const m = Buffer.from(msg);
  const len = Buffer.alloc(4); len.writeUInt32BE(m.length);
  let plain = Buffer.concat([crypto.randomBytes(16), len, m, Buffer.from(appid)]);
  const pad = 32 - (plain.length % 32);
  plain = Buffer.concat([plain, Buffer.alloc(pad, pad)]);
  const c = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16)); c.setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}
async function pushAsWeChat(createTime) {
  const event = `{"ToUserName":"gh_x","FromUserName":"o1","CreateTime":${createTime},"MsgType":"event","Event":"channels_ec_order_pay","order_info":{"order_id":9223372036854775807,"pay_time":1714112440}}`;
  // Signed now: the server refuses a push signed hours ago as a replay.
  const enc = encrypt(event), ts = String(Math.floor(Date.now() / 1000)), nonce = '77';
  const q = new URLSearchParams({ timestamp: ts, nonce, encrypt_type: 'aes', msg_signature: sign(token, ts, nonce, enc) });
  const r = await fetch(`${base}/wechat/events?${q}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ToUserName: 'gh_x', Encrypt: enc }) });
  return [r.status, await r.text()];
}
function first(client) {
  return new Promise((resolve, reject) => {
    const dispose = client.subscribe({ query }, { next: (v) => { dispose(); resolve(v); }, error: reject, complete: () => {} });
  });
}
const ws = wsClient({ url: base.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket });
const sse = sseClient({ url: base + '/graphql/stream' });
let done = false;
const got = Promise.all([first(ws), first(sse)]).finally(() => { done = true; });
// Subscriptions take a moment to stand: push a fresh event (a new
// CreateTime, so not a retry) until both clients have had one.
for (let t = 1714112445; !done && t < 1714112445 + 40; t++) {
  const [status, body] = await pushAsWeChat(t);
  if (status !== 200 || body !== 'success') { console.error('push answered', status, body); process.exit(1); }
  await new Promise((r) => setTimeout(r, 250));
}
const [a, b] = await got;
console.log('graphql-ws ', JSON.stringify(a));
console.log('graphql-sse', JSON.stringify(b));
await ws.dispose(); sse.dispose();
// Each client may have got a different push (one per CreateTime): check
// what each got, not that they match.
const ok = (r) => r.data?.orderEvents?.kind === 'PAID' && r.data.orderEvents.orderId === '9223372036854775807' && r.data.orderEvents.order?.id === '9223372036854775807';
process.exit(ok(a) && ok(b) ? 0 : 1);
