import type { DocumentNode } from 'graphql';
import * as Operations from './graphql.js';





export type Requester<C = {}> = <R, V>(doc: DocumentNode, vars?: V, options?: C) => Promise<R> | AsyncIterable<R>
export function getSdk<C>(requester: Requester<C>) {
  return {
    Viewer(variables?: Operations.ViewerQueryVariables, options?: C): Promise<Operations.ViewerQuery> {
      return requester<Operations.ViewerQuery, Operations.ViewerQueryVariables>(Operations.ViewerDocument, variables, options) as Promise<Operations.ViewerQuery>;
    },
    CreateTenant(variables: Operations.CreateTenantMutationVariables, options?: C): Promise<Operations.CreateTenantMutation> {
      return requester<Operations.CreateTenantMutation, Operations.CreateTenantMutationVariables>(Operations.CreateTenantDocument, variables, options) as Promise<Operations.CreateTenantMutation>;
    },
    CreateApiKey(variables: Operations.CreateApiKeyMutationVariables, options?: C): Promise<Operations.CreateApiKeyMutation> {
      return requester<Operations.CreateApiKeyMutation, Operations.CreateApiKeyMutationVariables>(Operations.CreateApiKeyDocument, variables, options) as Promise<Operations.CreateApiKeyMutation>;
    },
    RevokeApiKey(variables: Operations.RevokeApiKeyMutationVariables, options?: C): Promise<Operations.RevokeApiKeyMutation> {
      return requester<Operations.RevokeApiKeyMutation, Operations.RevokeApiKeyMutationVariables>(Operations.RevokeApiKeyDocument, variables, options) as Promise<Operations.RevokeApiKeyMutation>;
    }
  };
}
