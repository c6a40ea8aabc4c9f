// Many bare SignalR connections from one Node process, for bench/server_bench.py.
//   node node_raw_clients.cjs hold URL N            open N connections, print
//                                                   "ready SECONDS" once all are
//                                                   handshaken, hold them until stdin closes
//   node node_raw_clients.cjs broadcast URL N K     open N connections; K times (after a
//                                                   warm-up) the first invokes
//                                                   Broadcast("x"): print the median ms
//                                                   until the last connection has it
// Each connection is negotiate (version 1), a `ws` WebSocket, the JSON handshake, and
// then nothing but a Ping every 10 s (so no server times it out). Not the official
// client: thousands of those cost the client process far more than the server, and
// aiosignalr's server, which sends JSON in binary frames, fails the official client's
// handshake; a frame of either kind is read as text here. NODE_PATH: bench/node_modules.
"use strict";
const WebSocket = require("ws");

const RS = "\x1e";
const CONCURRENCY = 100;

async function open(url, onText) {
  const response = await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" });
  if (!response.ok) throw new Error(`negotiate: HTTP ${response.status}`);
  const { connectionToken } = await response.json();
  const socket = new WebSocket(`ws${url.slice(4)}?id=${encodeURIComponent(connectionToken)}`);
  await new Promise((resolve, reject) => {
    let handshaken = false;
    socket.on("error", reject);
    socket.on("close", (code) => {
      if (!handshaken) reject(new Error(`closed before the handshake (${code})`));
    });
    socket.on("open", () => socket.send(`{"protocol":"json","version":1}${RS}`));
    socket.on("message", (data) => {
      let text = data.toString();
      if (!handshaken) {
        const end = text.indexOf(RS);
        const answer = JSON.parse(text.slice(0, end));
        if (answer.error) return reject(new Error(`handshake: ${answer.error}`));
        handshaken = true;
        resolve();
        text = text.slice(end + 1);
      }
      if (text) onText(text);
    });
  });
  return socket;
}

async function openAll(url, count, onText) {
  const sockets = new Array(count);
  let next = 0;
  async function worker() {
    while (next < count) {
      const index = next++;
      sockets[index] = await open(url, (text) => onText(index, text));
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, count) }, worker));
  const ping = `{"type":6}${RS}`;
  setInterval(() => sockets.forEach((socket) => socket.send(ping)), 10000).unref();
  return sockets;
}

async function hold(url, count) {
  const started = process.hrtime.bigint();
  await openAll(url, count, () => {});
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`ready ${seconds.toFixed(3)}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on("end", resolve));
}

async function broadcast(url, count, rounds) {
  let waiting = 0;
  let done = () => {};
  const sockets = await openAll(url, count, (index, text) => {
    if (text.includes('"target":"Broadcast"')) {
      waiting -= 1;
      if (waiting === 0) done();
    }
  });
  const times = [];
  for (let round = 0; round <= rounds; round += 1) {
    const all = new Promise((resolve) => { done = resolve; });
    waiting = count;
    const started = process.hrtime.bigint();
    sockets[0].send(`{"type":1,"invocationId":"${round}","target":"Broadcast","arguments":["x"]}${RS}`);
    await all;
    if (round > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${times[Math.floor(times.length / 2)].toFixed(2)}\n`);
}

async function main() {
  const [mode, url, count, rounds] = process.argv.slice(2);
  if (mode === "hold") await hold(url, Number(count));
  else if (mode === "broadcast") await broadcast(url, Number(count), Number(rounds || 5));
  else throw new Error(`unknown mode ${mode}`);
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`${error && error.message ? error.message : error}\n`);
  process.exit(1);
});
