// The page's GraphQL documents. Result types are written beside them for the fields selected; the
// enums come from the generated SDK types (src/client), so a renamed value fails the typecheck.
import type { ApiKeyScope, DeliveryStatus, EndpointStatus } from "../client/generated/graphql.js";

export type { ApiKeyScope, DeliveryStatus, EndpointStatus };

export const VIEWER = `query PortalViewer { viewer { keyId scopes tenantId tenant { id name } } }`;
export interface Viewer {
  keyId: string;
  scopes: ApiKeyScope[];
  tenantId: string;
  tenant: { id: string; name: string };
}

const ENDPOINT_FIELDS = `id tenantId url description events status disabledReason
  headers { name value }
  secrets { id fingerprint createdAt expiresAt }
  health { windowSeconds attempts succeeded successRate lastAttemptAt lastFailureAt lastFailureReason }`;

export interface EndpointRow {
  id: string;
  tenantId: string;
  url: string;
  description: string;
  events: string[];
  status: EndpointStatus;
  disabledReason: string | null;
  headers: { name: string; value: string }[];
  secrets: { id: string; fingerprint: string; createdAt: string; expiresAt: string | null }[];
  health: {
    windowSeconds: number;
    attempts: number;
    succeeded: number;
    successRate: number | null;
    lastAttemptAt: string | null;
    lastFailureAt: string | null;
    lastFailureReason: string | null;
  };
}

export const ENDPOINTS = `query PortalEndpoints { endpoints(first: 100) { totalCount edges { node { ${ENDPOINT_FIELDS} } } } }`;

const DELIVERY_FIELDS = `id status eventType endpointId tenantId attemptCount createdAt updatedAt nextAttemptAt
  endpoint { id url }`;
const LAST_ATTEMPT = `attempts(first: 1) { edges { node { responseCode durationMs } } }`;

export interface DeliveryRow {
  id: string;
  status: DeliveryStatus;
  eventType: string;
  endpointId: string;
  tenantId: string;
  attemptCount: number;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt: string | null;
  endpoint: { id: string; url: string };
  responseCode?: number | null;
  durationMs?: number | null;
}

export interface DeliveryFilter {
  endpointId?: string;
  eventType?: string;
  status?: DeliveryStatus[];
}

export const DELIVERIES = `query PortalDeliveries($filter: DeliveryFilter) {
  deliveries(first: 50, filter: $filter) { edges { node { ${DELIVERY_FIELDS} ${LAST_ATTEMPT} } } } }`;
export type DeliveriesResult = {
  deliveries: {
    edges: {
      node: DeliveryRow & {
        attempts: { edges: { node: { responseCode: number | null; durationMs: number } }[] };
      };
    }[];
  };
};

export const LIVE = `subscription PortalLive($filter: DeliveryFilter) { deliveryUpdated(filter: $filter) {
  delivery { ${DELIVERY_FIELDS} } attempt { responseCode durationMs } } }`;
export interface LiveUpdate {
  deliveryUpdated: {
    delivery: DeliveryRow;
    attempt: { responseCode: number | null; durationMs: number } | null;
  };
}

export interface AttemptDetail {
  id: string;
  attemptNumber: number;
  url: string;
  status: string;
  trigger: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  responseCode: number | null;
  responseBody: string | null;
  durationMs: number;
  errorMessage: string | null;
  createdAt: string;
}

export const DELIVERY = `query PortalDelivery($id: ID!) { delivery(id: $id) { ${DELIVERY_FIELDS} lastAttemptAt
  event { id type payload createdAt test }
  attempts(first: 100) { edges { node { id attemptNumber url status trigger requestHeaders requestBody
    responseCode responseBody durationMs errorMessage createdAt } } } } }`;
export interface DeliveryDetail extends DeliveryRow {
  lastAttemptAt: string | null;
  event: { id: string; type: string; payload: unknown; createdAt: string; test: boolean } | null;
  attempts: { edges: { node: AttemptDetail }[] };
}

const ERRORS = `... on ValidationError { fieldErrors { path message } } ... on Error { __typename code message }`;

export const REPLAY = `mutation PortalReplay($id: ID!) { replayDelivery(id: $id) { __typename
  ... on ReplayDeliveryPayload { delivery { id status } } ${ERRORS} } }`;
export const TEST_ENDPOINT = `mutation PortalTest($id: ID!, $eventType: String!) { testEndpoint(id: $id, eventType: $eventType) {
  __typename ... on TestEndpointPayload { delivery { id } } ${ERRORS} } }`;
export const RECOVER = `mutation PortalRecover($id: ID!, $since: DateTime!, $until: DateTime) {
  recoverEndpoint(id: $id, since: $since, until: $until) { __typename ... on RecoverEndpointPayload { count } ${ERRORS} } }`;
export const UPDATE_ENDPOINT = `mutation PortalUpdateEndpoint($id: ID!, $input: UpdateEndpointInput!) {
  updateEndpoint(id: $id, input: $input) { __typename ... on UpdateEndpointPayload { endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
export const CREATE_ENDPOINT = `mutation PortalCreateEndpoint($input: CreateEndpointInput!) {
  createEndpoint(input: $input) { __typename ... on CreateEndpointPayload { secret endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;
export const ROTATE_SECRET = `mutation PortalRotateSecret($id: ID!) {
  rotateEndpointSecret(id: $id) { __typename ... on RotateEndpointSecretPayload { secret endpoint { ${ENDPOINT_FIELDS} } } ${ERRORS} } }`;

/** A typed mutation result: the payload's fields, or an Error (with field errors for ValidationError). */
export interface MutationError {
  __typename: string;
  code: string;
  message: string;
  fieldErrors?: { path: string; message: string }[];
}

export function errorText(e: MutationError): string {
  const fields = e.fieldErrors?.map((f) => `${f.path}: ${f.message}`).join("; ");
  return fields ? `${e.message} (${fields})` : e.message;
}
