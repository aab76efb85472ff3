import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, startTestHookgate, type TestHookgate } from "../support/hookgate.js";
import { createKey, createTenant, rootTenant } from "./read-fixtures.js";

/*
 * Every endpoint operation by uid (+ tenantId), in one request each: a platform's key acting on
 * a sub-account's endpoint named only by the uid the platform chose (one per event type).
 */
describe("endpoint operations by uid", () => {
  let h: TestHookgate;
  let platformKey: string;
  let project: string;

  beforeAll(async () => {
    h = await startTestHookgate();
    const platform = await createTenant(h, "platform", (await rootTenant(h)).id);
    project = (await createTenant(h, "project", platform.id)).id;
    platformKey = await createKey(h, platform.id, ["ENDPOINTS_READ", "ENDPOINTS_WRITE", "DELIVERIES_WRITE"]);
    ok(await h.gql('mutation { createEventType(input: { name: "session.end" }) { __typename } }'));
  });
  afterAll(async () => {
    await h?.stop();
  });

  const gql = async (query: string, variables: Record<string, unknown> = {}) =>
    ok(await h.gql(query, { uid: "session.end", t: project, ...variables }, platformKey));

  it("endpoint, updateEndpoint, rotateEndpointSecret, testEndpoint, recoverEndpoint, deleteEndpoint", async () => {
    const up = await gql(
      `mutation($uid: String!, $t: ID) { upsertEndpoint(uid: $uid, input: {
        url: "http://127.0.0.1:9/a", events: ["session.end"], tenantId: $t }) {
        ... on UpsertEndpointPayload { endpoint { id } secret } ... on Error { message } } }`,
    );
    const id = up.upsertEndpoint.endpoint.id;

    const read = await gql("query($uid: String, $t: ID) { endpoint(uid: $uid, tenantId: $t) { id url } }");
    expect(read.endpoint).toEqual({ id, url: "http://127.0.0.1:9/a" });
    // Without tenantId the uid is looked up in the caller's own tenant, which has none.
    expect((await gql("query($uid: String) { endpoint(uid: $uid) { id } }")).endpoint).toBeNull();

    const updated = await gql(
      `mutation($uid: String, $t: ID) { updateEndpoint(uid: $uid, tenantId: $t, input: { url: "http://127.0.0.1:9/b" }) {
        ... on UpdateEndpointPayload { endpoint { id url } } ... on Error { message } } }`,
    );
    expect(updated.updateEndpoint.endpoint).toEqual({ id, url: "http://127.0.0.1:9/b" });

    const rotated = await gql(
      `mutation($uid: String, $t: ID) { rotateEndpointSecret(uid: $uid, tenantId: $t) {
        ... on RotateEndpointSecretPayload { endpoint { id secrets { id } } secret } ... on Error { message } } }`,
    );
    expect(rotated.rotateEndpointSecret.endpoint.id).toBe(id);
    expect(rotated.rotateEndpointSecret.endpoint.secrets).toHaveLength(2);
    expect(rotated.rotateEndpointSecret.secret).not.toBe(up.upsertEndpoint.secret);

    const tested = await gql(
      `mutation($uid: String, $t: ID) { testEndpoint(uid: $uid, tenantId: $t, eventType: "session.end") {
        ... on TestEndpointPayload { delivery { id endpoint { id } } } ... on Error { message } } }`,
    );
    expect(tested.testEndpoint.delivery.endpoint.id).toBe(id);

    const recovered = await gql(
      `mutation($uid: String, $t: ID, $since: DateTime!) { recoverEndpoint(uid: $uid, tenantId: $t, since: $since) {
        ... on RecoverEndpointPayload { count } ... on Error { message } } }`,
      { since: new Date(Date.now() - 3600_000).toISOString() },
    );
    expect(recovered.recoverEndpoint.count).toBe(0);

    const deleted = await gql(
      `mutation($uid: String, $t: ID) { deleteEndpoint(uid: $uid, tenantId: $t) {
        ... on DeleteEndpointPayload { endpoint { id deletedAt } } ... on Error { message } } }`,
    );
    expect(deleted.deleteEndpoint.endpoint.id).toBe(id);
    expect(deleted.deleteEndpoint.endpoint.deletedAt).not.toBeNull();
    // Deleting released the uid: it names nothing now, and the id still reads the history.
    const again = await gql(
      `mutation($uid: String, $t: ID) { deleteEndpoint(uid: $uid, tenantId: $t) {
        __typename ... on NotFoundError { resourceId } } }`,
    );
    expect(again.deleteEndpoint).toEqual({ __typename: "NotFoundError", resourceId: "session.end" });
    expect((await gql("query($id: ID) { endpoint(id: $id) { id } }", { id })).endpoint).toEqual({ id });
  });

  it("id keeps working as before (a `$id: ID!` document is still valid)", async () => {
    const made = await gql(
      `mutation($t: ID) { createEndpoint(input: { url: "http://127.0.0.1:9/c", events: ["*"], tenantId: $t }) {
        ... on CreateEndpointPayload { endpoint { id } } } }`,
    );
    const id = made.createEndpoint.endpoint.id;
    const res = await gql(
      `mutation($id: ID!) { updateEndpoint(id: $id, input: { description: "by id" }) {
        ... on UpdateEndpointPayload { endpoint { description } } } }`,
      { id },
    );
    expect(res.updateEndpoint.endpoint.description).toBe("by id");
  });
});
