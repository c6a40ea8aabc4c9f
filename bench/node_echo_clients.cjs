// The official @microsoft/signalr client on Node, N connections in one process,
// each invoking Echo(now) in a closed loop: the echo scenario of bench_echo_bench.py.
//   node node_echo_clients.cjs URL CONNECTIONS WARMUP_SECONDS SECONDS
// Prints {"requests": answered in the measured window, "cpu": this process's CPU
// seconds (user + system) in it}. NODE_PATH must hold @microsoft/signalr.
"use strict";
const signalR = require("@microsoft/signalr");

async function main() {
  const [url, connectionsText, warmupText, secondsText] = process.argv.slice(2);
  const connections = [];
  for (let i = 0; i < Number(connectionsText); i++) {
    connections.push(
      new signalR.HubConnectionBuilder()
        .withUrl(url, { transport: signalR.HttpTransportType.WebSockets })
        .configureLogging(signalR.LogLevel.None)
        .build(),
    );
  }
  await Promise.all(connections.map((connection) => connection.start()));
  const start = Date.now() + Number(warmupText) * 1000;
  const end = start + Number(secondsText) * 1000;
  let requests = 0;
  let cpu = null;
  const measuring = new Promise((resolve) =>
    setTimeout(() => {
      cpu = process.cpuUsage();
      resolve();
    }, start - Date.now()),
  );
  const loops = connections.map(async (connection) => {
    while (Date.now() < end) {
      await connection.invoke("Echo", new Date().toISOString());
      if (Date.now() >= start && Date.now() < end + 1000) requests += 1;
    }
  });
  await measuring;
  await new Promise((resolve) => setTimeout(resolve, end - Date.now()));
  const used = process.cpuUsage(cpu);
  await Promise.all(loops);
  process.stdout.write(JSON.stringify({ requests, cpu: (used.user + used.system) / 1e6 }) + "\n");
  await Promise.all(connections.map((connection) => connection.stop()));
}

main().catch((error) => {
  process.stderr.write(String(error) + "\n");
  process.exit(1);
});
