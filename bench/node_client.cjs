// The official @microsoft/signalr client on Node, for side-by-side benchmarks.
//   node node_client.cjs stream URL METHOD [JSON_ARG...]   count the items, print the count
//   node node_client.cjs invoke URL METHOD [JSON_ARG...]   print the result
// HUBCLI_BENCH_PROTOCOL=messagepack switches protocols. NODE_PATH must point at a
// node_modules holding @microsoft/signalr (and -protocol-msgpack).
"use strict";
const signalR = require("@microsoft/signalr");

async function main() {
  const [mode, url, method, ...rawArgs] = process.argv.slice(2);
  const args = rawArgs.map((text) => JSON.parse(text));
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, { transport: signalR.HttpTransportType.WebSockets })
    .configureLogging(signalR.LogLevel.None);
  if (process.env.HUBCLI_BENCH_PROTOCOL === "messagepack") {
    const msgpack = require("@microsoft/signalr-protocol-msgpack");
    builder = builder.withHubProtocol(new msgpack.MessagePackHubProtocol());
  }
  const connection = builder.build();
  await connection.start();
  if (mode === "invoke") {
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
