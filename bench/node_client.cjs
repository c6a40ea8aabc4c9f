// The official @microsoft/signalr client on Node, for side-by-side benchmarks.
//   node node_client.cjs stream URL METHOD [JSON_ARG...]   count the items, print the count
//   node node_client.cjs invoke URL METHOD [JSON_ARG...]   print the result
//   node node_client.cjs listen URL TARGET N              count N pushes of TARGET,
//                                                         asked for with Notify(TARGET, N, 0)
//   node node_client.cjs roundtrip URL METHOD N            N sequential METHOD(i) calls
//                                                         after a warm-up: us a call
//   node node_client.cjs upload URL METHOD N               invoke METHOD with a Subject and
//                                                         push 0..N-1 through it (one frame
//                                                         an item): "SECONDS RESULT"
//   node node_client.cjs interleave URL,URL... METHOD N BLOCK
//                                                         N sequential calls on each hub,
//                                                         BLOCK at a time on each in turn:
//                                                         per hub, the median of its
//                                                         blocks' us a call, one a line
// HUBCLI_BENCH_PROTOCOL=messagepack switches protocols. NODE_PATH must point at a
// node_modules holding @microsoft/signalr (and -protocol-msgpack).
"use strict";
const signalR = require("@microsoft/signalr");

function build(url) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None);
  if (process.env.HUBCLI_BENCH_PROTOCOL === "messagepack") {
    const msgpack = require("@microsoft/signalr-protocol-msgpack");
    builder = builder.withHubProtocol(new msgpack.MessagePackHubProtocol());
  }
  return builder.build();
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// Calls alternate between the hubs every BLOCK calls, so a slow spell of a shared
// machine falls on all of them alike.
async function interleave(urls, method, count, block) {
  const connections = urls.map(build);
  for (const connection of connections) await connection.start();
  for (const connection of connections) {
    for (let i = 0; i < 200; i += 1) await connection.invoke(method, i);
  }
  const blocks = connections.map(() => []);
  for (let done = 0; done < count; done += block) {
    const size = Math.min(block, count - done);
    const shift = (done / block) % connections.length;
    for (let turn = 0; turn < connections.length; turn += 1) {
      const index = (turn + shift) % connections.length;
      const started = process.hrtime.bigint();
      for (let i = 0; i < size; i += 1) await connections[index].invoke(method, i);
      blocks[index].push(Number(process.hrtime.bigint() - started) / 1000 / size);
    }
  }
  for (const times of blocks) process.stdout.write(`${median(times).toFixed(1)}\n`);
  for (const connection of connections) await connection.stop();
}

async function main() {
  const [mode, url, method, ...rawArgs] = process.argv.slice(2);
  if (mode === "interleave") {
    await interleave(url.split(","), method, Number(rawArgs[0]), Number(rawArgs[1]));
    return;
  }
  const args = ["roundtrip", "listen", "upload"].includes(mode) ? [] : rawArgs.map((text) => JSON.parse(text));
  const connection = build(url);
  await connection.start();
  if (mode === "listen") {
    const count = Number(rawArgs[0]);
    let received = 0;
    const all = new Promise((resolve) => {
      connection.on(method, () => {
        received += 1;
        if (received === count) resolve();
      });
    });
    await connection.invoke("Notify", method, count, 0);
    await all;
    process.stdout.write(received + "\n");
  } else if (mode === "roundtrip") {
    const count = Number(rawArgs[0]);
    for (let i = 0; i < 200; i += 1) await connection.invoke(method, i);
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    for (let i = 0; i < count; i += 1) await connection.invoke(method, i);
    const elapsed = Number(process.hrtime.bigint() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuMicros = used.user + used.system;
    process.stdout.write(`${(elapsed / count).toFixed(1)} ${(cpuMicros / count).toFixed(1)}\n`);
  } else if (mode === "upload") {
    const count = Number(rawArgs[0]);
    const started = process.hrtime.bigint();
    const subject = new signalR.Subject();
    const result = connection.invoke(method, subject);
    for (let i = 0; i < count; i += 1) subject.next(i);
    subject.complete();
    const value = await result;
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    process.stdout.write(`${elapsed.toFixed(3)} ${JSON.stringify(value)}\n`);
  } else if (mode === "invoke") {
    const result = await connection.invoke(method, ...args);
    process.stdout.write(JSON.stringify(result) + "\n");
  } else {
    let count = 0;
    await new Promise((resolve, reject) => {
      connection.stream(method, ...args).subscribe({
        next: () => { count += 1; },
        error: reject,
        complete: resolve,
      });
    });
    process.stdout.write(count + "\n");
  }
  await connection.stop();
}

main().catch((error) => {
  process.stderr.write(String(error) + "\n");
  process.exit(1);
});
