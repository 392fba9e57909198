// kafkajs connects an admin client to the broker the harness started
// (RUNNEL_BOOTSTRAP) and checks fetchTopicMetadata() and describeCluster():
// exactly broker RUNNEL_NODE_ID at RUNNEL_HOST:RUNNEL_PORT, which is also the
// controller, and a cluster id. The exit code is the result.
'use strict';

let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch (e) {
  console.error('kafkajs is not installed: run `npm ci` in tests/e2e (tools/dev.sh test does)');
  process.exit(1);
}
const assert = require('node:assert/strict');

const bootstrap = process.env.RUNNEL_BOOTSTRAP;
const host = process.env.RUNNEL_HOST;
const port = Number(process.env.RUNNEL_PORT);
const nodeId = Number(process.env.RUNNEL_NODE_ID || '1');
if (!bootstrap || !host || !port) {
  console.error('run this through tests/e2e/harness.py, which sets RUNNEL_BOOTSTRAP, RUNNEL_HOST and RUNNEL_PORT');
  process.exit(2);
}

// Every wait below is bounded by the client's own timeouts; this is the backstop.
const overall = setTimeout(() => {
  console.error('kafkajs_metadata: no result within 60 s');
  process.exit(1);
}, 60000);

async function main() {
  const kafka = new kafkajs.Kafka({
    clientId: 'runnel-e2e',
    brokers: [bootstrap],
    connectionTimeout: 5000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: kafkajs.logLevel.WARN,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata();
    console.log('kafkajs: fetchTopicMetadata', JSON.stringify(metadata));
    assert.ok(Array.isArray(metadata.topics), 'topics is a list');

    const cluster = await admin.describeCluster();
    console.log('kafkajs: describeCluster', JSON.stringify(cluster));
    assert.deepEqual(cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
                     [{ nodeId, host, port }]);
    assert.equal(cluster.controller, nodeId);
    assert.ok(typeof cluster.clusterId === 'string' && cluster.clusterId.length > 0, 'cluster id is set');
  } finally {
    await admin.disconnect();
  }
}

main().then(
  () => {
    clearTimeout(overall);
    console.log('kafkajs_metadata: ok');
  },
  (err) => {
    console.error('kafkajs_metadata: FAILED:', err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
