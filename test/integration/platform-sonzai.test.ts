import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { FAST, type Receiver, startReceiver, until } from "./delivery-fixtures.js";
import { createKey, createTenant, rootTenant } from "./read-fixtures.js";

/*
 * A Sonzai-style platform: one webhook per (project, event type), addressed only by the event type
 * (the endpoint's uid) and the project (a child tenant): upsert, list that type's attempts with
 * limit/offset (first: 500, offset), rotate the secret, delete; never an endpoint id.
 */
describe("Sonzai-style flow by event-type uid", () => {
  let h: TestHookgate;
  let rx: Receiver;
  let key: string;
  let project: string;

  beforeAll(async () => {
    h = await startTestHookgate({ role: "all", config: { ...FAST } });
    rx = await startReceiver();
    const platform = await createTenant(h, "sonzai", (await rootTenant(h)).id);
    project = (await createTenant(h, "project-1", platform.id)).id;
    key = await createKey(h, platform.id, ["ENDPOINTS_WRITE", "EVENTS_PUBLISH", "DELIVERIES_READ"]);
    for (const name of ["session.end", "memory.created"]) {
      ok(await h.gql(`mutation { createEventType(input: { name: "${name}" }) { __typename } }`));
    }
    // A role-all Hookgate plus tenants and keys; the shared 2-core machine can be slow to start it.
  }, 180_000);
  afterAll(async () => {
    await h?.stop();
    await rx?.close();
  });

  const gql = async (query: string, variables: Record<string, unknown> = {}) =>
    ok(await h.gql(query, { project, ...variables }, key));

  it("upsert, attempts of that type by offset, rotate, delete", { timeout: 120_000 }, async () => {
    // PUT /projects/{id}/webhooks/{eventType}
    for (const type of ["session.end", "memory.created"]) {
      const up = await gql(
        `mutation($type: String!, $url: String!, $project: ID) { upsertEndpoint(uid: $type, input: {
          url: $url, events: [$type], tenantId: $project, headers: [{ name: "Authorization", value: "Bearer abc" }] }) {
          __typename ... on UpsertEndpointPayload { created secret } } }`,
        { type, url: rx.url },
      );
      expect(up.upsertEndpoint).toMatchObject({ __typename: "UpsertEndpointPayload", created: true });
    }
    const events = Array.from({ length: 3 }, (_, i) => ({
      type: "session.end",
      payload: { i },
      tenantId: project,
    }));
    events.push({ type: "memory.created", payload: { i: 9 }, tenantId: project });
    const published = await gql(
      `mutation($events: [PublishEventInput!]!) { publishEvents(input: { events: $events }) {
        __typename ... on PublishEventsPayload { results { event { id } } } } }`,
      { events },
    );
    expect(published.publishEvents.results).toHaveLength(4);
    await rx.waitFor(4);

    // GET /projects/{id}/webhooks/{eventType}/attempts?limit=500&offset=1
    const ATTEMPTS = `query($project: ID, $offset: Int) {
      attempts(first: 500, offset: $offset, filter: { eventType: "session.end", tenantId: $project }) {
        totalCount edges { node { id attemptNumber status responseCode } }
      } }`;
    const all = await until(async () => {
      const page = (await gql(ATTEMPTS, { offset: 0 })).attempts;
      return page.totalCount === 3 ? page : null;
    });
    expect(all.edges.every((e: any) => e.node.status === "SUCCEEDED" && e.node.responseCode === 200)).toBe(
      true,
    );
    const rest = (await gql(ATTEMPTS, { offset: 1 })).attempts;
    expect(rest.totalCount).toBe(3);
    expect(rest.edges.map((e: any) => e.node.id)).toEqual(all.edges.slice(1).map((e: any) => e.node.id));

    // POST /projects/{id}/webhooks/{eventType}/rotate-secret
    const rotated = await gql(
      `mutation($project: ID) { rotateEndpointSecret(uid: "session.end", tenantId: $project) {
        __typename ... on RotateEndpointSecretPayload { secret } } }`,
    );
    expect(rotated.rotateEndpointSecret.secret).toMatch(/^whsec_/);

    // DELETE /projects/{id}/webhooks/{eventType}
    const deleted = await gql(
      `mutation($project: ID) { deleteEndpoint(uid: "session.end", tenantId: $project) {
        __typename ... on DeleteEndpointPayload { endpoint { deletedAt } } } }`,
    );
    expect(deleted.deleteEndpoint.endpoint.deletedAt).not.toBeNull();
    // The other type's webhook is untouched; the deleted one's attempts stay readable by type.
    expect((await gql(ATTEMPTS, { offset: 0 })).attempts.totalCount).toBe(3);
    const other = await gql(
      `mutation($project: ID) { deleteEndpoint(uid: "memory.created", tenantId: $project) { __typename } }`,
    );
    expect(other.deleteEndpoint.__typename).toBe("DeleteEndpointPayload");
  });
});
