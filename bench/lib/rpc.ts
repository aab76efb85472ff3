/**
 * Tiny request/response over a child's IPC channel: the orchestrator calls methods that the receiver and
 * load-generator processes serve. A child exits when its parent goes away (the channel disconnects).
 */
import type { ChildProcess } from "node:child_process";

interface Request {
  rpc: "call";
  id: number;
  method: string;
  params: unknown;
}
interface Response {
  rpc: "result";
  id: number;
  result?: unknown;
  error?: string;
}

export class RpcClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly proc: ChildProcess,
    private readonly name: string,
  ) {
    proc.on("message", (msg: Response) => {
      if (msg?.rpc !== "result") return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(`${this.name}: ${msg.error}`));
      else p.resolve(msg.result);
    });
    proc.once("exit", (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  call<T = unknown>(method: string, params: unknown = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ rpc: "call", id, method, params } satisfies Request, (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  /** Resolves on the first message `{ rpc: "ready", ...info }` from the child. */
  ready<T = unknown>(timeoutMs = 30_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.off("message", onMsg);
        reject(new Error(`${this.name} did not become ready in ${timeoutMs} ms`));
      }, timeoutMs);
      const onMsg = (msg: { rpc?: string }) => {
        if (msg?.rpc !== "ready") return;
        clearTimeout(timer);
        this.proc.off("message", onMsg);
        resolve(msg as T);
      };
      this.proc.on("message", onMsg);
      this.proc.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before ready (${code ?? signal})`));
      });
    });
  }
}

export type Handlers = Record<string, (params: any) => unknown | Promise<unknown>>;

/** In a child: serve handlers, announce readiness, exit when the parent disconnects. */
export function serveRpc(handlers: Handlers, readyInfo: Record<string, unknown> = {}): void {
  if (!process.send) throw new Error("this script is started by bench/run.ts (it needs an IPC channel)");
  process.on("message", async (msg: Request) => {
    if (msg?.rpc !== "call") return;
    const reply = (r: Omit<Response, "rpc" | "id">) => process.send?.({ rpc: "result", id: msg.id, ...r });
    const handler = handlers[msg.method];
    if (!handler) return reply({ error: `unknown method ${msg.method}` });
    try {
      reply({ result: await handler(msg.params) });
    } catch (err) {
      reply({ error: (err as Error).stack ?? String(err) });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ rpc: "ready", ...readyInfo });
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
