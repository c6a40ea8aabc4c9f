// An independent SignalR hub on Node, for bench/server_bench.py: what a fast hub on the
// official codecs costs, beside `hubcli serve` and aiosignalr's server.
//   node node_hub.cjs [PORT]      prints http://127.0.0.1:PORT/hub, then serves until killed
// Built on @microsoft/signalr's own JSON hub protocol and record framing (the client
// package's codecs; they read and write every message type a server needs) and the `ws`
// package's WebSocket server. WebSockets and JSON only: POST /hub/negotiate (version 1),
// then /hub?id=TOKEN. It hosts what the benchmark calls, with `hubcli serve`'s names and
// results (hubcli/server/methods): Echo(message), UploadSum(stream<number>),
// UploadSummary(stream<any>) -> {count, checksum}, Broadcast(message) (client method
// Broadcast on every connection). Pings every 15 s, as ASP.NET Core's default keep-alive
// does, so idle official clients are not timed out. NODE_PATH: bench/node_modules.
"use strict";
const crypto = require("node:crypto");
const http = require("node:http");
const { WebSocketServer } = require("ws");
const { JsonHubProtocol, MessageType, NullLogger } = require("@microsoft/signalr");
const { TextMessageFormat } = require("@microsoft/signalr/dist/cjs/TextMessageFormat");

const PATH = "/hub";
const KEEPALIVE_MS = 15000;
const protocol = new JsonHubProtocol();
const logger = NullLogger.instance;
const pending = new Map(); // connection token -> connection id, negotiated but not connected
const connections = new Set();

function itemLine(item) {
  return (typeof item === "string" ? item : JSON.stringify(item)) + "\n";
}

// An upload: the argument a method gets for its stream; add() takes each item.
function sumUpload() {
  let total = 0;
  return { add: (item) => { total += item; }, result: () => total };
}

function summaryUpload() {
  const digest = crypto.createHash("sha256");
  let count = 0;
  return {
    add: (item) => { digest.update(itemLine(item)); count += 1; },
    result: () => ({ count, checksum: digest.digest("hex") }),
  };
}

const UPLOADS = { UploadSum: sumUpload, UploadSummary: summaryUpload };

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.handshaken = false;
    // streamId -> {invocationId, upload}
    this.streams = new Map();
    socket.on("message", (data, isBinary) => this.receive(isBinary ? data : data.toString()));
    socket.on("close", () => connections.delete(this));
  }

  send(text) {
    this.socket.send(text);
  }

  receive(text) {
    if (typeof text !== "string") {
      this.socket.close(1003, "JSON only");
      return;
    }
    if (!this.handshaken) {
      const end = text.indexOf(TextMessageFormat.RecordSeparator);
      const request = JSON.parse(TextMessageFormat.parse(text.slice(0, end + 1))[0]);
      if (request.protocol !== "json" || request.version !== 1) {
        this.send(TextMessageFormat.write(JSON.stringify({ error: "JSON version 1 only" })));
        this.socket.close();
        return;
      }
      this.handshaken = true;
      connections.add(this);
      this.send(TextMessageFormat.write("{}"));
      text = text.slice(end + 1);
      if (!text) return;
    }
    for (const message of protocol.parseMessages(text, logger)) this.dispatch(message);
  }

  complete(invocationId, fields) {
    if (invocationId !== undefined) {
      this.send(protocol.writeMessage({ type: MessageType.Completion, invocationId, ...fields }));
    }
  }

  dispatch(message) {
    switch (message.type) {
      case MessageType.Invocation:
        this.invoke(message);
        break;
      case MessageType.StreamItem: {
        const stream = this.streams.get(message.invocationId);
        if (stream) stream.upload.add(message.item);
        break;
      }
      case MessageType.Completion: {
        const stream = this.streams.get(message.invocationId);
        if (!stream) break;
        this.streams.delete(message.invocationId);
        if (message.error) this.complete(stream.invocationId, { error: "An error occurred on the server while streaming results." });
        else this.complete(stream.invocationId, { result: stream.upload.result() });
        break;
      }
      case MessageType.Close:
        this.socket.close();
        break;
      default:
        break; // Ping; the benchmark sends nothing else
    }
  }

  invoke(message) {
    const { target, invocationId, arguments: args, streamIds } = message;
    if (target === "Echo" && args.length === 1) {
      this.complete(invocationId, { result: args[0] });
    } else if (target === "Broadcast" && args.length === 1) {
      const frame = protocol.writeMessage({ type: MessageType.Invocation, target: "Broadcast", arguments: args });
      for (const connection of connections) connection.send(frame);
      this.complete(invocationId, { result: null });
    } else if (UPLOADS[target] && args.length === 0 && streamIds && streamIds.length === 1) {
      this.streams.set(streamIds[0], { invocationId, upload: UPLOADS[target]() });
    } else {
      this.complete(invocationId, { error: `Unknown hub method '${target}'` });
    }
  }
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://localhost");
  if (request.method === "POST" && url.pathname === `${PATH}/negotiate`) {
    request.resume();
    const connectionId = crypto.randomBytes(16).toString("base64url");
    const connectionToken = crypto.randomBytes(16).toString("base64url");
    pending.set(connectionToken, connectionId);
    const body = JSON.stringify({
      negotiateVersion: 1,
      connectionId,
      connectionToken,
      availableTransports: [{ transport: "WebSockets", transferFormats: ["Text", "Binary"] }],
    });
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(body);
    return;
  }
  response.writeHead(404);
  response.end();
});

const wss = new WebSocketServer({ noServer: true, maxPayload: 32 * 1024 * 1024 });
server.on("upgrade", (request, socket, head) => {
  const url = new URL(request.url, "http://localhost");
  const token = url.searchParams.get("id");
  if (url.pathname !== PATH || !pending.delete(token)) {
    socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    return;
  }
  wss.handleUpgrade(request, socket, head, (ws) => new Connection(ws));
});

const ping = protocol.writeMessage({ type: MessageType.Ping });
setInterval(() => {
  for (const connection of connections) connection.send(ping);
}, KEEPALIVE_MS).unref();

server.listen(Number(process.argv[2] || 0), "127.0.0.1", () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}${PATH}\n`);
});
process.on("SIGTERM", () => process.exit(0));
