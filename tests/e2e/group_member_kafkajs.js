// One kafkajs consumer-group member in its own process, for the group
// acceptance tests: the node twin of group_member.py, with the same files.
//
//   node group_member_kafkajs.js BOOTSTRAP TOPIC GROUP NAME OUT_DIR [SESSION_MS]
//
// Each record processed is appended ("partition offset") to OUT/NAME.records
// before the batch is resolved, and kafkajs commits after each batch (its
// default), so commits follow processing. Ownership changes go to
// OUT/NAME.events: a join gives the assignment; a rebalance starting (the
// eager protocol revokes everything) or a crash takes it away. SIGTERM
// disconnects cleanly.
const fs = require('fs');
const path = require('path');
const { Kafka, logLevel } = require(path.join(__dirname, 'node_modules', 'kafkajs'));

const [bootstrap, topic, groupId, name, out, sessionArg] = process.argv.slice(2);
const sessionTimeout = Number(sessionArg || 6000);
const eventsFd = fs.openSync(path.join(out, `${name}.events`), 'a');
const recordsFd = fs.openSync(path.join(out, `${name}.records`), 'a');
let owned = new Set();

function event(ev, delta, extra) {
  const line = { t: Date.now() / 1000, ev, owned: [...owned].sort((a, b) => a - b), delta: delta || [], ...extra };
  fs.writeSync(eventsFd, JSON.stringify(line) + '\n');
}

const kafka = new Kafka({ clientId: name, brokers: [bootstrap], logLevel: logLevel.WARN,
                          retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
const consumer = kafka.consumer({ groupId, sessionTimeout, heartbeatInterval: 1000, rebalanceTimeout: 20000 });

let stopping = false;
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  if (stopping) return;
  const mine = (e.payload.memberAssignment[topic] || []).map(Number);
  const gone = [...owned];
  owned = new Set();
  if (gone.length) event('revoked', gone);
  owned = new Set(mine);
  event('assigned', mine);
});
consumer.on(consumer.events.REBALANCING, () => {
  const gone = [...owned];
  owned = new Set();
  event('revoked', gone);
});
consumer.on(consumer.events.CRASH, (e) => {
  const gone = [...owned];
  owned = new Set();
  event('crashed', gone, { error: String(e.payload.error) });
});

process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  // Nothing new is taken from here on; leaving the group comes after.
  const gone = [...owned];
  owned = new Set();
  event('closing', gone);
  try { await consumer.disconnect(); } catch (e) { /* closing anyway */ }
  event('closed');
  process.exit(0);
});

(async () => {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  event('started');
  await consumer.run({
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      const p = batch.partition;
      const lines = batch.messages.map((m) => `${p} ${m.offset}\n`).join('');
      if (lines) fs.writeSync(recordsFd, lines);
      for (const m of batch.messages) resolveOffset(m.offset);
      await heartbeat();
    },
  });
})().catch((e) => {
  event('failed', [], { error: String(e) });
  process.exit(1);
});
