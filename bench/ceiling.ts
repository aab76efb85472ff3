/**
 * The yardstick: how many signed webhook POSTs per second a plain Node client gets through to the same
 * loopback receivers, with none of Hookgate's bookkeeping. undici Pool (keep-alive), one worker per
 * connection, two HMAC-SHA256 signatures per request (the Standard Webhooks and t=/v1= headers Hookgate
 * sends), the same ~600-byte body every time. Runs in its own process, like Hookgate does.
 */
import { createHmac, randomBytes } from "node:crypto";
import { Pool } from "undici";
import { envelope, samplePayload } from "./lib/payload.js";
import { nowMs, serveRpc } from "./lib/rpc.js";

interface Params {
  origin: string;
  /** Paths to spread requests over (the receiver's "endpoints"). */
  paths: string[];
  connections: number;
  warmupMs: number;
  durationMs: number;
}

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const key = Buffer.from(secret.slice("whsec_".length), "base64");

async function run(p: Params) {
  const pool = new Pool(p.origin, { connections: p.connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = envelope("evt_ceiling", "bench.ceiling", samplePayload(0, Date.now()));
  let seq = 0;
  let counted = 0;
  let errors = 0;
  let measuring = false;
  const t0 = nowMs();
  const warmEnd = t0 + p.warmupMs;
  const end = warmEnd + p.durationMs;
  let measureStart = 0;

  const worker = async () => {
    while (true) {
      const now = nowMs();
      if (now >= end) return;
      if (!measuring && now >= warmEnd) {
        measuring = true;
        measureStart = now;
      }
      const id = `msg_${process.pid}_${seq++}`;
      const ts = Math.floor(Date.now() / 1000).toString();
      const sw = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");
      const hg = createHmac("sha256", secret).update(`${ts}.${body}`).digest("hex");
      try {
        const res = await pool.request({
          path: p.paths[seq % p.paths.length],
          method: "POST",
          headers: {
            "content-type": "application/json",
            "user-agent": "bench-ceiling/1",
            "webhook-id": id,
            "webhook-timestamp": ts,
            "webhook-signature": `v1,${sw}`,
            "hookgate-signature": `t=${ts},v1=${hg}`,
          },
          body,
        });
        await res.body.dump();
        if (res.statusCode >= 200 && res.statusCode < 300) {
          if (measuring) counted++;
        } else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: p.connections }, worker));
  const elapsed = nowMs() - measureStart;
  await pool.close();
  return {
    requests: counted,
    /** Including the warm-up (for CPU per request over the whole run). */
    allRequests: seq,
    errors,
    elapsedMs: elapsed,
    perSec: (counted / elapsed) * 1000,
    bodyBytes: body.length,
  };
}

serveRpc({ run });
