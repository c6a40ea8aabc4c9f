// One call with the official @microsoft/signalr client, for tests that need a
// real official-client peer beside hubcli:
//   node invoke.mjs URL METHOD [JSON_ARG...]     prints the result as JSON
import * as signalR from "@microsoft/signalr";

const [url, method, ...rawArgs] = process.argv.slice(2);
const connection = new signalR.HubConnectionBuilder()
  .withUrl(url)
  .configureLogging(signalR.LogLevel.Error)
  .build();
await connection.start();
try {
  const result = await connection.invoke(method, ...rawArgs.map((text) => JSON.parse(text)));
  process.stdout.write(JSON.stringify(result ?? null) + "\n");
} finally {
  await connection.stop();
}
