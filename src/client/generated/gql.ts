/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment ErrorFields on Error {\n  message\n  code\n  ... on ValidationError {\n    fieldErrors {\n      path\n      message\n    }\n  }\n  ... on NotFoundError {\n    id\n  }\n  ... on ConflictError {\n    path\n  }\n}": typeof types.ErrorFieldsFragmentDoc,
    "query Viewer {\n  viewer {\n    keyId\n    tenantId\n    scopes\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    __typename\n    ... on CreateTenantPayload {\n      tenant {\n        id\n        name\n        parentId\n        createdAt\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    __typename\n    ... on CreateApiKeyPayload {\n      key\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    __typename\n    ... on RevokeApiKeyPayload {\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nfragment ApiKeyFields on ApiKey {\n  id\n  tenantId\n  name\n  prefix\n  scopes\n  lastUsedAt\n  revokedAt\n  expiresAt\n  createdAt\n}": typeof types.ViewerDocument,
};
const documents: Documents = {
    "fragment ErrorFields on Error {\n  message\n  code\n  ... on ValidationError {\n    fieldErrors {\n      path\n      message\n    }\n  }\n  ... on NotFoundError {\n    id\n  }\n  ... on ConflictError {\n    path\n  }\n}": types.ErrorFieldsFragmentDoc,
    "query Viewer {\n  viewer {\n    keyId\n    tenantId\n    scopes\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    __typename\n    ... on CreateTenantPayload {\n      tenant {\n        id\n        name\n        parentId\n        createdAt\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    __typename\n    ... on CreateApiKeyPayload {\n      key\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    __typename\n    ... on RevokeApiKeyPayload {\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nfragment ApiKeyFields on ApiKey {\n  id\n  tenantId\n  name\n  prefix\n  scopes\n  lastUsedAt\n  revokedAt\n  expiresAt\n  createdAt\n}": types.ViewerDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment ErrorFields on Error {\n  message\n  code\n  ... on ValidationError {\n    fieldErrors {\n      path\n      message\n    }\n  }\n  ... on NotFoundError {\n    id\n  }\n  ... on ConflictError {\n    path\n  }\n}"): (typeof documents)["fragment ErrorFields on Error {\n  message\n  code\n  ... on ValidationError {\n    fieldErrors {\n      path\n      message\n    }\n  }\n  ... on NotFoundError {\n    id\n  }\n  ... on ConflictError {\n    path\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Viewer {\n  viewer {\n    keyId\n    tenantId\n    scopes\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    __typename\n    ... on CreateTenantPayload {\n      tenant {\n        id\n        name\n        parentId\n        createdAt\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    __typename\n    ... on CreateApiKeyPayload {\n      key\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    __typename\n    ... on RevokeApiKeyPayload {\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nfragment ApiKeyFields on ApiKey {\n  id\n  tenantId\n  name\n  prefix\n  scopes\n  lastUsedAt\n  revokedAt\n  expiresAt\n  createdAt\n}"): (typeof documents)["query Viewer {\n  viewer {\n    keyId\n    tenantId\n    scopes\n    tenant {\n      id\n      name\n    }\n  }\n}\n\nmutation CreateTenant($input: CreateTenantInput!) {\n  createTenant(input: $input) {\n    __typename\n    ... on CreateTenantPayload {\n      tenant {\n        id\n        name\n        parentId\n        createdAt\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation CreateApiKey($input: CreateApiKeyInput!) {\n  createApiKey(input: $input) {\n    __typename\n    ... on CreateApiKeyPayload {\n      key\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nmutation RevokeApiKey($id: ID!) {\n  revokeApiKey(id: $id) {\n    __typename\n    ... on RevokeApiKeyPayload {\n      apiKey {\n        ...ApiKeyFields\n      }\n    }\n    ...ErrorFields\n  }\n}\n\nfragment ApiKeyFields on ApiKey {\n  id\n  tenantId\n  name\n  prefix\n  scopes\n  lastUsedAt\n  revokedAt\n  expiresAt\n  createdAt\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;