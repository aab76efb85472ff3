/**
 * The peer: what a team would build instead of Hookgate — a graphile-worker 0.17 task that signs and POSTs
 * (the Standard Webhooks and t=/v1= signatures, the same ~560-byte envelope) to the same receivers, queued
 * in the same PostgreSQL cluster. Configured as graphile-worker's performance docs recommend for throughput:
 * 64 concurrent jobs, a local queue of 500 (jobs fetched and locked in batches), batched completion and
 * failure (completeJobBatchDelay / failJobBatchDelay 0: one statement per tick), prepared statements, a pool
 * of concurrentJobs + 2. Each job carries its endpoint's path and its event's envelope; the secret is the
 * sender's (one per run), as a team's config would hold it. A non-2xx answer throws: the job is retried.
 *
 * With `attemptLog`, each job also records its attempt the way a team keeping a delivery history would:
 * one INSERT per job into `peer_attempts` (the request headers as sent, the status, the response body and
 * the duration), indexed like Hookgate's attempts (by event, and by endpoint and
 * time). That is the like-for-like comparison: Hookgate records every attempt too.
 *
 * RPC: queue({ url, count, fanout }) writes the jobs (addJobs, batches of 1,000) with no worker running, and
 * creates `peer_attempts` if missing; start({ url, origin, attemptLog }) runs the worker until stop().
 */
import { createHmac, randomBytes } from "node:crypto";
import { Logger, makeWorkerUtils, type Runner, run } from "graphile-worker";
import { Pool } from "undici";
import { envelope, samplePayload } from "./lib/payload.js";
import { nowMs, serveRpc } from "./lib/rpc.js";

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const key = Buffer.from(secret.slice("whsec_".length), "base64");
const CONCURRENCY = 64;
// Warnings and errors only, as Hookgate runs in the bench (HOOKGATE_LOG_LEVEL=warn): graphile-worker's
// default console logger writes a line per completed job.
const logger = new Logger(() => (level, message) => {
  if (level === "warning" || level === "error") console.error(`[${level}] ${message}`);
});

interface Job {
  id: string;
  path: string;
  body: string;
}

let runner: Runner | undefined;
let pool: Pool | undefined;

async function queue(p: { url: string; count: number; fanout: number }): Promise<{ ms: number }> {
  const t0 = nowMs();
  const utils = await makeWorkerUtils({ connectionString: p.url, logger });
  try {
    await utils.migrate();
    await utils.withPgClient((client) => client.query(ATTEMPTS_TABLE));
    const batch: { identifier: string; payload: Job }[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await utils.addJobs(batch.splice(0));
    };
    const events = Math.ceil(p.count / p.fanout);
    for (let e = 0; e < events; e++) {
      const id = `evt_peer_${e}`;
      const body = envelope(id, "bench.peer", samplePayload(e, Date.now()));
      for (let k = 0; k < p.fanout && e * p.fanout + k < p.count; k++) {
        batch.push({ identifier: "send", payload: { id, path: `/peer/${k}`, body } });
        if (batch.length >= 1000) await flush();
      }
    }
    await flush();
  } finally {
    await utils.release();
  }
  return { ms: nowMs() - t0 };
}

const ATTEMPTS_TABLE = `
CREATE TABLE IF NOT EXISTS peer_attempts (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL,
  endpoint text NOT NULL,
  request_headers jsonb NOT NULL,
  response_code int,
  response_body text,
  duration_ms int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS peer_attempts_event_id_idx ON peer_attempts (event_id);
CREATE INDEX IF NOT EXISTS peer_attempts_endpoint_created_at_idx ON peer_attempts (endpoint, created_at);`;

const RECORD_ATTEMPT = `
INSERT INTO peer_attempts (event_id, endpoint, request_headers, response_code, response_body, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6)`;

async function start(p: {
  url: string;
  origin: string;
  attemptLog: boolean;
}): Promise<{ startedAt: number }> {
  pool = new Pool(p.origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
  const http = pool;
  runner = await run({
    connectionString: p.url,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY + 2,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    preset: {
      worker: {
        localQueue: { size: 500 },
        completeJobBatchDelay: 0,
        failJobBatchDelay: 0,
      },
    },
    taskList: {
      send: async (payload, helpers) => {
        const job = payload as Job;
        const ts = Math.floor(Date.now() / 1000).toString();
        const sw = createHmac("sha256", key).update(`${job.id}.${ts}.${job.body}`).digest("base64");
        const hg = createHmac("sha256", secret).update(`${ts}.${job.body}`).digest("hex");
        const headers = {
          "content-type": "application/json",
          "user-agent": "bench-peer/1",
          "webhook-id": job.id,
          "webhook-timestamp": ts,
          "webhook-signature": `v1,${sw}`,
          "hookgate-signature": `t=${ts},v1=${hg}`,
        };
        const started = performance.now();
        const res = await http.request({
          path: job.path,
          method: "POST",
          headers,
          body: job.body,
          headersTimeout: 15_000,
          bodyTimeout: 15_000,
        });
        if (!p.attemptLog) await res.body.dump();
        else {
          const text = await res.body.text();
          await helpers.query(RECORD_ATTEMPT, [
            job.id,
            job.path,
            JSON.stringify(headers),
            res.statusCode,
            text,
            Math.round(performance.now() - started),
          ]);
        }
        if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
      },
    },
  });
  return { startedAt: nowMs() };
}

async function stop(): Promise<{ stopped: true }> {
  await runner?.stop();
  await pool?.close();
  runner = undefined;
  pool = undefined;
  return { stopped: true };
}

serveRpc({ queue, start, stop });
