/** A lean GraphQL-over-HTTP client on an undici keep-alive Pool, for the load generators. */
import { Pool } from "undici";

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

export class Gql {
  readonly pool: Pool;
  private readonly headers: Record<string, string>;

  constructor(origin: string, key: string, connections = 8) {
    this.pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.headers = { "content-type": "application/json", authorization: `Bearer ${key}` };
  }

  async raw<T>(query: string, variables?: Record<string, unknown>): Promise<GqlResult<T>> {
    const res = await this.pool.request({
      path: "/graphql",
      method: "POST",
      headers: this.headers,
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      throw new Error(`GraphQL HTTP ${res.statusCode}: ${text.slice(0, 500)}`);
    }
    return JSON.parse(text) as GqlResult<T>;
  }

  /** Data, or throws with the GraphQL errors. */
  async req<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const r = await this.raw<T>(query, variables);
    if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors).slice(0, 800)}`);
    return r.data as T;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
