// Drives the official @microsoft/signalr client against `hubcli serve`.
//
//   node conformance.mjs OPEN_URL PROTECTED_URL TOKEN CHAOS_URL FUNCTIONAL_URL
//
// OPEN_URL is a hub started with short keep-alive timers (--keepalive 0.3
// --client-timeout 1.5); PROTECTED_URL one started with --require-token TOKEN;
// CHAOS_URL one started with --chaos --allow-stateful-reconnect, whose
// DropTransport, DropConnection and ResumableCounter cut the client's TCP
// connection as a network fault does. FUNCTIONAL_URL is a hub set up as the
// official functional tests' app is (see test_official_client.py): several
// endpoints (/testhub, /testhub-nows without WebSockets, /authorized requiring a
// JWT from /generateJwtToken), PascalCase JSON, and cookies on negotiate.
// Prints "ok - <scenario>" or "not ok - <scenario>: <why>" per scenario, then a
// JSON summary line; exits 1 if any scenario failed.

import { createHash, createHmac } from "node:crypto";
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import * as signalR from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
// Not in the package's index: the connection layer the hub client is built on.
import { HttpConnection } from "@microsoft/signalr/dist/cjs/HttpConnection.js";

const [openUrl, protectedUrl, token, chaosUrl, functionalUrl] = process.argv.slice(2);
if (!openUrl || !protectedUrl || !token || !chaosUrl || !functionalUrl) {
  console.error("usage: node conformance.mjs OPEN_URL PROTECTED_URL TOKEN CHAOS_URL FUNCTIONAL_URL");
  process.exit(2);
}

const { HttpTransportType, HubConnectionState, Subject } = signalR;
const SCENARIO_TIMEOUT_MS = 20000;

// Every combination the client allows: MessagePack is binary, which Server-Sent
// Events cannot carry, and skipNegotiation exists only for WebSockets.
const COMBINATIONS = [
  { transport: "WebSockets", protocol: "json" },
  { transport: "WebSockets", protocol: "messagepack" },
  { transport: "WebSockets", protocol: "json", skipNegotiation: true },
  { transport: "WebSockets", protocol: "messagepack", skipNegotiation: true },
  { transport: "ServerSentEvents", protocol: "json" },
  { transport: "LongPolling", protocol: "json" },
  { transport: "LongPolling", protocol: "messagepack" },
];

const results = [];
const keepAliveScenarios = [];

function describe(combination) {
  const skip = combination.skipNegotiation ? "/skipNegotiation" : "";
  return `${combination.transport}/${combination.protocol}${skip}`;
}

// Client logs go to stderr; errors are what a failing scenario wants to show.
const logger = {
  log(level, message) {
    if (level >= signalR.LogLevel.Error) console.error(`[signalr] ${message}`);
  },
};

// `features`: { stateful: withStatefulReconnect(), automatic: withAutomaticReconnect() }.
function build(url, combination, options = {}, features = {}) {
  let builder = new signalR.HubConnectionBuilder()
    .withUrl(url, {
      transport: HttpTransportType[combination.transport],
      skipNegotiation: Boolean(combination.skipNegotiation),
      ...options,
    })
    .withHubProtocol(
      combination.protocol === "messagepack" ? new MessagePackHubProtocol() : new signalR.JsonHubProtocol(),
    )
    .withServerTimeout(5000)
    .withKeepAliveInterval(1000)
    .configureLogging(logger);
  if (features.stateful) builder = builder.withStatefulReconnect();
  if (features.automatic) builder = builder.withAutomaticReconnect();
  const connection = builder.build();
  connection.closedWith = new Promise((resolve) => connection.onclose((error) => resolve(error)));
  return connection;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function nextCall(connection, method) {
  return new Promise((resolve) => {
    const handler = (...args) => {
      connection.off(method, handler);
      resolve(args);
    };
    connection.on(method, handler);
  });
}

// Every call of client method `target`, queued: next() is the next call's arguments.
function inbox(connection, target) {
  const calls = [];
  const waiters = [];
  connection.on(target, (...args) => {
    const waiter = waiters.shift();
    if (waiter) waiter(args);
    else calls.push(args);
  });
  return {
    next: () => (calls.length ? Promise.resolve(calls.shift()) : new Promise((resolve) => waiters.push(resolve))),
  };
}

function collect(stream, { take } = {}) {
  const items = [];
  let subscription;
  const done = new Promise((resolve, reject) => {
    subscription = stream.subscribe({
      next: (item) => {
        items.push(item);
        if (take !== undefined && items.length === take) resolve(items);
      },
      complete: () => resolve(items),
      error: (error) => reject(error),
    });
  });
  return { items, done, subscription };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function sha256Lines(items) {
  const hash = createHash("sha256");
  for (const item of items) hash.update(`${item}\n`);
  return hash.digest("hex");
}

async function scenario(name, body) {
  try {
    await withTimeout(body(), SCENARIO_TIMEOUT_MS, name);
    results.push({ name, ok: true });
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push({ name, ok: false, error: String(error && error.stack ? error.stack : error) });
    console.log(`not ok - ${name}: ${error && error.stack ? error.stack : error}`);
  }
}

// A started connection for one scenario, always stopped afterwards.
async function using(url, combination, options, body, features = {}) {
  const connection = build(url, combination, options, features);
  try {
    await connection.start();
    return await body(connection);
  } finally {
    await connection.stop();
  }
}

async function hubScenarios(combination) {
  const label = describe(combination);
  const on = (name, body, options = {}) =>
    scenario(`${label}: ${name}`, () => using(openUrl, combination, options, body));

  await on("connect, transport and protocol", async (connection) => {
    strictEqual(connection.state, HubConnectionState.Connected);
    if (combination.skipNegotiation) strictEqual(connection.connectionId, null);
    else ok(connection.connectionId, "negotiate gave a connection id");
    strictEqual(await connection.invoke("GetActiveTransportName"), combination.transport);
    const info = await connection.invoke("GetConnectionInfo");
    strictEqual(info.protocol, combination.protocol);
    strictEqual(await connection.invoke("GetUserIdentifier"), null, "no token, no user");
    if (!combination.skipNegotiation) {
      strictEqual(await connection.invoke("GetCallerConnectionId"), connection.connectionId);
    }
  });

  await on("invoke", async (connection) => {
    strictEqual(await connection.invoke("Add", 2, 3), 5);
    strictEqual(await connection.invoke("HelloWorld"), "Hello World!");
    deepStrictEqual(await connection.invoke("Echo", { a: [1, "x", null], b: true }), {
      a: [1, "x", null],
      b: true,
    });
    strictEqual(await connection.invoke("Null"), null);
    strictEqual(await connection.invoke("Void"), undefined);
    strictEqual(await connection.invoke("add", 1, 1), 2, "method names ignore case");
  });

  await on("server calls the client (InvokeWithString, CallEcho)", async (connection) => {
    const message = nextCall(connection, "Message");
    await connection.invoke("InvokeWithString", "hello");
    deepStrictEqual(await message, ["hello"]);
    const echo = nextCall(connection, "Echo");
    await connection.invoke("CallEcho", "again");
    deepStrictEqual(await echo, ["again"]);
  });

  await on("send (no answer) and broadcast", async (connection) => {
    const broadcast = nextCall(connection, "Broadcast");
    await connection.send("Broadcast", { sent: 1 });
    deepStrictEqual(await broadcast, [{ sent: 1 }]);
  });

  await on("stream", async (connection) => {
    deepStrictEqual(await collect(connection.stream("Counter", 5, 0)).done, [0, 1, 2, 3, 4]);
    deepStrictEqual(await collect(connection.stream("Stream")).done, ["a", "b", "c"]);
    deepStrictEqual(await collect(connection.stream("EmptyStream")).done, []);
    const many = await collect(connection.stream("FastStream", 5000)).done;
    strictEqual(many.length, 5000);
    strictEqual(many[4999], 4999);
  });

  await on("stream cancellation by subscription.dispose(), confirmed by the server", async (connection) => {
    const before = await connection.invoke("GetCancelledStreamCount");
    const stream = collect(connection.stream("Forever", 10), { take: 3 });
    await stream.done;
    stream.subscription.dispose();
    const after = await connection.invoke("WaitForCancelledStreams", before + 1, 10000);
    ok(after >= before + 1, `cancelled streams ${before} -> ${after}`);
  });

  await on("InfiniteStream: the server sees the cancel and calls StreamCanceled", async (connection) => {
    const canceled = nextCall(connection, "StreamCanceled");
    const stream = collect(connection.stream("InfiniteStream"));
    stream.subscription.dispose();
    deepStrictEqual(await canceled, []);
  });

  await on("upload through a Subject", async (connection) => {
    const items = Array.from({ length: 200 }, (_, i) => String(i + 1));
    const subject = new Subject();
    const summary = connection.invoke("UploadSummary", subject);
    for (const item of items) subject.next(item);
    subject.complete();
    deepStrictEqual(await summary, { count: 200, checksum: sha256Lines(items) });
    deepStrictEqual(await connection.invoke("GetLastUpload"), { count: 200, checksum: sha256Lines(items) });

    const concat = new Subject();
    const joined = connection.invoke("StreamingConcat", concat);
    for (const part of ["a", "b", "c"]) concat.next(part);
    concat.complete();
    strictEqual(await joined, "abc");
  });

  await on("stream echo (upload and stream at once)", async (connection) => {
    const subject = new Subject();
    const echoed = collect(connection.stream("StreamEcho", subject));
    for (const word of ["one", "two", "three"]) subject.next(word);
    subject.complete();
    deepStrictEqual(await echoed.done, ["one", "two", "three"]);
  });

  await on("upload ended with an error", async (connection) => {
    const subject = new Subject();
    const concat = connection.invoke("StreamingConcat", subject);
    subject.next("a");
    subject.error(new Error("client gave up"));
    // Today's server completes the hub's reader with a HubException (2.2: Exception),
    // so the client's text comes back without detailed errors.
    strictEqual(
      (await rejection(concat)).message,
      "An unexpected error occurred invoking 'StreamingConcat' on the server. HubException: client gave up",
    );
  });

  await on("error texts", async (connection) => {
    const cases = [
      [connection.invoke("ThrowException", "boom"), "An unexpected error occurred invoking 'ThrowException' on the server."],
      [
        connection.invoke("ThrowHubException", "visible"),
        "An unexpected error occurred invoking 'ThrowHubException' on the server. HubException: visible",
      ],
      [
        connection.invoke("NoSuchMethod"),
        "Failed to invoke 'NoSuchMethod' due to an error on the server. HubException: Method does not exist.",
      ],
      [connection.invoke("Add", "x", 1), "Failed to invoke 'Add' due to an error on the server."],
      [
        connection.invoke("Counter", 1, 0),
        "The client attempted to invoke the streaming 'Counter' method with a non-streaming invocation.",
      ],
      [
        collect(connection.stream("StreamThrowException", "bad")).done,
        "An unexpected error occurred invoking 'StreamThrowException' on the server.",
      ],
      [
        collect(connection.stream("StreamBroken")).done,
        "The value returned by the streaming method 'StreamBroken' is not a ChannelReader<> or IAsyncEnumerable<>.",
      ],
      [
        collect(connection.stream("Add", 1, 2)).done,
        "The client attempted to invoke the non-streaming 'Add' method with a streaming invocation.",
      ],
    ];
    // Every promise is watched at once (rejection()), so none is left unhandled.
    const errors = await Promise.all(cases.map(([promise]) => rejection(promise)));
    deepStrictEqual(
      errors.map((error) => error.message),
      cases.map(([, text]) => text),
    );
    strictEqual(await connection.invoke("Add", 1, 2), 3, "errors do not close the connection");
  });

  await on("client results", async (connection) => {
    connection.on("GetAnswer", () => 42);
    connection.on("Refuse", () => {
      throw new Error("not telling");
    });
    strictEqual(await connection.invoke("ClientResult", "GetAnswer"), 42);
    strictEqual(await connection.invoke("ClientResult", "Refuse"), "Error: not telling");
    strictEqual(await connection.invoke("ClientResult", "Unhandled"), "Client didn't provide a result.");
  });

  await on("pushes: on() gets Notify's calls in order, in bulk and paced", async (connection) => {
    const count = 2000;
    const ticks = [];
    let burstDone;
    const burst = new Promise((resolve) => {
      burstDone = resolve;
    });
    connection.on("Tick", (index) => {
      ticks.push(index);
      if (ticks.length === count) burstDone();
    });
    strictEqual(await connection.invoke("Notify", "Tick", count, 0), null);
    await burst;
    deepStrictEqual(ticks, Array.from({ length: count }, (_, i) => i));
    const paced = inbox(connection, "Paced");
    await connection.send("Notify", "Paced", 3, 20);
    for (const index of [0, 1, 2]) deepStrictEqual(await paced.next(), [index]);
    const counters = await connection.invoke("GetCounters");
    ok(counters.invocationsSent >= count + 3, `invocationsSent ${counters.invocationsSent}`);
  });

  await on("groups and sends of a second official-client connection reach on()", async (connection) => {
    const group = `room ${label}`;
    const first = inbox(connection, "ReceiveMessage");
    const firstId = await connection.invoke("GetCallerConnectionId");
    await connection.invoke("JoinGroup", group);
    deepStrictEqual(await first.next(), [firstId, `${firstId} has joined the group ${group}.`]);
    await using(openUrl, combination, {}, async (second) => {
      const secondInbox = inbox(second, "ReceiveMessage");
      const secondId = await second.invoke("GetCallerConnectionId");
      await second.invoke("SendToGroup", group, "hello group");
      deepStrictEqual(await first.next(), [secondId, "hello group"]);
      await second.invoke("SendToGroup", group.toUpperCase(), "group names are case-sensitive");
      await second.invoke("SendToIndividual", firstId, "just you");
      deepStrictEqual(await first.next(), [secondId, "just you"]);
      await second.invoke("SendToOthers", "second", "to the others");
      deepStrictEqual(await first.next(), ["second", "to the others"]);
      await second.invoke("BroadcastMessage", "second", "to all");
      deepStrictEqual(await first.next(), ["second", "to all"]);
      // The first message the second connection got is its own broadcast.
      deepStrictEqual(await secondInbox.next(), ["second", "to all"]);
      deepStrictEqual(await second.invoke("GetGroupMembers", group), [firstId]);
      await connection.invoke("LeaveGroup", group);
      deepStrictEqual(await second.invoke("GetGroupMembers", group), []);
    });
  });

  await on("client results: on() handlers answer AskCaller, errors reach the caller", async (connection) => {
    const failed = "An unexpected error occurred invoking 'AskCaller' on the server.";
    connection.on("GetAnswer", () => 42);
    connection.on("Add", (a, b) => a + b);
    connection.on("Later", async (value) => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { value };
    });
    connection.on("Nothing", () => null);
    connection.on("Refuse", () => {
      throw new Error("not telling");
    });
    strictEqual(await connection.invoke("AskCaller", "GetAnswer", []), 42);
    strictEqual(await connection.invoke("AskCaller", "Add", [2, 3]), 5);
    deepStrictEqual(await connection.invoke("AskCaller", "Later", ["x"]), { value: "x" });
    strictEqual(await connection.invoke("AskCaller", "Nothing", []), null);
    // The client's error arrives as a HubException: its text always reaches the caller.
    strictEqual(
      (await rejection(connection.invoke("AskCaller", "Refuse", []))).message,
      `${failed} HubException: Error: not telling`,
    );
    strictEqual(
      (await rejection(connection.invoke("AskCaller", "Unhandled", []))).message,
      `${failed} HubException: Client didn't provide a result.`,
    );
    strictEqual(await connection.invoke("Add", 1, 1), 2, "the connection goes on");
  });

  await on("client results: AskClient of a second official-client connection", async (connection) => {
    const failed = "An unexpected error occurred invoking 'AskClient' on the server.";
    const second = build(openUrl, combination);
    await second.start();
    let asked;
    const hangCalled = new Promise((resolve) => {
      asked = resolve;
    });
    try {
      second.on("Add", (a, b) => a + b);
      second.on("Hang", () => {
        asked();
        return new Promise(() => {});
      });
      const secondId = await second.invoke("GetCallerConnectionId");
      strictEqual(await connection.invoke("AskClient", secondId, "Add", [20, 22]), 42);
      strictEqual(
        (await rejection(connection.invoke("AskClient", "no-such-connection", "Add", [1, 2]))).message,
        failed,
      );
      // A connection that leaves with a question pending fails the call (IOException).
      const pending = rejection(connection.invoke("AskClient", secondId, "Hang", []));
      await hangCalled;
      await second.stop();
      strictEqual((await pending).message, failed);
    } finally {
      await second.stop();
    }
  });

  await on("the server closes the connection with an error", async (connection) => {
    const pending = rejection(connection.invoke("CloseConnection", "bye", false));
    const closeError = await connection.closedWith;
    strictEqual(closeError.message, "Server returned an error on close: bye");
    strictEqual((await pending).message, "Server returned an error on close: bye");
    strictEqual(connection.state, HubConnectionState.Disconnected);
  });

  await on("a stream cut by the server's Close", async (connection) => {
    const stream = collect(connection.stream("StreamThenClose", 3));
    const error = await rejection(stream.done);
    deepStrictEqual(stream.items, [0, 1, 2]);
    strictEqual(error.message, "Server returned an error on close: Connection closed with an error.");
  });

  if (combination.transport !== "LongPolling") {
    // Long polling has neither pings nor timeouts (inherent keep-alive). These
    // wait on purpose, so they run together at the end.
    keepAliveScenarios.push(() =>
      scenario(`${label}: keep-alive holds an idle connection past both timeouts`, () =>
        using(openUrl, combination, {}, async (connection) => {
          connection.serverTimeoutInMilliseconds = 1200;
          connection.keepAliveIntervalInMilliseconds = 300;
          let closed = false;
          connection.onclose(() => {
            closed = true;
          });
          // The server pings every 0.3 s and drops clients silent for 1.5 s; the
          // client drops a server silent for 1.2 s: 3 s idle proves both ping.
          await new Promise((resolve) => setTimeout(resolve, 3000));
          strictEqual(closed, false);
          strictEqual(connection.state, HubConnectionState.Connected);
          strictEqual(await connection.invoke("Add", 1, 1), 2);
        }),
      ),
    );
  }
}

async function securityScenarios(combination) {
  const label = describe(combination);
  const withToken = { accessTokenFactory: () => token };

  await scenario(`${label}: protected hub refuses a client without a token`, async () => {
    const connection = build(protectedUrl, combination);
    const error = await rejection(connection.start());
    if (combination.skipNegotiation) {
      // A refused upgrade (401) reaches the client only as a failed WebSocket.
      ok(error.message.startsWith("WebSocket failed to connect."), error.message);
    } else {
      strictEqual(
        error.message,
        "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'",
      );
    }
  });

  await scenario(`${label}: protected hub accepts accessTokenFactory`, () =>
    using(protectedUrl, combination, withToken, async (connection) => {
      strictEqual(await connection.invoke("Add", 20, 22), 42);
      const info = await connection.invoke("GetConnectionInfo");
      const sent = info.headers.authorization ?? `Bearer ${info.query.access_token}`;
      strictEqual(sent, `Bearer ${token}`);
      // A token that is no JWT names its user itself.
      strictEqual(await connection.invoke("GetUserId"), token);
    }),
  );

  if (combination.skipNegotiation) return; // redirects are negotiate answers

  await scenario(`${label}: redirect endpoint (2 hops) to the protected hub`, () =>
    using(`${protectedUrl}/redirect/2`, combination, withToken, async (connection) => {
      strictEqual(await connection.invoke("GetNumRedirects"), 2);
      const info = await connection.invoke("GetConnectionInfo");
      const sent = info.headers.authorization ?? `Bearer ${info.query.access_token}`;
      ok(sent.startsWith("Bearer redirect-"), `the redirect's accessToken was used: ${sent}`);
      strictEqual(await connection.invoke("GetUserId"), sent.slice("Bearer ".length));
    }),
  );

  await scenario(`${label}: redirect endpoint to the open hub`, () =>
    using(`${openUrl}/redirect`, combination, {}, async (connection) => {
      strictEqual(await connection.invoke("GetNumRedirects"), 1);
    }),
  );
}

// Lifecycle events of a connection, recorded as they fire.
function lifecycle(connection) {
  const events = [];
  let reconnected;
  const next = new Promise((resolve) => {
    reconnected = resolve;
  });
  connection.onreconnecting((error) => events.push(["reconnecting", error ? error.message : undefined]));
  connection.onreconnected((connectionId) => {
    events.push(["reconnected", connectionId]);
    reconnected(connectionId);
  });
  return { events, reconnected: next };
}

async function reconnectScenarios(combination) {
  const label = describe(combination);
  const stateful = { stateful: true };
  const on = (name, features, body) =>
    scenario(`${label}: ${name}`, () => using(chaosUrl, combination, {}, body, features));

  // Stateful reconnect needs a negotiated connection on WebSockets.
  if (combination.transport === "WebSockets" && !combination.skipNegotiation) {
    await on("stateful reconnect survives DropTransport: same connection, nothing lost or twice", stateful, async (connection) => {
      const { events } = lifecycle(connection);
      const id = connection.connectionId;
      const ticks = [];
      let burstDone;
      const burst = new Promise((resolve) => {
        burstDone = resolve;
      });
      connection.on("Tick", (index) => {
        ticks.push(index);
        if (ticks.length === 300) burstDone();
      });
      // Pushes paced 2 ms apart go on while the socket is down: kept, then replayed.
      strictEqual(await connection.invoke("Notify", "Tick", 300, 2), null);
      // Its own answer comes with the replay, over the resumed socket.
      strictEqual(await connection.invoke("DropTransport"), null);
      await burst;
      deepStrictEqual(ticks, Array.from({ length: 300 }, (_, i) => i));
      strictEqual(await connection.invoke("GetCallerConnectionId"), id);
      strictEqual(connection.connectionId, id);
      strictEqual(connection.state, HubConnectionState.Connected);
      deepStrictEqual(events, [], "a resume is no reconnect");
    });

    await on("stateful reconnect: ResumableCounter streams every item once", stateful, async (connection) => {
      const id = connection.connectionId;
      const items = await collect(connection.stream("ResumableCounter", 200, 1, 120)).done;
      deepStrictEqual(items, Array.from({ length: 200 }, (_, i) => i));
      strictEqual(await connection.invoke("GetCallerConnectionId"), id);
    });

    await on("DropConnection: the resume is refused (404), automatic reconnect makes a new connection", { stateful: true, automatic: true }, async (connection) => {
      const { events, reconnected } = lifecycle(connection);
      const firstId = connection.connectionId;
      const ticks = inbox(connection, "Tick");
      const dropped = await rejection(connection.invoke("DropConnection"));
      // The resume's 404 is swallowed: calls fail with the socket's own close error.
      strictEqual(dropped.message, "WebSocket closed with status code: 1006 (no reason given).");
      const newId = await reconnected;
      ok(newId && newId !== firstId, `a new connection id: ${firstId} -> ${newId}`);
      strictEqual(events[0][0], "reconnecting");
      strictEqual(await connection.invoke("GetCallerConnectionId"), newId);
      // Handlers live on the HubConnection: still there.
      await connection.invoke("Notify", "Tick", 2, 0);
      deepStrictEqual([await ticks.next(), await ticks.next()], [[0], [1]]);
    });
  }

  if (!combination.skipNegotiation) {
    await on("automatic reconnect after a Close with allowReconnect", { automatic: true }, async (connection) => {
      const { events, reconnected } = lifecycle(connection);
      const firstId = connection.connectionId;
      const ticks = inbox(connection, "Tick");
      const pending = rejection(connection.invoke("CloseConnection", "come back", true));
      const newId = await reconnected;
      strictEqual((await pending).message, "Server returned an error on close: come back");
      ok(newId && newId !== firstId, `a new connection id: ${firstId} -> ${newId}`);
      deepStrictEqual(events[0], ["reconnecting", "Server returned an error on close: come back"]);
      strictEqual(await connection.invoke("GetCallerConnectionId"), newId);
      await connection.invoke("Notify", "Tick", 1, 0);
      deepStrictEqual(await ticks.next(), [0]);
    });
  }
}

// The raw echo connection beside the hub, through the official client's connection
// layer (HttpConnection: negotiate and transports, no hub protocol).
async function echoScenarios(transport) {
  const echoUrl = new URL("/echo", openUrl).href;
  const skips = transport === "WebSockets" ? [false, true] : [false];
  for (const skipNegotiation of skips) {
    const label = `echo ${transport}${skipNegotiation ? "/skipNegotiation" : ""}`;
    await scenario(`${label}: what is sent comes back, and stop() closes cleanly`, async () => {
      const connection = new HttpConnection(echoUrl, {
        transport: HttpTransportType[transport],
        skipNegotiation,
        logger,
      });
      const received = [];
      let arrived;
      const echoed = new Promise((resolve) => (arrived = resolve));
      connection.onreceive = (data) => {
        received.push(data);
        arrived();
      };
      const closed = new Promise((resolve) => (connection.onclose = resolve));
      await connection.start(signalR.TransferFormat.Text);
      await connection.send("message");
      await withTimeout(echoed, SCENARIO_TIMEOUT_MS, "the echo");
      deepStrictEqual(received, ["message"]);
      await connection.stop();
      strictEqual(await closed, undefined);
    });
  }
}

// A JWT signed with a key the hub does not have.
function forgedToken() {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({ nameid: "mallory", exp: 4102444800 })}`;
  const signature = createHmac("sha256", "not the hub's key, not the hub's key").update(body).digest("base64url");
  return `${body}.${signature}`;
}

async function functionalScenarios(combination) {
  const label = `${describe(combination)} functional`;
  const base = new URL(functionalUrl).origin;
  const msgpack = combination.protocol === "messagepack";
  const on = (name, url, body, options = {}) =>
    scenario(`${label}: ${name}`, () => using(url, combination, options, body));

  await on("typed objects are PascalCase with --json-naming pascal, bound case-insensitively", functionalUrl, async (connection) => {
    const sent = await connection.invoke("SendComplexObject");
    deepStrictEqual(Object.keys(sent), ["String", "IntArray", "ByteArray", "Guid", "DateTime"]);
    strictEqual(sent.String, "hello world");
    const bytes = msgpack ? new Uint8Array([104, 105]) : "aGk=";
    const echoed = await connection.invoke("EchoComplexObject", { string: "s", intArray: [1], byteArray: bytes, guid: "g", DATETIME: "d", extra: 1 });
    deepStrictEqual(echoed, { String: "s", IntArray: [1], ByteArray: bytes, Guid: "g", DateTime: "d" });
    const custom = nextCall(connection, "CustomObject");
    await connection.invoke("SendCustomObject", { name: "test", value: 42 });
    deepStrictEqual((await custom)[0], { Name: "test", Value: 42 });
  });

  await on("a token that fails validation on an open endpoint is anonymous", functionalUrl, async (connection) => {
    strictEqual(await connection.invoke("GetUserId"), null);
  }, { accessTokenFactory: forgedToken });

  if (combination.skipNegotiation) return; // the rest are about negotiate

  await scenario(`${label}: an endpoint without WebSockets, case-insensitive path, same hub`, async () => {
    const nows = `${base}/TestHub-NoWS`;
    if (combination.transport === "WebSockets") {
      const error = await rejection(build(nows, combination).start());
      ok(error.message.startsWith("Unable to connect to the server with any of the available transports."), error.message);
      return;
    }
    await using(nows, combination, {}, async (connection) => {
      strictEqual(await connection.invoke("GetActiveTransportName"), combination.transport);
      // One hub behind both paths: the HTTP API of /testhub reaches this connection.
      const pushed = nextCall(connection, "Pushed");
      const response = await fetch(`${base}/api/v1/hubs/testhub/connections/${connection.connectionId}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ target: "Pushed", arguments: ["through /testhub"] }),
      });
      strictEqual(response.status, 202);
      deepStrictEqual(await pushed, ["through /testhub"]);
    });
  });

  await scenario(`${label}: the authorized endpoint needs a minted JWT and names its user`, async () => {
    const authorized = `${base}/authorized`;
    const error = await rejection(build(authorized, combination).start());
    strictEqual(error.message, "Failed to complete negotiation with the server: Error: Unauthorized: Status code '401'");
    const mint = async () => (await fetch(`${base}/generateJwtToken`)).text();
    await using(authorized, combination, { accessTokenFactory: mint }, async (connection) => {
      strictEqual(await connection.invoke("GetUserId"), "testuser");
    });
  });

  await scenario(`${label}: /redirect counts redirects across the process`, async () => {
    const redirect = `${base}/redirect?numRedirects=0&baseUrl=${base}`;
    const first = await using(redirect, combination, {}, (connection) => connection.invoke("GetNumRedirects"));
    const second = await using(redirect, combination, {}, (connection) => connection.invoke("GetNumRedirects"));
    ok(second > first, `${second} > ${first}`);
  });

  await on("negotiate cookies reach the transport; an expired one does not", functionalUrl, async (connection) => {
    strictEqual(await connection.invoke("GetCookie", "testCookie"), "testValue");
    strictEqual(await connection.invoke("GetCookie", "expiredCookie"), null);
  });
}

for (const combination of COMBINATIONS) {
  await hubScenarios(combination);
  await functionalScenarios(combination);
  await securityScenarios(combination);
  await reconnectScenarios(combination);
}
for (const transport of ["WebSockets", "ServerSentEvents", "LongPolling"]) {
  await echoScenarios(transport);
}
await Promise.all(keepAliveScenarios.map((run) => run()));

const failed = results.filter((result) => !result.ok);
console.log(
  JSON.stringify({
    summary: true,
    client: signalR.VERSION,
    total: results.length,
    passed: results.length - failed.length,
    failed: failed.map((result) => result.name),
  }),
);
process.exit(failed.length === 0 ? 0 : 1);
