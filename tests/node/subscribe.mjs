// Subscribes to dayAvailabilityUpdates with the reference graphql-transport-ws client (graphql-ws).
//
//   node subscribe.mjs <ws-url> <serviceId> <date> [count=2] [timeoutSeconds=20]
//
// Prints each received payload (the ExecutionResult: {"data": ...}) as one JSON line on stdout and
// exits 0 once `count` of them have arrived. Connection events and close codes go to stderr.
// Exit codes: 1 subscription error or payload with errors, 2 timeout, 3 completed early, 64 usage.

import { createClient } from 'graphql-ws/client';
import WebSocket from 'ws';

const DAY_UPDATES = `subscription($id: ID!, $date: Date!) {
  dayAvailabilityUpdates(serviceId: $id, date: $date) {
    date timezone availableSlots { time } unavailableSlots { time reason }
  }
}`;

const [url, serviceId, date, countArg = '2', timeoutArg = '20'] = process.argv.slice(2);
const count = Number(countArg);
const timeoutSeconds = Number(timeoutArg);
if (!url || !serviceId || !date || !(count > 0) || !(timeoutSeconds > 0)) {
  process.stderr.write('usage: node subscribe.mjs <ws-url> <serviceId> <date> [count] [timeoutSeconds]\n');
  process.exit(64);
}

const log = (message) => process.stderr.write(`subscribe.mjs: ${message}\n`);
const print = (payload) =>
  new Promise((resolve, reject) =>
    process.stdout.write(`${JSON.stringify(payload)}\n`, (error) => (error ? reject(error) : resolve())),
  );

let closed;
const closedOnce = new Promise((resolve) => {
  closed = resolve;
});

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  retryAttempts: 0,
  on: {
    connected: () => log('connected (connection_ack received)'),
    closed: (event) => {
      log(`closed: code=${event?.code} reason=${JSON.stringify(event?.reason ?? '')}`);
      closed();
    },
    error: (error) => log(`socket error: ${error?.message ?? error}`),
  },
});

let finished = false;
async function finish(code, message) {
  if (finished) return;
  finished = true;
  clearTimeout(timer);
  if (message) log(message);
  unsubscribe();
  await client.dispose();
  // Wait (briefly) for the close so its code is logged; graphql-ws closes with 1000 on dispose.
  await Promise.race([closedOnce, new Promise((resolve) => setTimeout(resolve, 1000))]);
  process.exit(code);
}

const timer = setTimeout(
  () => finish(2, `timed out after ${timeoutSeconds}s with ${received}/${count} messages`),
  timeoutSeconds * 1000,
);

let received = 0;
const unsubscribe = client.subscribe(
  { query: DAY_UPDATES, variables: { id: serviceId, date } },
  {
    next: async (payload) => {
      if (finished) return;
      received += 1;
      await print(payload);
      if (payload.errors) {
        await finish(1, `payload with errors: ${JSON.stringify(payload.errors)}`);
      } else if (received >= count) {
        await finish(0, `received ${received} messages`);
      }
    },
    error: (error) => {
      // graphql-ws hands over a CloseEvent, an Error, or the GraphQLError list of an `error` message.
      const detail =
        error && typeof error === 'object' && 'code' in error
          ? `close code=${error.code} reason=${JSON.stringify(error.reason)}`
          : Array.isArray(error)
            ? JSON.stringify(error)
            : String(error?.message ?? error);
      finish(1, `subscription error: ${detail}`);
    },
    complete: () => finish(received >= count ? 0 : 3, `server completed after ${received} messages`),
  },
);
