// The kafkajs side of test_kafkajs_produce_consume.py, which starts the
// broker, runs this script and checks what it wrote. Steps (argv[2]):
//   produce  create the 6-partition topic and send RECORDS keyed records with
//            per-record headers and timestamps (acks=-1) with CODEC, in
//            batches; prints "progress N" after each acknowledged batch and
//            "partitions <json>" (what kafkajs's partitioner chose, from
//            its own partitioner function) at the end. With IDEMPOTENT=1
//            the producer is idempotent (the broker may be restarted meanwhile).
//            TOPIC_CONFIG (JSON) holds the topic's configs. With BAD_INPUT=1,
//            after the first half: a record of OVERSIZED_VALUE to SMALL_TOPIC
//            (created with SMALL_TOPIC_CONFIG) must fail with MESSAGE_TOO_LARGE
//            and one to MISSING_TOPIC with UNKNOWN_TOPIC_OR_PARTITION; then it
//            prints "half", waits for "go" on stdin (the Python side sends
//            raw bad batches meanwhile) and sends the second half.
//   consume  read every partition from offset 0 to its high watermark and
//            write one JSON object per record to OUT.
// kafkajs's consumer only works through a consumer group, which this broker
// does not have yet, so reading uses kafkajs's own cluster and broker objects
// (the same Fetch request, decoding and decompression its consumer uses).
// Configuration comes from the environment: RUNNEL_BOOTSTRAP, TOPIC, CODEC,
// RECORDS, TAG, IDEMPOTENT, OUT, PARTITIONS, TIMESTAMP_BASE_MS, TOPIC_CONFIG,
// BAD_INPUT, SMALL_TOPIC, SMALL_TOPIC_CONFIG, OVERSIZED_VALUE, MISSING_TOPIC.
'use strict';

let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch (e) {
  console.error('kafkajs is not installed: run `npm ci` in tests/e2e (tools/dev.sh test does)');
  process.exit(1);
}
const fs = require('node:fs');
const readline = require('node:readline');
const { CompressionTypes, CompressionCodecs, Partitioners } = kafkajs;

const env = process.env;
const step = process.argv[2];
const topic = env.TOPIC;
const codec = env.CODEC || 'none';
const records = Number(env.RECORDS);
const tag = env.TAG;
const partitions = Number(env.PARTITIONS || '6');
const timestampBase = Number(env.TIMESTAMP_BASE_MS);
const distinctKeys = Number(env.DISTINCT_KEYS);
const batchRecords = 1000;
const fetchBytesMax = 4 * 1024 * 1024;
// Backstop: every wait below is bounded by kafkajs's own timeouts and retries.
const overall = setTimeout(() => {
  console.error(`kafkajs ${step}: no result within 300 s`);
  process.exit(1);
}, 300000);

function registerCodecs() {
  CompressionCodecs[CompressionTypes.Snappy] = require('kafkajs-snappy');
  const LZ4Codec = require('@2l/kafkajs-lz4');
  CompressionCodecs[CompressionTypes.LZ4] = new (LZ4Codec.default || LZ4Codec)().codec;
  // No maintained kafkajs zstd codec installs without a native build; this
  // one is a thin adapter over the zstd bindings.
  const zstd = require('@mongodb-js/zstd');
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    async compress(encoder) {
      return zstd.compress(encoder.buffer, 3);
    },
    async decompress(buffer) {
      return zstd.decompress(buffer);
    },
  });
}

const compressionOf = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

const keyOf = (i) => `key-${i % distinctKeys}`;
const valueOf = (i) => `${tag}-${String(i).padStart(7, '0')}-` + 'payload-'.repeat(8);
const headersOf = (i) => ({ seq: String(i), tag, empty: '' });

function client() {
  return new kafkajs.Kafka({
    clientId: 'runnel-e2e',
    brokers: [env.RUNNEL_BOOTSTRAP],
    connectionTimeout: 5000,
    requestTimeout: 30000,
    // Enough to ride out a broker restart (a sanitized build starts in seconds).
    retry: { retries: 12, initialRetryTime: 300, maxRetryTime: 5000 },
    logLevel: kafkajs.logLevel.WARN,
  });
}

const configEntries = (json) => Object.entries(JSON.parse(json || '{}')).map(([name, value]) => ({ name, value }));
const badInput = env.BAD_INPUT === '1';

function waitForLine(expected, timeoutMs) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: process.stdin });
    const timer = setTimeout(() => reject(new Error(`no "${expected}" on stdin within ${timeoutMs} ms`)), timeoutMs);
    lines.on('line', (line) => {
      if (line.trim() === expected) {
        clearTimeout(timer);
        resolve(); // before close(), whose 'close' event would reject
        lines.close();
      }
    });
    lines.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`stdin closed before "${expected}"`));
    });
  });
}

// The send must fail with a KafkaJSProtocolError of this type (possibly as
// the cause of KafkaJSNumberOfRetriesExceeded); returns what was reported.
async function expectFailure(send, type) {
  try {
    await send();
  } catch (e) {
    const cause = e.type === undefined && e.cause ? e.cause : e;
    if (cause.type !== type) {
      throw new Error(`expected ${type}, got ${e.name} ${cause.type} (code ${cause.code}): ${e.message}`);
    }
    return `${e.name}: ${cause.type} (code ${cause.code}): ${cause.message}`;
  }
  throw new Error(`expected ${type}, but the send succeeded`);
}

async function sendBadInput(kafka, producer) {
  const oversized = await expectFailure(
    () => producer.send({ topic: env.SMALL_TOPIC, acks: -1, messages: [{ key: 'big', value: env.OVERSIZED_VALUE }] }),
    'MESSAGE_TOO_LARGE',
  );
  // A producer of its own, with one retry: kafkajs retries a missing topic's
  // metadata with the client's backoff (a minute of retries otherwise).
  const once = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1, initialRetryTime: 100 } });
  await once.connect();
  const missing = await expectFailure(
    () => once.send({ topic: env.MISSING_TOPIC, acks: -1, messages: [{ key: 'lost', value: 'to a missing topic' }] }),
    'UNKNOWN_TOPIC_OR_PARTITION',
  );
  await once.disconnect();
  console.log(`bad-input oversized: ${oversized}`);
  console.log(`bad-input missing topic: ${missing}`);
  console.log('half');
  await waitForLine('go', 120000);
}

async function produce() {
  const kafka = client();
  const admin = kafka.admin();
  await admin.connect();
  const topics = [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: configEntries(env.TOPIC_CONFIG) }];
  if (badInput) {
    topics.push({ topic: env.SMALL_TOPIC, numPartitions: 1, replicationFactor: 1, configEntries: configEntries(env.SMALL_TOPIC_CONFIG) });
  }
  await admin.createTopics({ topics, waitForLeaders: true });
  await admin.disconnect();

  const idempotent = env.IDEMPOTENT === '1';
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent,
    maxInFlightRequests: idempotent ? 1 : undefined,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  // kafkajs's own partitioner, asked directly, for the comparison with murmur2 in Python.
  const partitioner = Partitioners.DefaultPartitioner();
  const chosen = {};
  const partitionMetadata = Array.from({ length: partitions }, (_, p) => ({ partitionId: p, leader: 1 }));
  const half = Math.floor(records / 2);
  for (let i = 0; i < records; i += batchRecords) {
    if (badInput && i >= half && i - batchRecords < half) {
      await sendBadInput(kafka, producer);
    }
    const messages = [];
    for (let j = i; j < Math.min(records, i + batchRecords); ++j) {
      const message = { key: keyOf(j), value: valueOf(j), headers: headersOf(j), timestamp: String(timestampBase + j) };
      messages.push(message);
      if (j < distinctKeys) {
        chosen[message.key] = partitioner({ topic, partitionMetadata, message });
      }
    }
    await producer.send({ topic, acks: -1, compression: compressionOf[codec], messages });
    console.log(`progress ${Math.min(records, i + batchRecords)}`);
  }
  await producer.disconnect();
  console.log(`partitions ${JSON.stringify(chosen)}`);
}

function decode(buffer) {
  return buffer == null ? null : buffer.toString();
}

async function consume() {
  const kafka = client();
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const high = new Map(ends.map((e) => [e.partition, Number(e.high)]));

  const cluster = kafka[Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster')]({
    allowAutoTopicCreation: false,
    isolationLevel: 0,
  });
  await cluster.connect();
  await cluster.addTargetTopic(topic);
  const out = fs.openSync(env.OUT, 'w');
  let total = 0;
  for (let p = 0; p < partitions; ++p) {
    const leader = await cluster.findBroker({ nodeId: String(cluster.findTopicPartitionMetadata(topic).find((m) => m.partitionId === p).leader) });
    let next = 0;
    const end = high.get(p);
    for (let rounds = 0; next < end; ++rounds) {
      if (rounds > 10 * end + 100) throw new Error(`partition ${p}: no progress at offset ${next} of ${end}`);
      const response = await leader.fetch({
        replicaId: -1,
        isolationLevel: 0,
        maxWaitTime: 1000,
        minBytes: 1,
        maxBytes: fetchBytesMax,
        topics: [{ topic, partitions: [{ partition: p, fetchOffset: String(next), maxBytes: fetchBytesMax }] }],
      });
      const part = response.responses[0].partitions[0];
      if (part.errorCode !== 0) throw new Error(`partition ${p}: fetch error code ${part.errorCode}`);
      const lines = [];
      for (const m of part.messages) {
        const offset = Number(m.offset);
        if (offset < next) continue; // a compressed batch starts before the offset asked for
        const headers = Object.entries(m.headers || {}).map(([k, v]) => [k, decode(v)]);
        lines.push(JSON.stringify({ partition: p, offset, key: decode(m.key), value: decode(m.value), headers,
                                    timestamp: Number(m.timestamp), timestamp_type: m.batchContext && m.batchContext.timestampType === 1 ? 'LogAppendTime' : 'CreateTime' }));
        next = offset + 1;
      }
      fs.writeSync(out, lines.length ? lines.join('\n') + '\n' : '');
      total += lines.length;
    }
  }
  fs.closeSync(out);
  await cluster.disconnect();
  console.log(`consumed ${total}`);
}

registerCodecs();
(step === 'produce' ? produce() : consume()).then(
  () => {
    clearTimeout(overall);
  },
  (err) => {
    console.error(`kafkajs ${step}: FAILED:`, err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
